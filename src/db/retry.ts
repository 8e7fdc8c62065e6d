import { AppError } from '../shared/errors.js';

/**
 * PostgreSQL's serialization_failure and deadlock_detected: the transaction was rolled back as a
 * whole because of another one, not because of its input, so running it again is safe and
 * usually succeeds.
 */
const RETRYABLE = new Set(['40001', '40P01']);

/** True when `err` (as thrown by pg, or wrapped by MikroORM) carries one of these SQLSTATEs. */
export function hasSqlState(err: unknown, codes: ReadonlySet<string>): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 4; depth++) {
    if (typeof e.code === 'string' && codes.has(e.code)) return true;
    e = e.cause as typeof e;
  }
  return false;
}

/** True for a serialization failure or a deadlock. */
export const isRetryable = (err: unknown): boolean => hasSqlState(err, RETRYABLE);

export interface RetryOptions {
  /** Runs in all, the first included (default 5). */
  attempts?: number;
  /** The first pause before a rerun, in ms; it doubles each time, with full jitter (default 10). */
  baseMs?: number;
  /** Called before each rerun (tests count them). */
  onRetry?: (err: unknown, attempt: number) => void;
  /**
   * The error thrown when every run lost (default concurrentChange()); a caller whose earlier
   * transactions committed (an import's batches) says so instead of "nothing was written".
   */
  exhausted?: () => Error;
}

/**
 * The answer when every run lost to a concurrent transaction. CONFLICT, not RATE_LIMITED: the
 * client did nothing wrong and need not slow down; the data it wrote to changed under it, nothing
 * of this call was written, and calling again is safe (the same meaning as a lost unique race).
 */
export const concurrentChange = () =>
  new AppError('CONFLICT', 'A concurrent change got in the way and nothing was written: retry', {
    reason: 'CONCURRENT_CHANGE',
  });

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `transaction` (a whole transaction: begin to commit, never a part of an outer one, whose
 * rollback could not be undone by a rerun) and reruns it when PostgreSQL aborts it with a
 * serialization failure or a deadlock, a bounded number of times, with a small jittered pause so
 * the two losers of a deadlock do not meet again at once. Any other error passes through.
 */
export async function retryTransaction<T>(
  transaction: () => Promise<T>,
  opts: RetryOptions = {},
): Promise<T> {
  const attempts = Math.max(1, opts.attempts ?? 5);
  const baseMs = opts.baseMs ?? 10;
  for (let attempt = 1; ; attempt++) {
    try {
      return await transaction();
    } catch (err) {
      if (!isRetryable(err)) throw err;
      if (attempt >= attempts) throw (opts.exhausted ?? concurrentChange)();
      opts.onRetry?.(err, attempt);
      await pause(Math.random() * baseMs * 2 ** (attempt - 1));
    }
  }
}
