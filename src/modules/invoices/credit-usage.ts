import type pg from 'pg';
import { badInput } from '../../shared/errors.js';
import type { CreditKind } from '../credits/credit.entity.js';

/** A report covers at most this many days: one row per day and kind stays a small answer. */
export const MAX_USAGE_DAYS = 366;
/** groupBy OPERATION: the operations that used the most, at most this many rows. */
export const MAX_USAGE_ROWS = 1000;

export interface UsageRow {
  kind: CreditKind;
  /** groupBy DAY: the UTC day, YYYY-MM-DD. */
  day: string | null;
  /** groupBy OPERATION: the operation (null for usage recorded without one). */
  operationId: string | null;
  used: number;
}

/**
 * Credits consumed by sends between `from` (included) and `to` (excluded), per kind, grouped by
 * UTC day or by operation, read from the ledger's USAGE entries (one per batch): what was really
 * paid, never an estimate.
 */
export async function creditUsage(
  db: pg.Pool,
  accountId: string,
  from: Date,
  to: Date,
  groupBy: 'DAY' | 'OPERATION',
): Promise<UsageRow[]> {
  if (to <= from) throw badInput('to must be after from', { field: 'to' });
  if (to.getTime() - from.getTime() > MAX_USAGE_DAYS * 86_400_000)
    throw badInput(`from and to may be at most ${MAX_USAGE_DAYS} days apart`, { field: 'to' });
  const key =
    groupBy === 'DAY' ? `to_char(created_at at time zone 'UTC', 'YYYY-MM-DD')` : 'operation_id::text';
  const { rows } = await db.query<{ kind: CreditKind; key: string | null; used: string }>(
    `select kind, ${key} as key, -sum(amount)::bigint as used from credit_entry
      where account_id = $1 and type = 'USAGE' and created_at >= $2 and created_at < $3
      group by kind, ${key} order by ${groupBy === 'DAY' ? 'key, kind' : 'used desc, key, kind'} limit $4`,
    [accountId, from, to, MAX_USAGE_ROWS],
  );
  return rows.map((r) => ({
    kind: r.kind,
    day: groupBy === 'DAY' ? r.key : null,
    operationId: groupBy === 'OPERATION' ? r.key : null,
    used: Number(r.used),
  }));
}
