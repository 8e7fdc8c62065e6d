import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImportProgressDocument, type ImportProgressSubscription } from '../../../test/generated/graphql.js';
import { type Actor, nextResults, signUpOwner, startTestApp, type TestApp } from '../../../test/harness.js';
import { setImportTimings } from './import.recovery.js';

// Short timings so the test waits seconds, not minutes; the app below reads them at start.
const HEARTBEAT_MS = 200;
setImportTimings({ heartbeatMs: HEARTBEAT_MS, staleMs: 1_500, checkMs: 500 });

let t: TestApp & { databaseUrl: string };
let owner: Actor;
const children = new Set<ChildProcessWithoutNullStreams>();

beforeAll(async () => {
  t = await startTestApp();
  owner = await signUpOwner(t);
});
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await t.close();
});

const child = fileURLToPath(new URL('./testing/import-child.ts', import.meta.url));

/** Starts an import of `rows` contacts in another process; resolves once its first batch committed. */
async function importInChild(id: string, rows: number) {
  const p = spawn(
    process.execPath,
    ['--import', 'tsx', child, t.databaseUrl, owner.token, id, String(rows), String(HEARTBEAT_MS)],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  children.add(p);
  let out = '';
  let err = '';
  p.stdout.on('data', (d) => {
    out += d;
  });
  p.stderr.on('data', (d) => {
    err += d;
  });
  const exited = new Promise<number | null>((resolve) => p.on('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child never paused: ${err}`)), 60_000);
    p.stdout.on('data', () => {
      if (out.includes('PAUSED')) {
        clearTimeout(timer);
        resolve();
      }
    });
    exited.then((code) => reject(new Error(`child exited (${code}) before pausing: ${err}`)));
  });
  return {
    resume: () => p.stdin.write('go\n'),
    async kill() {
      p.kill('SIGKILL');
      await exited;
    },
    async done() {
      const code = await exited;
      return { code, out, err };
    },
  };
}

const state = async (id: string) =>
  (
    await t.sql.query(
      'select status, processed, created, error, finished_at is not null as finished from contact_import where id = $1',
      [id],
    )
  ).rows[0];

describe('an import whose process dies', () => {
  it('is marked FAILED by another process and its subscribers get the end; a live one is left running', async () => {
    const liveId = randomUUID();
    const killedId = randomUUID();
    // The live import pauses first: from then on it writes nothing, only its heartbeat moves.
    const live = await importInChild(liveId, 5_000);
    const killed = await importInChild(killedId, 5_000);
    expect(await state(killedId)).toMatchObject({ status: 'RUNNING', processed: 2_000 });
    await killed.kill();

    const sub = nextResults<ImportProgressSubscription>(t.ws(owner.token), ImportProgressDocument, 2, {
      importId: killedId,
    });
    const got = (await sub.results).map((r) => r.data?.importProgress);
    expect(got[0]).toMatchObject({ status: 'RUNNING', processed: 2_000 });
    expect(got[1]).toMatchObject({ status: 'FAILED', processed: 2_000, created: 2_000 });
    expect(got[1]?.error).toMatch(/^interrupted: the process running it stopped \(no heartbeat for 1.5 s\)/);
    expect(await state(killedId)).toMatchObject({ status: 'FAILED', finished: true });

    // The live import has been idle longer than the killed one, yet its heartbeat kept it RUNNING.
    expect(await state(liveId)).toMatchObject({ status: 'RUNNING', processed: 2_000, error: null });
    live.resume();
    const end = await live.done();
    expect(end, end.err).toMatchObject({ code: 0 });
    expect(end.out).toContain('DONE');
    expect(await state(liveId)).toMatchObject({ status: 'DONE', processed: 5_000, created: 5_000 });
  }, 120_000);
});
