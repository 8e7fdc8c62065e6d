import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../test/harness.js';
import { waitUntil } from '../../test/wait.js';
import type { Context } from '../context.js';
import { AppError } from '../shared/errors.js';
import { boundedRun } from './bounded-read.js';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ QUERY_TIMEOUT_MS: '300' });
});
afterAll(async () => {
  await t?.close();
});

/** A context as a resolver gets it, for what boundedRun reads of it; the app's timeout or another. */
const ctxWith = (signal?: AbortSignal, queryTimeoutMs?: number) => {
  const { services } = t.app;
  const config = { ...services.config, queryTimeoutMs: queryTimeoutMs ?? services.config.queryTimeoutMs };
  return { app: { ...services, config }, signal } as unknown as Context;
};

/** Backends running a statement whose text holds `marker` (not this query itself). */
async function running(marker: string): Promise<number> {
  const { rows } = await t.sql.query<{ n: number }>(
    `select count(*)::int as n from pg_stat_activity
      where state = 'active' and pid <> pg_backend_pid() and position($1 in query) > 0`,
    [marker],
  );
  return rows[0].n;
}

/** Every session of the read pool is back, idle; nobody waits for one. */
async function poolSettled() {
  const pool = t.app.services.reads;
  await waitUntil(
    () => pool.idleCount === pool.totalCount && pool.waitingCount === 0,
    'the read pool to settle',
    5000,
  );
}

describe('bounded reads', () => {
  it('stop at QUERY_TIMEOUT_MS with TIMEOUT, and the session goes back to the pool', async () => {
    const t0 = Date.now();
    const err = await boundedRun(ctxWith())('select pg_sleep(5) /* timeout-marker */', []).catch((e) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).extensions.code).toBe('TIMEOUT');
    expect((err as AppError).message).toMatch(/longer than 0\.3 s.*Narrow the criterion/);
    expect(Date.now() - t0).toBeLessThan(4000);
    await poolSettled();
    // The session is usable: the next read on it is not inside a failed transaction.
    expect(await boundedRun(ctxWith())('select 1 as one', [])).toEqual([{ one: 1 }]);
  });

  it('share one budget per request: past REQUEST_BUDGET_FACTOR timeouts, every further read of it answers TIMEOUT', async () => {
    const ctx = ctxWith(); // one request: its reads share a budget of 4 x 300 ms
    const run = boundedRun(ctx);
    const codes: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await run('select pg_sleep(0.25) /* budget-marker */', []).then(
        () => 'ok',
        (e) => `${(e as AppError).extensions?.code}: ${(e as AppError).message.slice(0, 40)}`,
      );
      codes.push(r);
    }
    // Four sleeps of 0.25 s fit in 1.2 s; the fifth is stopped when the budget ends; the sixth is refused.
    expect(codes.slice(0, 4)).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(codes[4]).toMatch(/^TIMEOUT: This request has used its 1\.2 s/);
    expect(codes[5]).toMatch(/^TIMEOUT: This request has used its 1\.2 s/);
    // Another request has its own budget.
    expect(await boundedRun(ctxWith())('select 1 as one', [])).toEqual([{ one: 1 }]);
    await poolSettled();
  });

  it('run read-only', async () => {
    const err = await boundedRun(ctxWith())('create table nope (x int)', []).catch((e) => e);
    expect((err as { code?: string }).code).toBe('25006'); // read_only_sql_transaction
    await poolSettled();
  });

  it('are cancelled in PostgreSQL when the signal aborts', async () => {
    const ac = new AbortController();
    // A timeout of a minute: it must be the abort that ends the statement.
    const read = boundedRun(ctxWith(ac.signal, 60_000))(
      `select count(*) from generate_series(1, 200000000) /* abort-marker */`,
      [],
    ).catch((e) => e);
    await waitUntil(async () => (await running('abort-marker')) > 0, 'the statement to run', 5000);
    ac.abort();
    const err = await read;
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).message).toMatch(/client went away/);
    expect(await running('abort-marker')).toBe(0);
    await poolSettled();
  });

  it('refuse at once when the signal aborted before a session was taken', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(boundedRun(ctxWith(ac.signal))('select 1', [])).rejects.toThrow(/client went away/);
    await poolSettled();
  });
});
