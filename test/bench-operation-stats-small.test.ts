/**
 * The operation statistics bench at a small size, as part of `npm test`: nothing is timed. The
 * bench compares the API's stats with a recount of the raw events and exits non-zero on any
 * difference; this test also checks that the figures it printed are those of a real data set
 * (a bench over no events would agree vacuously).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('bench/operation-stats.ts at a small size', () => {
  it('gives the stats of the recount, and prints the read and ingest tables', async () => {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        'bench/operation-stats.ts',
        '--recipients',
        '2000',
        '--runs',
        '2',
        '--ingest',
        '2000',
      ],
      { cwd: root, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 },
    );
    expect(stderr).toContain('stats differing from the recount: 0');
    expect(stderr).not.toContain('MISMATCH');
    // 2,000 sent, 40% opening 1 to 3 times, 8% clicking: well over 2,000 events of the operation.
    const m = /([\d,]+) recipients, ([\d,]+) events of the operation/.exec(stdout);
    expect(m?.[1]).toBe('2,000');
    expect(Number(m?.[2].replace(/,/g, ''))).toBeGreaterThan(3000);
    expect(stdout).toMatch(/\| Operation\.stats +\| [\d.]+ \/ [\d.]+/);
    expect(stdout).toMatch(/\| events of an operation +\| [\d,]+ +\| [\d,]+ +\| [\d.]+ +\|/);
    expect(stdout).toMatch(/\| events of no operation +\| [\d,]+ +\| [\d,]+ +\| [\d.]+ +\|/);
  }, 300_000);
});
