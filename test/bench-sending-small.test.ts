/**
 * The sending bench at a small size, as part of `npm test`: nothing is timed. The bench sends two
 * operations through real server processes to a real SMTP sink and checks, recipient by
 * recipient, that each member of the segment got exactly one message and nobody else got any,
 * that each operation ended SENT with every recipient counted, that the baseline's copies all
 * arrived and that the freeze wrote the whole account; it exits non-zero on any difference. This
 * test also checks that the figures printed are those of real sends of the expected sizes (a
 * bench over an empty segment would agree vacuously).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('bench/sending.ts at a small size', () => {
  it('reaches every recipient exactly once, and prints the send, freeze and memory tables', async () => {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'bench/sending.ts', '--contacts', '3000', '--audience', '300'],
      { cwd: root, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 },
    );
    expect(stderr).toContain('failures: 0');
    expect(stderr).not.toContain('MISMATCH');
    // Both sends (the segment, then a tenth of it) checked at the sink.
    expect(
      stderr.match(/recipients not reached exactly once: 0; other messages at the sink: 0/g),
    ).toHaveLength(2);
    expect(stdout).toMatch(/\| ours \(API, engine, tracking\) \| 300 +\| [\d.]+ +\| [\d,]+ +\| [\d,]+ /);
    expect(stdout).toMatch(/\| freezeAudience, whole account \| 3,000 +\| [\d.]+ /);
    const memory = stdout.split('\n').filter((l) => l.startsWith('| one send, fresh process'));
    expect(memory.map((l) => l.split('|')[2].trim())).toEqual(['30', '300']);
  }, 300_000);
});
