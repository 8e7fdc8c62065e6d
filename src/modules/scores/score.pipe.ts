/**
 * A score's first run pipelined over two sessions. The first run of a score inserts a row for
 * nearly every contact, and on two cores computing the rows and inserting them take about as long
 * as each other. A single INSERT ... SELECT does them one after the other on one core, since
 * PostgreSQL never runs the SELECT part of an INSERT in parallel.
 *
 * So a second session computes the rows with `COPY (SELECT ...) TO STDOUT`, while the run's own
 * session, inside the run's transaction, takes them with `COPY contact_score FROM STDIN`. Both
 * use the binary format, and Node only passes the bytes along. The rows are still computed by one
 * set-based statement, in PostgreSQL.
 *
 * Why this stays correct:
 * - The reading statement runs at or after the watermark was taken. It counts events up to $4
 *   whatever it sees beyond them, as the single statement does.
 * - It cannot see the run's uncommitted writes, so the runner uses it only for scores that read
 *   no other score.
 * - A failure on either side fails the COPY, and so the run's transaction.
 *
 * COPY takes no bind parameters. Each $n goes into a transaction-local setting instead, bound as
 * a parameter of set_config, and is read back once per statement through an uncorrelated
 * subquery (an InitPlan). User values never enter the SQL text.
 */
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';

/** Casts of the runner's own parameters, used bare in the compiled SQL. */
const BARE_CASTS: Record<number, string> = { 1: 'uuid', 2: 'uuid', 3: 'bigint', 4: 'bigint', 5: 'int' };

/** Rewrites `$n` / `$n::type` into reads of transaction-local settings; returns what to set. */
export function paramsAsSettings(
  sql: string,
  params: unknown[],
): { sql: string; settings: [string, string][] } {
  const settings = new Map<string, string>();
  const out = sql.replace(/\$(\d+)(?:::([a-z]+(?:\[\])?))?/g, (_, n: string, cast?: string) => {
    const i = Number(n);
    const type = cast ?? BARE_CASTS[i];
    if (!type) throw new Error(`parameter $${i} has no type`);
    const value = params[i - 1];
    if (value === null || value === undefined) return `null::${type}`;
    const name = `cible.p${i}`;
    // node-postgres writes arrays in PostgreSQL's array syntax, as a bind parameter would.
    settings.set(name, Array.isArray(value) ? arrayLiteral(value) : String(value));
    // The outer cast (a no-op) keeps `= any(...)` reading an array, not the rows of a subquery.
    return `((select current_setting('${name}')::${type})::${type})`;
  });
  return { sql: out, settings: [...settings] };
}

/** PostgreSQL's text form of a one-dimensional array of scalars, every element quoted. */
function arrayLiteral(values: unknown[]): string {
  const items = values.map((v) =>
    v === null || v === undefined ? 'NULL' : `"${String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`,
  );
  return `{${items.join(',')}}`;
}

const COLUMNS = '(score_id, contact_id, account_id, state_value, event_value, value)';

/**
 * Inserts the rows of `select` (contact_score's columns, in order) through `writer`, which is in
 * the run's transaction, computing them on a second session opened with `pool`'s settings.
 * Returns the row count.
 */
export async function pipeRows(
  pool: pg.Pool,
  writer: pg.PoolClient,
  select: string,
  params: unknown[],
): Promise<number> {
  const { sql, settings } = paramsAsSettings(select, params);
  // Its own connection, not one from the pool: runs of several accounts each holding a pooled
  // connection and waiting for a second one could otherwise exhaust the pool and wait forever.
  const reader = new pg.Client(pool.options);
  await reader.connect();
  try {
    await reader.query('begin');
    await reader.query(`set local work_mem = '256MB'`);
    await reader.query('set local jit = off');
    if (settings.length)
      await reader.query('select set_config(k, v, true) from unnest($1::text[], $2::text[]) as s(k, v)', [
        settings.map((s) => s[0]),
        settings.map((s) => s[1]),
      ]);
    const into = writer.query(copyFrom(`copy contact_score ${COLUMNS} from stdin (format binary)`));
    await pipeline(reader.query(copyTo(`copy (${sql}) to stdout (format binary)`)), into);
    await reader.query('commit');
    return into.rowCount;
  } catch (err) {
    await reader.query('rollback').catch(() => {});
    throw err;
  } finally {
    await reader.end().catch(() => {});
  }
}
