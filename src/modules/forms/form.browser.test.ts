import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPresent, launchChromium } from '../../../test/chromium.js';
import { type Actor, signUpOwner, startTestApp, type TestApp } from '../../../test/harness.js';
import { eventCode } from '../events/event.entity.js';
import { publishedForm } from './testing/forms.js';

/**
 * A visitor in a real browser (Debian's chromium through puppeteer-core, as the unsubscribe page
 * is checked), on a phone-sized screen: the published form renders with a label for every input,
 * a bad email comes back with the message beside the field and nothing written, a good one
 * creates the contact (UNCONFIRMED: double opt-in) and its FORM_SUBMIT event, and the mail in the
 * outbox holds a link whose page confirms with a button. The embed snippet shows the form in an
 * iframe. Offline: any request that is not to the test server is counted.
 */
const present = chromiumPresent('form.browser.test.ts');

let t: TestApp;
let owner: Actor;
const origin = () => new URL(t.url).origin;

beforeAll(async () => {
  t = await startTestApp({ TRACKING_SECRET: 'form-browser-secret-0123456789abcdef' });
  owner = await signUpOwner(t, 'Acme');
});
afterAll(() => t?.close());

describe.runIf(present)('a form in chromium', () => {
  let browser: Browser;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ browser, close } = await launchChromium());
  });
  afterAll(() => close?.());

  it('renders, refuses a bad email beside its field, submits, and confirms by the mailed link', async () => {
    const form = await publishedForm(t, owner, {
      settings: { doubleOptIn: true, successMessage: 'Welcome aboard' },
    });
    const page = await browser.newPage();
    await page.setViewport({ width: 360, height: 740, isMobile: true, hasTouch: true });
    const seen: string[] = [];
    const violations: string[] = [];
    page.on('request', (r) => seen.push(r.url()));
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    const link = `${origin()}/f/${form.publicId}`;
    expect((await page.goto(link, { waitUntil: 'load' }))?.status()).toBe(200);
    expect(await page.$eval('h1', (h) => h.textContent)).toBe('Newsletter');
    // Every visible input has a label; the page fits the screen's width.
    const unlabelled = await page.$$eval('input:not([type=hidden]), select, textarea', (els) =>
      els.filter((e) => !(e as HTMLInputElement).labels?.length).map((e) => (e as HTMLInputElement).name),
    );
    expect(unlabelled).toEqual([]);
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);

    await page.type('#i-email', 'not-an-email');
    await page.type('#i-first', 'Zoé');
    await page.click('#i-news');
    const [refused] = await Promise.all([
      page.waitForNavigation({ waitUntil: 'load' }),
      page.click('button[type=submit]'),
    ]);
    expect(refused?.status()).toBe(400);
    expect(await page.$eval('#e-email', (e) => e.textContent)).toBe('Enter a valid email address');
    expect(
      await page.$eval('#i-email', (e) => [
        e.getAttribute('aria-invalid'),
        e.getAttribute('aria-describedby'),
      ]),
    ).toEqual(['true', 'e-email']);
    expect(await page.$eval('#i-first', (e) => (e as HTMLInputElement).value)).toBe('Zoé');
    expect(await page.$eval('[role=alert]', (e) => e.textContent)).toMatch(/correct the field/);
    const contacts = () =>
      t.sql.query<{ id: string; email_status: string; first_name: string }>(
        'select id::text, email_status, first_name from contact where account_id = $1 and email = $2',
        [owner.accountId, 'zoe@example.com'],
      );
    expect((await contacts()).rows).toEqual([]);

    await page.$eval('#i-email', (e) => {
      (e as HTMLInputElement).value = '';
    });
    await page.type('#i-email', 'zoe@example.com');
    const [sent] = await Promise.all([
      page.waitForNavigation({ waitUntil: 'load' }),
      page.click('button[type=submit]'),
    ]);
    expect(sent?.status()).toBe(200);
    expect(await page.$eval('main', (m) => m.textContent)).toMatch(/Welcome aboard.*sent you an email/s);
    const [c] = (await contacts()).rows;
    expect(c).toMatchObject({ email_status: 'UNCONFIRMED', first_name: 'Zoé' });
    const { rows: ev } = await t.sql.query(
      'select form_id from contact_event where contact_id = $1 and type = $2',
      [c.id, eventCode('FORM_SUBMIT')],
    );
    expect(ev).toEqual([{ form_id: form.id }]);

    const { rows: mails } = await t.sql.query<{ text: string }>(
      `select text from outbox_message where "to" = 'zoe@example.com'`,
    );
    expect(mails).toHaveLength(1);
    const mailed = /https?:\/\/\S+\/f\/confirm\/\S+/.exec(mails[0].text)?.[0] as string;
    expect(mailed).toBeTruthy();
    const confirmLink = new URL(new URL(mailed).pathname, t.url).href;
    expect((await page.goto(confirmLink, { waitUntil: 'load' }))?.status()).toBe(200);
    expect(await page.$eval('h1', (h) => h.textContent)).toBe('Confirm your subscription');
    expect((await contacts()).rows[0].email_status).toBe('UNCONFIRMED'); // a GET confirms nothing
    const [done] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button')]);
    expect(done?.request().method()).toBe('POST');
    expect(await page.$eval('h1', (h) => h.textContent)).toBe('Subscription confirmed');
    expect((await contacts()).rows[0].email_status).toBe('VALID');
    // One-time: the link now says it is done, and changes nothing.
    await page.goto(confirmLink, { waitUntil: 'load' });
    expect(await page.$eval('h1', (h) => h.textContent)).toBe('Already confirmed');

    expect(seen.filter((u) => new URL(u).origin !== new URL(t.url).origin)).toEqual([]);
    expect(violations).toEqual([]);
    await page.close();
  });

  it('shows the form inside the embed snippet’s iframe', async () => {
    const form = await publishedForm(t, owner);
    const page = await browser.newPage();
    // The snippet in a page of a customer's site: another origin (a second local server), its
    // src pointed at the test server (the configured public URL is another port here).
    const snippet = form.embedHtml.replace(/src="[^"]*\/f\//, `src="${origin()}/f/`);
    const site = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><html><body><p>Our shop</p>${snippet}</body></html>`);
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    const framed = page.waitForFrame((f) => f.url().includes(`/f/${form.publicId}`), { timeout: 10_000 });
    await page.goto(`http://127.0.0.1:${(site.address() as AddressInfo).port}/`, { waitUntil: 'load' });
    const frame = await framed;
    await frame?.waitForSelector('#i-email');
    expect(await frame?.$eval('h1', (h) => h.textContent)).toBe('Newsletter');
    await page.close();
    site.close();
  });
});
