import pg from 'pg';
import type { AppServices, Context } from '../context.js';
import type { Run } from '../modules/targeting/audience.js';
import { AppError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';

/**
 * Sessions of the bounded-read pool. A pool of its own, not jobs.pool: that one (6 sessions) is
 * Agenda's and the score runs', and a burst of slow counts from editors' live previews must not
 * stop a scheduled score run from starting, nor a run starve the counts. Small, because a count
 * is CPU-bound in PostgreSQL (and may take parallel workers): more sessions than cores only
 * slow each of them. Reads past it wait their turn, QUERY_TIMEOUT_MS at most.
 */
export const READ_POOL_MAX = 4;

/**
 * `set local max_parallel_workers_per_gather` for bounded reads; null leaves the server's
 * setting. A knob for the lead: on a few cores, parallel counts can starve every other session.
 */
export const MAX_PARALLEL_WORKERS_PER_GATHER: number | null = null;

export function createReadPool(databaseUrl: string, queryTimeoutMs: number, logger: Logger): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: READ_POOL_MAX,
    // Waiting for a session is bounded like the statement itself (mapped to TIMEOUT below).
    connectionTimeoutMillis: queryTimeoutMs,
  });
  pool.on('error', (err) => logger.debug(`idle pg client closed: ${err.message}`));
  return pool;
}

type Services = Pick<AppServices, 'reads' | 'config' | 'logger'>;

/**
 * The runner of a read that may be long (segment counts and pages over a million contacts): one
 * session of the read pool, a read-only transaction with a statement timeout (QUERY_TIMEOUT_MS,
 * past it TIMEOUT), cancelled in PostgreSQL when the operation's signal aborts (its client went
 * away: see Context.signal).
 */
export function boundedRun(ctx: Context): Run {
  return <T>(sql: string, params: unknown[]) =>
    boundedQuery<T>(ctx.app, sql, params, ctx.signal, budgetOf(ctx));
}

/**
 * One request's reading time, shared by all its bounded reads: each is stopped at
 * QUERY_TIMEOUT_MS, and together they stop at REQUEST_BUDGET_FACTOR times that, so a query asking
 * for the counts of 200 heavy segments cannot hold the read pool for 200 timeouts. Reads that
 * run in parallel may overshoot it by at most one timeout each.
 */
export const REQUEST_BUDGET_FACTOR = 4;
export interface ReadBudget {
  spentMs: number;
}
const budgets = new WeakMap<object, ReadBudget>();
function budgetOf(ctx: Context): ReadBudget {
  const known = budgets.get(ctx);
  if (known) return known;
  const fresh = { spentMs: 0 };
  budgets.set(ctx, fresh);
  return fresh;
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;

const timedOut = (ms: number) =>
  new AppError(
    'TIMEOUT',
    `This count or page took longer than ${seconds(ms)} s and was stopped. Narrow the criterion (a field, email status or score condition alongside event conditions) or split it into smaller segments.`,
    { timeoutMs: ms },
  );

const busy = (ms: number) =>
  new AppError(
    'TIMEOUT',
    `Every session for counts and pages stayed busy for ${seconds(ms)} s: other long counts are running. Try again in a moment.`,
    { timeoutMs: ms },
  );

const spent = (ms: number) =>
  new AppError(
    'TIMEOUT',
    `This request has used its ${seconds(ms)} s of counting and paging time: ask for fewer counts or pages at once.`,
    { budgetMs: ms },
  );

// The client is gone, so nobody reads this; an AppError keeps it out of the error log.
const cancelled = () => new AppError('TIMEOUT', 'Cancelled: the client went away before the read finished');

export async function boundedQuery<T>(
  app: Services,
  sql: string,
  params: unknown[],
  signal?: AbortSignal,
  budget?: ReadBudget,
): Promise<T[]> {
  const total = app.config.queryTimeoutMs * REQUEST_BUDGET_FACTOR;
  const left = budget ? total - budget.spentMs : Number.POSITIVE_INFINITY;
  if (left <= 0) throw spent(total);
  const timeout = Math.max(1, Math.floor(Math.min(app.config.queryTimeoutMs, left)));
  const client = await acquire(app.reads, timeout, signal);
  const started = performance.now();
  let cancelling: Promise<void> | null = null;
  const onAbort = () => {
    cancelling ??= cancelBackend(app.reads, processId(client), app.logger);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  let open = false;
  let broken = false;
  try {
    // One round trip (a simple query may hold several statements). Whole numbers from the
    // configuration and constants: no user value in this text.
    open = true;
    await client.query(
      `begin read only; set local statement_timeout = ${timeout}` +
        (MAX_PARALLEL_WORKERS_PER_GATHER !== null
          ? `; set local max_parallel_workers_per_gather = ${MAX_PARALLEL_WORKERS_PER_GATHER}`
          : ''),
    );
    if (signal?.aborted) throw cancelled();
    const r = await client.query(sql, params);
    await client.query('commit');
    open = false;
    return r.rows as T[];
  } catch (err) {
    if ((err as { code?: string }).code !== '57014') throw err; // query_canceled
    throw signal?.aborted
      ? cancelled()
      : budget && timeout < app.config.queryTimeoutMs
        ? spent(total)
        : timedOut(timeout);
  } finally {
    if (budget) budget.spentMs += performance.now() - started;
    signal?.removeEventListener('abort', onAbort);
    // The cancel must have landed before the session serves anyone else: sent after the
    // statement ended, it reaches an idle backend, which ignores it, or the rollback below.
    if (cancelling) await cancelling;
    if (open) await client.query('rollback').catch(() => (broken = true));
    // A session whose rollback failed is closed rather than handed to the next read.
    client.release(broken || undefined);
  }
}

/** The backend's pid, which node-postgres keeps from the handshake but does not declare. */
const processId = (client: pg.PoolClient) => (client as unknown as { processID?: number }).processID;

/** A session of `pool`, or a refusal when the signal aborts first (the session is then put back). */
function acquire(pool: pg.Pool, timeout: number, signal?: AbortSignal): Promise<pg.PoolClient> {
  if (signal?.aborted) return Promise.reject(cancelled());
  const pending = pool.connect().catch((err: Error) => {
    throw /timeout exceeded when trying to connect/i.test(err.message) ? busy(timeout) : err;
  });
  if (!signal) return pending;
  return new Promise((resolve, reject) => {
    let gaveUp = false;
    const onAbort = () => {
      gaveUp = true;
      reject(cancelled());
    };
    signal.addEventListener('abort', onAbort, { once: true });
    pending.then(
      (client) => {
        signal.removeEventListener('abort', onAbort);
        if (gaveUp) client.release();
        else resolve(client);
      },
      (err) => {
        signal.removeEventListener('abort', onAbort);
        if (!gaveUp) reject(err);
      },
    );
  });
}

/**
 * pg_cancel_backend(pid) from a connection of its own: the pool's sessions may all be held by
 * the very reads being cancelled, and waiting in its queue would cancel nothing until they end.
 * (pg's Client#cancel exists but is undocumented and reads the client's internal activeQuery.)
 * Never rejects: if the cancel cannot be sent, the statement timeout still ends the read.
 */
export async function cancelBackend(pool: pg.Pool, pid: number | null | undefined, logger: Logger) {
  if (!pid) return;
  const canceller = new pg.Client(pool.options);
  canceller.on('error', () => {});
  try {
    await canceller.connect();
    await canceller.query('select pg_cancel_backend($1)', [pid]);
  } catch (err) {
    logger.warn('could not cancel a read whose client went away', { pid, error: (err as Error).message });
  } finally {
    await canceller.end().catch(() => {});
  }
}
