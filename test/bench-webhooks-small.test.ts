/**
 * The webhooks bench at a small size, as part of `npm test`: nothing is timed. The bench waits for
 * every delivery's distinct webhook-id at its receiver (and fails after 300 s without them) and
 * checks that the outbox holds one row per event recorded with the collecting webhook; this test
 * checks that it ran both delivery modes and the recordEvents and import arms at the sizes asked
 * (the bench checks the import's outbox rows itself).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('bench/webhooks.ts at a small size', () => {
  it('delivers every event in both modes and prints the delivery, CPU and write-path tables', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        'bench/webhooks.ts',
        '--deliveries',
        '300',
        '--events',
        '2000',
        '--imported',
        '500',
      ],
      { cwd: root, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 },
    );
    expect(stdout).toMatch(/\| ordered \(one at a time\) +\| 300 +\| [\d,]+ +\| [\d,]+ +\| [\d.]+ +\|/);
    expect(stdout).toMatch(/\| unordered \(8 at a time\) +\| 300 +\| [\d,]+ +\| [\d,]+ +\| [\d.]+ +\|/);
    expect(stdout).toMatch(
      /\| ours, ordered \(one at a time\) +\| [\d,]+ +\| [\d,]+ +\| [\d,]+ +\| [\d,]+ +\|/,
    );
    expect(stdout).toMatch(/\| recordEvents, no webhook +\| 2,000 +\| [\d,]+ +\| 1\.00 +\|/);
    expect(stdout).toMatch(
      /\| recordEvents, one webhook collecting every event +\| 2,000 +\| [\d,]+ +\| [\d.]+ +\|/,
    );
    expect(stdout).toMatch(/\| importContacts, no webhook +\| 500 +\| [\d,]+ +\| 1\.00 +\|/);
    expect(stdout).toMatch(
      /\| importContacts, one webhook collecting contact\.created \| 500 +\| [\d,]+ +\| [\d.]+ +\|/,
    );
  }, 300_000);
});
