import type { EntityManager } from '@mikro-orm/postgresql';
import { badInput, notFound } from '../../shared/errors.js';
import { isUuid } from '../../shared/ids.js';
import { decodeCursor, type Page, pageSize, toPage } from '../../shared/pagination.js';
import { releaseUnlessHolding } from './operation.credits.js';
import type { Audience, OperationContent, OperationKind, OperationStatus } from './operation.entity.js';

/**
 * An operation as read (plain values, never an identity-map entity: a subscription's context
 * lives for hours and must read what is stored now).
 */
export interface OperationView {
  id: string;
  accountId: string;
  kind: OperationKind;
  name: string;
  status: OperationStatus;
  audience: Audience;
  content: OperationContent;
  version: number;
  contentHash: string;
  validatedVersion: number | null;
  validatedHash: string | null;
  createdBy: string | null;
  updatedBy: string | null;
  submittedBy: string | null;
  submittedAt: Date | null;
  validatedBy: string | null;
  validatedAt: Date | null;
  rejectedBy: string | null;
  rejectedAt: Date | null;
  rejectionReason: string | null;
  cancelledBy: string | null;
  cancelledAt: Date | null;
  scheduledAt: Date | null;
  sentAt: Date | null;
  pausedFrom: OperationStatus | null;
  failureReason: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Columns written by writeOperation: everything but the id, account, kind and creation. */
const WRITTEN = {
  name: 'name',
  status: 'status',
  audience: 'audience',
  content: 'content',
  version: 'version',
  contentHash: 'content_hash',
  validatedVersion: 'validated_version',
  validatedHash: 'validated_hash',
  updatedBy: 'updated_by',
  submittedBy: 'submitted_by',
  submittedAt: 'submitted_at',
  validatedBy: 'validated_by',
  validatedAt: 'validated_at',
  rejectedBy: 'rejected_by',
  rejectedAt: 'rejected_at',
  rejectionReason: 'rejection_reason',
  cancelledBy: 'cancelled_by',
  cancelledAt: 'cancelled_at',
  scheduledAt: 'scheduled_at',
  sentAt: 'sent_at',
  pausedFrom: 'paused_from',
  failureReason: 'failure_reason',
  updatedAt: 'updated_at',
} as const satisfies Partial<Record<keyof OperationView, string>>;

const COLUMNS = {
  id: 'id',
  accountId: 'account_id',
  kind: 'kind',
  createdBy: 'created_by',
  createdAt: 'created_at',
  ...WRITTEN,
} as const;

const SELECT = `select ${Object.entries(COLUMNS)
  .map(([k, c]) => `o.${c} as "${k}"`)
  .join(', ')} from operation o`;

const JSONB = new Set(['audience', 'content']);

export async function findOperation(
  em: EntityManager,
  accountId: string,
  id: string,
  lock = false,
): Promise<OperationView> {
  const rows = isUuid(id)
    ? await em.execute<OperationView[]>(
        `${SELECT} where o.account_id = ? and o.id = ?${lock ? ' for update' : ''}`,
        [accountId, id],
      )
    : [];
  if (!rows[0]) throw notFound('Operation');
  return rows[0];
}

/** Several by id, in one statement (Subscription payloads, batched fields). */
export async function findOperations(
  em: EntityManager,
  accountId: string,
  ids: string[],
): Promise<OperationView[]> {
  const wanted = ids.filter(isUuid);
  if (!wanted.length) return [];
  return em.execute<OperationView[]>(`${SELECT} where o.account_id = ? and o.id in (?)`, [accountId, wanted]);
}

export async function insertOperation(
  em: EntityManager,
  op: Omit<OperationView, 'id' | keyof typeof WRITTEN> & Partial<OperationView>,
): Promise<string> {
  const [row] = await em.execute<{ id: string }[]>(
    `insert into operation (account_id, kind, name, status, audience, content, version, content_hash,
       created_by, updated_by, created_at, updated_at)
     values (?, ?, ?, 'DRAFT', ?::jsonb, ?::jsonb, 1, ?, ?, ?, ?, ?) returning id`,
    [
      op.accountId,
      op.kind,
      op.name,
      JSON.stringify(op.audience),
      JSON.stringify(op.content),
      op.contentHash,
      op.createdBy,
      op.createdBy,
      op.createdAt,
      op.createdAt,
    ],
  );
  return row.id;
}

/** Writes every mutable column of `op` (loaded FOR UPDATE in the same transaction). */
export async function writeOperation(em: EntityManager, op: OperationView): Promise<void> {
  const sets: string[] = [];
  const params: unknown[] = [];
  for (const [key, column] of Object.entries(WRITTEN)) {
    const value = op[key as keyof OperationView];
    sets.push(JSONB.has(key) ? `${column} = ?::jsonb` : `${column} = ?`);
    params.push(JSONB.has(key) ? JSON.stringify(value) : value);
  }
  await em.execute(`update operation set ${sets.join(', ')} where id = ? and account_id = ?`, [
    ...params,
    op.id,
    op.accountId,
  ]);
  await releaseUnlessHolding(em, op);
}

export async function deleteOperationRows(
  em: EntityManager,
  accountId: string,
  ids: string[],
): Promise<void> {
  if (ids.length)
    await em.execute('delete from operation where account_id = ? and id in (?)', [accountId, ids]);
}

export interface OperationFilter {
  kind?: OperationKind | null;
  status?: readonly OperationStatus[] | null;
  search?: string | null;
}

/**
 * Newest first, keyset over (created_at, id), limited to `kinds` (those the viewer may read).
 * created_at is written by the service with millisecond precision, so a cursor's Date is exact.
 */
export async function listOperations(
  em: EntityManager,
  accountId: string,
  kinds: OperationKind[],
  filter: OperationFilter,
  first?: number | null,
  after?: string | null,
): Promise<Page<OperationView>> {
  const size = pageSize(first);
  const allowed = filter.kind ? kinds.filter((k) => k === filter.kind) : kinds;
  if (!allowed.length) return { nodes: [], hasNextPage: false, endCursor: null };
  const where = ['o.account_id = ?', 'o.kind in (?)'];
  const params: unknown[] = [accountId, allowed];
  if (filter.status?.length) {
    where.push('o.status in (?)');
    params.push([...filter.status]);
  }
  if (filter.search) {
    if (filter.search.length > 200) throw badInput('filter.search: at most 200 characters');
    where.push('o.name ilike ?');
    params.push(`%${filter.search.replace(/[\\%_]/g, (m) => `\\${m}`)}%`);
  }
  const key = decodeCursor(after);
  if (key !== null) {
    const [at, id] = key.split('|');
    const time = new Date(at ?? '');
    if (!id || !isUuid(id) || Number.isNaN(time.getTime()))
      throw badInput('after: not a cursor returned by this API');
    where.push('(o.created_at, o.id) < (?, ?::uuid)');
    params.push(time, id);
  }
  const rows = await em.execute<OperationView[]>(
    `${SELECT} where ${where.join(' and ')} order by o.created_at desc, o.id desc limit ?`,
    [...params, size + 1],
  );
  return toPage(rows, size, (o) => `${new Date(o.createdAt).toISOString()}|${o.id}`);
}
