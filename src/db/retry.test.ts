import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../test/harness.js';
import { AppError } from '../shared/errors.js';
import { isRetryable, retryTransaction } from './retry.js';

/** A real deadlock: two connections lock the same two rows in opposite orders. */
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: pg.Pool;
beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
  await pool.query('create table retry_item (id int primary key, v int not null)');
});
afterAll(async () => {
  await pool.end();
  await db.drop();
});

function latch(): { open(): void; opened: Promise<void> } {
  let open = () => {};
  const opened = new Promise<void>((r) => {
    open = r;
  });
  return { open, opened };
}

/**
 * One transaction adding 1 to both rows, `first` then `second`. On its first run it waits,
 * holding `first`, until the other transaction holds its own first row: a deadlock for sure.
 */
function crossing(first: number, second: number, mine: ReturnType<typeof latch>, theirs: Promise<void>) {
  let runs = 0;
  const run = async () => {
    runs++;
    const c = await pool.connect();
    try {
      await c.query('begin');
      await c.query('update retry_item set v = v + 1 where id = $1', [first]);
      if (runs === 1) {
        mine.open();
        await theirs;
      }
      await c.query('update retry_item set v = v + 1 where id = $1', [second]);
      await c.query('commit');
    } catch (err) {
      await c.query('rollback');
      throw err;
    } finally {
      c.release();
    }
  };
  return { run, runs: () => runs };
}

async function reset() {
  await pool.query('truncate retry_item');
  await pool.query('insert into retry_item values (1, 0), (2, 0)');
}

describe('retryTransaction', () => {
  it('reruns the transaction that lost a deadlock, which then commits as a whole', async () => {
    await reset();
    const a = latch();
    const b = latch();
    const ta = crossing(1, 2, a, b.opened);
    const tb = crossing(2, 1, b, a.opened);
    const retried: unknown[] = [];
    const onRetry = (err: unknown) => retried.push((err as { code?: string }).code);
    await Promise.all([retryTransaction(ta.run, { onRetry }), retryTransaction(tb.run, { onRetry })]);
    expect(retried).toEqual(['40P01']);
    expect(ta.runs() + tb.runs()).toBe(3);
    // Each transaction added 1 to both rows exactly once: nothing half-done, nothing twice.
    const { rows } = await pool.query('select v from retry_item order by id');
    expect(rows.map((r) => r.v)).toEqual([2, 2]);
  });

  it('answers a typed CONFLICT once the attempts are used up, with nothing written', async () => {
    await reset();
    const a = latch();
    const b = latch();
    const ta = crossing(1, 2, a, b.opened);
    const tb = crossing(2, 1, b, a.opened);
    const settled = await Promise.allSettled([
      retryTransaction(ta.run, { attempts: 1 }),
      retryTransaction(tb.run, { attempts: 1 }),
    ]);
    const lost = settled.filter((s) => s.status === 'rejected') as PromiseRejectedResult[];
    expect(lost).toHaveLength(1);
    expect(lost[0].reason).toBeInstanceOf(AppError);
    expect(lost[0].reason.extensions).toMatchObject({ code: 'CONFLICT', reason: 'CONCURRENT_CHANGE' });
    const { rows } = await pool.query('select v from retry_item order by id');
    expect(rows.map((r) => r.v)).toEqual([1, 1]);
  });

  it('passes any other error through at once', async () => {
    let runs = 0;
    const err = Object.assign(new Error('duplicate key'), { code: '23505' });
    await expect(
      retryTransaction(async () => {
        runs++;
        throw err;
      }),
    ).rejects.toBe(err);
    expect(runs).toBe(1);
  });

  it('recognises the codes as pg throws them and as MikroORM wraps them', () => {
    expect(isRetryable({ code: '40001' })).toBe(true);
    expect(isRetryable({ name: 'DeadlockException', code: '40P01' })).toBe(true);
    expect(isRetryable({ cause: { code: '40P01' } })).toBe(true);
    expect(isRetryable({ code: '23505' })).toBe(false);
    expect(isRetryable(null)).toBe(false);
  });
});
