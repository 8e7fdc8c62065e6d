/**
 * The scores bench at a small size, as part of `npm test`: the full-size run is not (it takes
 * minutes), but its code must keep working. Nothing here is timed: the test checks that every
 * step ran, that the stored values equal the reference SQL's (the bench fails otherwise), and
 * that a rerun with nothing new writes no rows.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('bench/scores.ts at a small size', () => {
  it('runs every step and agrees with the reference SQL', async () => {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'bench/scores.ts', '--contacts', '3000'],
      { cwd: root, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 },
    );
    expect(stderr).toContain('values differing from the reference: 0');
    const row = (name: string) => {
      const line = stdout.split('\n').find((l) => l.startsWith(`| ${name} `));
      expect(line, `no "${name}" row in:\n${stdout}`).toBeDefined();
      return (line as string).split('|').map((c) => c.trim());
    };
    // | step | ours | reference | ratio | rows written (ours) | rows written (ref) |
    const full = row('first full run');
    expect(Number(full[5].replace(/,/g, ''))).toBeGreaterThan(2000);
    expect(full[5]).toBe(full[6]);
    expect(row('rerun, nothing new')[5]).toBe('0');
    const incremental = row('incremental run');
    expect(Number(incremental[5].replace(/,/g, ''))).toBeGreaterThan(0);
    expect(incremental[5]).toBe(incremental[6]);
    for (const name of ['one query per contact', 'batched loop streaming the events once'])
      expect(stdout).toMatch(new RegExp(`\\| ${name}[^|]*\\| +\\d+\\.\\d+ +\\| +\\d+\\.\\d+ +\\|`));
  }, 300_000);
});
