import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuditEntryEvent } from '../audit/audit.service.js';
import { contentHash } from './operation.content.js';
import { findOperation, type OperationView, writeOperation } from './operation.repository.js';
import { featureOf } from './operation.rights.js';
import { type OperationAction, targetOf, transitionOf } from './operation.workflow.js';

/**
 * The seam for the sending engine (issue 13): the ENGINE rows of the workflow table, taken in the
 * engine's own transaction (`em`), each writing its audit entry there. The entries are returned,
 * not published: the engine publishes them on the `audit` topic after its commit (as `mutate`
 * does), which is also what feeds `operationChanged`.
 */
export interface EngineStep {
  ok: boolean;
  operation: OperationView;
  /** Why the step was refused and the operation FAILED instead. */
  reason?: string;
  entries: AuditEntryEvent[];
}

async function auditRow(
  em: EntityManager,
  op: OperationView,
  action: string,
  diff: Record<string, unknown>,
): Promise<AuditEntryEvent> {
  const [row] = await em.execute<Record<string, unknown>[]>(
    `insert into audit_entry (account_id, user_id, user_email, action, feature, object_type, object_id, diff, ip, created_at)
     values (?, null, null, ?, ?, 'Operation', ?, ?::jsonb, null, now()) returning id, created_at`,
    [op.accountId, action, featureOf(op.kind), op.id, JSON.stringify(diff)],
  );
  return {
    id: String(row.id),
    accountId: op.accountId,
    userId: null,
    userEmail: null,
    action,
    feature: featureOf(op.kind),
    objectType: 'Operation',
    objectId: op.id,
    diff,
    ip: null,
    createdAt: new Date(row.created_at as string).toISOString(),
  };
}

async function move(
  em: EntityManager,
  op: OperationView,
  action: OperationAction,
  extra: Partial<OperationView>,
  entries: AuditEntryEvent[],
): Promise<boolean> {
  const row = transitionOf(op.status, action);
  if (!row) return false;
  const from = op.status;
  const to = targetOf(row, op.pausedFrom);
  if (to === 'DELETED') return false;
  Object.assign(op, extra, { status: to, updatedAt: new Date() });
  await writeOperation(em, op);
  entries.push(await auditRow(em, op, `${action}Operation`, { status: { from, to }, ...extra }));
  return true;
}

/**
 * What is sent is exactly what was validated: the validated version must be the current one, and
 * the validated hash both the stored hash and the hash of the content as stored now (so a change
 * made behind the API, by SQL, is caught too). Null when it holds, else why not.
 */
export function validationMismatch(op: OperationView): string | null {
  if (op.validatedVersion === null || op.validatedHash === null) return 'the operation was never validated';
  if (op.validatedVersion !== op.version)
    return `version ${op.version} is not the validated version ${op.validatedVersion}`;
  if (op.validatedHash !== op.contentHash || op.validatedHash !== contentHash(op))
    return 'the content is not the validated content (hash mismatch)';
  return null;
}

/**
 * SCHEDULED -> SENDING, after the validation check; a mismatch sets FAILED with the reason and
 * answers ok: false, and so does a status the table has no `start` for (nothing is changed then).
 */
export async function markSending(em: EntityManager, accountId: string, id: string): Promise<EngineStep> {
  const op = await findOperation(em, accountId, id, true);
  const entries: AuditEntryEvent[] = [];
  if (!transitionOf(op.status, 'start'))
    return { ok: false, operation: op, reason: `the operation is ${op.status}`, entries };
  const mismatch = validationMismatch(op);
  if (mismatch) {
    await move(em, op, 'fail', { failureReason: mismatch }, entries);
    return { ok: false, operation: op, reason: mismatch, entries };
  }
  await move(em, op, 'start', {}, entries);
  return { ok: true, operation: op, entries };
}

/** SENDING -> SENT. */
export async function markSent(em: EntityManager, accountId: string, id: string): Promise<EngineStep> {
  const op = await findOperation(em, accountId, id, true);
  const entries: AuditEntryEvent[] = [];
  const ok = await move(em, op, 'finish', { sentAt: new Date() }, entries);
  return { ok, operation: op, entries, reason: ok ? undefined : `the operation is ${op.status}` };
}

/** SCHEDULED or SENDING -> FAILED with a reason (late start, transport gone...). */
export async function markFailed(
  em: EntityManager,
  accountId: string,
  id: string,
  reason: string,
): Promise<EngineStep> {
  const op = await findOperation(em, accountId, id, true);
  const entries: AuditEntryEvent[] = [];
  const ok = await move(em, op, 'fail', { failureReason: reason }, entries);
  return { ok, operation: op, entries, reason: ok ? undefined : `the operation is ${op.status}` };
}
