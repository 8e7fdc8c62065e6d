import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError } from '../../shared/errors.js';

export type ImportStatus = 'RUNNING' | 'DONE' | 'FAILED';
export type ImportOutcome = 'CREATED' | 'MERGED' | 'REJECTED';

/** An import as read from SQL and as streamed on `importProgress` (plain JSON: it may cross Redis). */
export interface ImportView {
  id: string;
  accountId: string;
  userId: string | null;
  status: ImportStatus;
  source: string;
  total: number;
  processed: number;
  created: number;
  merged: number;
  rejected: number;
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
}

export interface RowResult {
  rowNumber: number;
  outcome: ImportOutcome;
  contactId: string | null;
  error: string | null;
}

const RETURNING = `returning id::text, account_id as "accountId", user_id::text as "userId", status, source, total,
  processed, created, merged, rejected, error, to_json(created_at)#>>'{}' as "createdAt",
  to_json(finished_at)#>>'{}' as "finishedAt"`;
const SELECT = RETURNING.replace('returning', 'select');

/**
 * Creates the import row (RUNNING); null when the account already has an import with this `id`.
 * Ids are per account: another account's id is as free as any other.
 */
export async function insertImport(
  em: EntityManager,
  row: { id: string | null; accountId: string; userId: string; source: string; total: number },
): Promise<ImportView | null> {
  const [view] = await em.execute<ImportView[]>(
    `insert into contact_import (id, account_id, user_id, status, source, total)
     values (coalesce(?::uuid, gen_random_uuid()), ?, ?, 'RUNNING', ?, ?)
     on conflict (account_id, id) do nothing ${RETURNING}`,
    [row.id, row.accountId, row.userId, row.source, row.total],
    'all',
  );
  return view ?? null;
}

/** Stores a batch's row results in one statement and adds them to the counters. */
export async function saveBatch(
  em: EntityManager,
  accountId: string,
  importId: string,
  results: RowResult[],
  countTotal: boolean,
): Promise<ImportView> {
  await em.execute(
    `insert into contact_import_row (account_id, import_id, row_number, outcome, contact_id, error)
     select ?, ?, x.n, x.o, x.c, x.e from jsonb_to_recordset(?::jsonb) as x(n int, o text, c bigint, e text)`,
    [
      accountId,
      importId,
      JSON.stringify(results.map((r) => ({ n: r.rowNumber, o: r.outcome, c: r.contactId, e: r.error }))),
    ],
    'run',
  );
  const count = (o: ImportOutcome) => results.filter((r) => r.outcome === o).length;
  const [view] = await em.execute<ImportView[]>(
    `update contact_import set total = total + ?, processed = processed + ?, created = created + ?,
       merged = merged + ?, rejected = rejected + ?, heartbeat_at = now()
     where account_id = ? and id = ? and status = 'RUNNING' ${RETURNING}`,
    [
      countTotal ? results.length : 0,
      results.length,
      count('CREATED'),
      count('MERGED'),
      count('REJECTED'),
      accountId,
      importId,
    ],
    'all',
  );
  // Marked FAILED by recovery meanwhile (this process looked dead): the batch must not count.
  if (!view) throw new AppError('CONFLICT', IMPORT_STOPPED);
  return view;
}

export const IMPORT_STOPPED = 'the import was marked FAILED while it ran (its heartbeat was late)';

export async function finishImport(
  em: EntityManager,
  accountId: string,
  importId: string,
  status: 'DONE' | 'FAILED',
  error: string | null,
): Promise<ImportView> {
  const [view] = await em.execute<ImportView[]>(
    `update contact_import set status = ?, error = ?, finished_at = now(), heartbeat_at = now()
      where account_id = ? and id = ? and status = 'RUNNING' ${RETURNING}`,
    [status, error, accountId, importId],
    'all',
  );
  if (view) return view;
  // Already ended by recovery: its state stays what recovery wrote.
  const [current] = await em.execute<ImportView[]>(
    `${SELECT} from contact_import where account_id = ? and id = ?`,
    [accountId, importId],
  );
  return current;
}

/** The process running an import says it is alive; false once the import is no longer RUNNING. */
export async function touchImport(em: EntityManager, accountId: string, importId: string): Promise<boolean> {
  const res = await em.execute(
    `update contact_import set heartbeat_at = now() where account_id = ? and id = ? and status = 'RUNNING'`,
    [accountId, importId],
    'run',
  );
  return (res as { affectedRows?: number }).affectedRows !== 0;
}

/**
 * Marks FAILED every import RUNNING whose heartbeat is older than `staleMs` (database clock, so
 * the clocks of the processes do not matter): the process running it died.
 */
export async function failStaleImports(em: EntityManager, staleMs: number): Promise<ImportView[]> {
  return em.execute<ImportView[]>(
    `update contact_import set status = 'FAILED', finished_at = now(), error = ?
      where status = 'RUNNING' and heartbeat_at < now() - make_interval(secs => ?::float8 / 1000) ${RETURNING}`,
    [
      `interrupted: the process running it stopped (no heartbeat for ${staleMs / 1000} s); the rows before it were imported`,
      staleMs,
    ],
    'all',
  );
}

export async function findImport(
  em: EntityManager,
  accountId: string,
  id: string,
): Promise<ImportView | null> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return null;
  const [view] = await em.execute<ImportView[]>(
    `${SELECT} from contact_import where account_id = ? and id = ?`,
    [accountId, id],
  );
  return view ?? null;
}

/** Row results in row order, from the row after `afterRow`, optionally of one outcome. */
export async function listRowResults(
  em: EntityManager,
  accountId: string,
  importId: string,
  outcome: ImportOutcome | null,
  afterRow: number,
  limit: number,
): Promise<RowResult[]> {
  return em.execute<RowResult[]>(
    `select row_number as "rowNumber", outcome, contact_id::text as "contactId", error from contact_import_row
      where account_id = ? and import_id = ? and row_number > ? ${outcome ? 'and outcome = ?' : ''}
      order by row_number limit ?`,
    outcome ? [accountId, importId, afterRow, outcome, limit] : [accountId, importId, afterRow, limit],
  );
}
