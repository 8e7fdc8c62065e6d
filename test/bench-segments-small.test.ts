/**
 * The segments bench at a small size, as part of `npm test`: nothing is timed. The bench itself
 * compares, for each of its five segments, our compiled statement's whole member set, the API's
 * count and the API's first page with every hand-written reference statement, and exits non-zero
 * on any difference; this test also checks that the table holds every segment with a non-trivial
 * membership (a bench whose segments matched nobody would agree vacuously).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('bench/segments.ts at a small size', () => {
  it('gives the same contacts as the reference SQL for every segment', async () => {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'bench/segments.ts', '--contacts', '3000', '--runs', '2'],
      { cwd: root, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 },
    );
    expect(stderr).toContain('contact sets differing from the reference: 0');
    expect(stderr).not.toContain('MISMATCH');
    const lines = stdout.split('\n').filter((l) => /^\| [a-z]/.test(l) && !l.startsWith('| segment '));
    expect(lines.map((l) => l.split('|')[1].trim().split(' (')[0])).toEqual([
      'field only',
      'field + score',
      'clicked >= 2 in 30 days',
      'compound',
      'nested',
    ]);
    for (const line of lines) {
      const members = Number(line.split('|')[2].trim().replace(/,/g, ''));
      // Each segment keeps some contacts and leaves out others.
      expect(members).toBeGreaterThan(20);
      expect(members).toBeLessThan(3000);
    }
  }, 300_000);
});
