import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPresent, launchChromium } from '../../../test/chromium.js';
import { type Actor, signUpOwner, startTestApp, type TestApp } from '../../../test/harness.js';
import { eventCode } from '../events/event.entity.js';
import { trackingKey } from '../events/tracking.token.js';
import { unsubscribeUrl } from './unsubscribe.js';

/**
 * The GET page in a real browser (Debian's chromium through puppeteer-core, as
 * test/playground.test.ts drives it): a reader opens the link, sees the button, clicks it; only
 * the click's POST unsubscribes. Offline: any request that is not to the test server is counted.
 */
const present = chromiumPresent('unsubscribe.browser.test.ts');

let t: TestApp;
let owner: Actor;
const OPERATION = '3b0e7f0c-5d1a-4c55-9f0e-6a1d2c3b4a59';

beforeAll(async () => {
  t = await startTestApp({ TRACKING_SECRET: 'unsubscribe-browser-secret-0123456789abcdef' });
  owner = await signUpOwner(t, 'Acme');
});
afterAll(() => t.close());

describe.runIf(present)('the unsubscribe page in chromium', () => {
  let browser: Browser;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ browser, close } = await launchChromium());
  });
  afterAll(() => close?.());

  it('loading the page changes nothing; clicking its button unsubscribes', async () => {
    const { rows } = await t.sql.query<{ id: string }>(
      `insert into contact (account_id, email) values ($1, 'browser@unsub.test') returning id::text`,
      [owner.accountId],
    );
    const contactId = rows[0].id;
    const key = await trackingKey(t.app.services.config);
    const mailed = unsubscribeUrl(t.app.services.config, key, {
      accountId: owner.accountId,
      contactId,
      operationId: OPERATION,
    });
    const link = new URL(new URL(mailed).pathname, t.url).href;
    const state = async () => ({
      status: (await t.sql.query('select email_status from contact where id = $1', [contactId])).rows[0]
        .email_status,
      events: (
        await t.sql.query('select type, operation_id from contact_event where contact_id = $1', [contactId])
      ).rows,
    });

    const page = await browser.newPage();
    const seen: { method: string; url: string }[] = [];
    const violations: string[] = [];
    page.on('request', (r) => seen.push({ method: r.method(), url: r.url() }));
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    const first = await page.goto(link, { waitUntil: 'load' });
    expect(first?.status()).toBe(200);
    expect(await page.$eval('h1', (h) => h.textContent)).toBe('Unsubscribe');
    expect(await state()).toEqual({ status: 'VALID', events: [] });

    const [done] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button')]);
    expect(done?.status()).toBe(200);
    expect(done?.request().method()).toBe('POST');
    expect(page.url()).toBe(link); // no redirect
    expect(await page.$eval('h1', (h) => h.textContent)).toBe('You are unsubscribed');
    expect(await state()).toEqual({
      status: 'UNSUBSCRIBED',
      events: [{ type: eventCode('UNSUBSCRIBE'), operation_id: OPERATION }],
    });
    // The page loaded nothing else (no style sheet, font, image or favicon from anywhere but here).
    expect(seen.filter((r) => new URL(r.url).origin !== new URL(t.url).origin)).toEqual([]);
    expect(violations).toEqual([]);
    await page.close();
  });
});
