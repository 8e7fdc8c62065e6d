import type { Context } from '../context.js';
import type { Run } from '../modules/targeting/audience.js';

/**
 * The runner of a read that may be long (segment counts and pages over a million contacts): one
 * pooled session, its own transaction with a statement timeout.
 *
 * STUB (issue 11 in progress): the timeout setting, the TIMEOUT error code and the cancellation
 * when the client goes away are being added here; callers only use `boundedRun(ctx)`.
 */
export function boundedRun(ctx: Context): Run {
  return async <T>(sql: string, params: unknown[]) => {
    const client = await ctx.app.jobs.pool.connect();
    try {
      await client.query('begin read only');
      await client.query(`set local statement_timeout = 15000`);
      const r = await client.query(sql, params);
      await client.query('commit');
      return r.rows as T[];
    } catch (err) {
      await client.query('rollback').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  };
}
