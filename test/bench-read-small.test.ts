/**
 * bench/read.ts at a small size, as a smoke test: both servers start, answer the same page
 * byte for byte, every answer of every round is complete and error-free, and the tables print.
 * Nothing here is timed (speed is the full-size bench's business).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('bench/read.ts at a small size', () => {
  it('runs both servers on the same page without an error', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        ...['--import', 'tsx', 'bench/read.ts'],
        ...[
          '--contacts',
          '300',
          '--connections',
          '4',
          '--seconds',
          '0.5',
          '--warmup',
          '0.3',
          '--rounds',
          '2',
        ],
      ],
      { cwd: root, timeout: 180_000, maxBuffer: 16 * 1024 * 1024 },
    );
    expect(stdout).toContain('same page from both: yes; errors: 0');
    const rows = stdout.split('\n').filter((l) => /^\| \d+ +\|/.test(l));
    expect(rows).toHaveLength(4); // two rounds of two servers
    for (const name of ['Cible (owner, bearer token)', 'bare graphql-yoga, one SQL statement'])
      expect(stdout).toMatch(
        new RegExp(`\\| ${name.replace(/[()]/g, '\\$&')} +\\| +[\\d,]+ +\\| +(\\d+\\.\\d+x)`),
      );
  }, 200_000);
});
