import type pg from 'pg';

/** Waits a fixed time: for what must NOT happen within it (no second mail, no more sends). */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `condition` until it holds; fails with `what` once `timeoutMs` has passed, so a test whose
 * expected state never comes fails with a clear message rather than hanging until vitest's limit.
 */
export async function waitUntil(
  condition: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 30_000,
  everyMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Resolves once a statement whose text matches `like` (SQL LIKE) waits for a lock in PostgreSQL:
 * it then holds the locks it took before, which is what lock-order tests build on.
 */
export function lockWait(sql: Pick<pg.Pool, 'query'>, like: string, what: string): Promise<void> {
  return waitUntil(async () => {
    const { rows } = await sql.query<{ n: number }>(
      `select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like $1`,
      [like],
    );
    return rows[0].n > 0;
  }, what);
}

/** `xs` in an order fixed by `seed` (a linear congruential generator): reproducible races. */
export function shuffled<T>(xs: T[], seed: number): T[] {
  const out = [...xs];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** The codes a refused concurrent write may answer; anything else (INTERNAL_SERVER_ERROR) is a bug. */
export const CONCURRENT_WRITE_CODES: ReadonlySet<string> = new Set([
  'CONFLICT',
  'NOT_FOUND',
  'BAD_USER_INPUT',
]);
