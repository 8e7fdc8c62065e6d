import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_EMAIL, seedDemoOwner } from '../src/db/seed.js';
import { PASSWORD_PLACEHOLDER, PLAYGROUND_DOCUMENT } from '../src/http/playground.js';
import { chromiumPresent, launchChromium } from './chromium.js';
import { UpdateAccountSettingsDocument } from './generated/graphql.js';
import { ok, startTestApp, type TestApp } from './harness.js';
import { listening } from './listening.js';

/**
 * The playground in a real browser (Debian's chromium, driven by puppeteer-core), offline: every
 * request that is not to the test server is aborted and counted, and name resolution of any other
 * host fails. A user's path: the first screen, login, the header, a query, a subscription.
 */
const present = chromiumPresent('playground.test.ts');

const SHOTS = process.env.PLAYGROUND_SCREENSHOTS; // a folder, to look at the page while debugging

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

describe('the playground page', () => {
  it('is served whole by this server: no script, style or font from elsewhere', async () => {
    const res = await fetch(t.url, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<title>Cible</title>');
    expect(html).not.toContain('__TITLE__');
    // No tag, CSS url() or @import (in the page or in the code it inlines) names another host.
    const loads = [
      ...html.matchAll(/<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*["']?([^"'\s>]+)/gi),
      ...html.matchAll(/@import\s+(?:url\()?["']?([^"')\s;]+)/gi),
      ...html.matchAll(/url\(\s*["']?((?:https?:)?\/\/[^"')\s]+)/gi),
    ].map((m) => m[1]);
    expect(loads.filter((u) => /^(?:https?:)?\/\//i.test(u))).toEqual([]);
  });

  it('sends a browser opening the root to /graphql', async () => {
    const res = await fetch(new URL('/', t.url), { headers: { accept: 'text/html' }, redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/graphql');
  });
});

describe.runIf(present)('the GraphiQL playground, offline, in chromium', () => {
  let password: string;
  let browser: Browser;
  let page: Page;
  let close: () => Promise<void>;
  const external: string[] = [];
  const sockets: string[] = [];

  beforeAll(async () => {
    const demo = await seedDemoOwner(t.app.services.orm);
    if (!demo) throw new Error('the fresh test database already had an account');
    password = demo.password;
    ({ browser, close } = await launchChromium());
    page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 900 });
    await page.setRequestInterception(true);
    page.on('request', (req) => {
      const url = new URL(req.url());
      if (url.protocol === 'data:' || url.protocol === 'blob:' || url.hostname === '127.0.0.1') {
        void req.continue();
      } else {
        external.push(req.url());
        void req.abort();
      }
    });
    // WebSockets are not intercepted: count them from the protocol's own events.
    const cdp = await page.createCDPSession();
    await cdp.send('Network.enable');
    cdp.on('Network.webSocketCreated', ({ url }) => {
      sockets.push(url);
      if (new URL(url).hostname !== '127.0.0.1') external.push(url);
    });
  });

  afterAll(() => close?.());

  const QUERY = '.graphiql-query-editor';
  const RESPONSE = '.graphiql-response';
  const HEADERS = 'section.graphiql-editor-tool .graphiql-editor:not(.hidden)';

  const shot = async (name: string) => {
    if (SHOTS) await page.screenshot({ path: join(SHOTS, `${name}.png`) });
  };

  /** The text of a Monaco editor's visible lines (Monaco renders spaces as U+00A0). */
  const editorText = (selector: string) =>
    page.$eval(`${selector} .view-lines`, (el) => (el as HTMLElement).innerText.replace(/\u00a0/g, ' '));

  /** Replaces the whole content of the editor under `selector`, as a user pasting would. */
  async function setEditor(selector: string, text: string) {
    await page.click(`${selector} .view-lines`);
    await page.keyboard.down('Control');
    await page.keyboard.press('KeyA');
    await page.keyboard.up('Control');
    await page.keyboard.press('Backspace');
    await page.keyboard.sendCharacter(text);
  }

  /** Runs one operation of the document, chosen as a user does when it holds several. */
  async function run(operation: string) {
    await page.click('.graphiql-execute-button');
    const item = await page.waitForSelector(
      `::-p-xpath(//*[contains(@class, "graphiql-dropdown-item")][normalize-space()="${operation}"])`,
    );
    await shot(`run-${operation}`);
    await item?.click();
  }

  /** Waits until the response pane shows `text`, and returns what it shows. */
  async function response(text: string, signal?: AbortSignal): Promise<string> {
    await page.waitForFunction(
      (sel, want) =>
        (document.querySelector(sel) as HTMLElement | null)?.innerText.replace(/\u00a0/g, ' ').includes(want),
      { signal },
      `${RESPONSE} .view-lines`,
      text,
    );
    return editorText(RESPONSE);
  }

  it('loads from the server alone and opens on how to log in', async () => {
    await page.goto(t.url, { waitUntil: 'load' });
    await page.waitForSelector(`${QUERY} .view-lines`);
    await shot('1-first-screen');
    expect(await page.title()).toBe('Cible');
    const doc = await editorText(QUERY);
    expect(doc).toContain('mutation Login');
    expect(doc).toContain(DEMO_EMAIL);
    expect(doc).toContain('{"Authorization": "Bearer <token>"}');
    expect(await editorText(HEADERS)).toContain('"Authorization": "Bearer <the token of Login>"');
    expect(external).toEqual([]);
  });

  let token = '';

  it('logs in with the Login mutation of the first screen', async () => {
    await setEditor(QUERY, PLAYGROUND_DOCUMENT.replace(PASSWORD_PLACEHOLDER, password));
    await page.click('button[aria-label^="Prettify"]');
    await run('Login');
    const shown = await response('"token"');
    await shot('3-logged-in');
    token = /"token": "([^"]+)"/.exec(shown)?.[1] ?? '';
    expect(token).toMatch(/^cib_/);
    expect(shown).toContain('"name": "Demo owner"');
  });

  it('runs a query with the token in the Headers tab (and not without it)', async () => {
    await run('Me');
    expect(await response('UNAUTHENTICATED')).toContain('Log in first');
    const tab = await page.waitForSelector(
      '::-p-xpath(//*[contains(@class, "graphiql-editor-tools")]/button[normalize-space()="Headers"])',
    );
    if (!(await tab?.evaluate((b) => b.classList.contains('active')))) await tab?.click();
    await setEditor(HEADERS, `{"Authorization": "Bearer ${token}"}`);
    await run('Me');
    const shown = await response(`"email": "${DEMO_EMAIL}"`);
    expect(shown).toContain('"isOwner": true');
    await shot('4-me');
  });

  it('receives a subscription event over graphql-ws with the same header', async () => {
    const ready = listening(t.app.services.pubsub, 'audit');
    await run('LiveHistory');
    // Either the server listens for this subscription (then make the change it must see), or the
    // pane shows why it was refused.
    const stop = new AbortController();
    const refused = response('"errors"', stop.signal).then(
      (shown) => shown,
      () => null,
    );
    await Promise.race([ready, refused.then((shown) => shown !== null && expect.fail(`refused: ${shown}`))]);
    stop.abort();
    ok(await t.gql(UpdateAccountSettingsDocument, { input: { accountName: 'Seen live' } }, token));
    const shown = await response('"action": "updateAccountSettings"');
    expect(shown).toContain(`"userEmail": "${DEMO_EMAIL}"`);
    await shot('5-subscription');
    // GraphiQL's graphql-ws connection, to this server; and nothing left the machine.
    expect(sockets.map((u) => new URL(u).host)).toContain(new URL(t.url).host);
    expect(external).toEqual([]);
  });
});
