import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import { requireUnderCi } from './requirements.js';

/** Debian's chromium (CHROMIUM_PATH to use another), driven by puppeteer-core. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Whether the browser tests of `file` can run: without chromium they are skipped with a warning
 * here, and fail under CI (requirements.ts), where .ci/run installs it.
 */
export function chromiumPresent(file: string): boolean {
  const present = existsSync(CHROMIUM);
  if (!present) {
    requireUnderCi(`chromium (none at ${CHROMIUM})`, 'apt-get install chromium');
    console.warn(`${file} skipped: no chromium at ${CHROMIUM} (apt-get install chromium)`);
  }
  return present;
}

/**
 * A headless chromium in a throw-away profile, offline for everything but 127.0.0.1 (page,
 * worker or browser alike), so a test can fail on any request elsewhere. `close` removes the
 * profile too.
 */
export async function launchChromium(): Promise<{ browser: Browser; close(): Promise<void> }> {
  const profile = await mkdtemp(join(tmpdir(), 'cible-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: profile,
    // Chromium also writes crash-report settings and a dconf cache under HOME: keep them in the
    // temporary folder, which goes when the test ends.
    env: {
      ...process.env,
      HOME: profile,
      XDG_CONFIG_HOME: join(profile, 'config'),
      XDG_CACHE_HOME: join(profile, 'cache'),
    },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
    ],
  });
  return {
    browser,
    async close() {
      await browser.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
