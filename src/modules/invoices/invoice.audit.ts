import type { AuditEntryEvent } from '../audit/audit.service.js';
import type { Exec } from '../credits/credit.service.js';

/**
 * Who acts on invoices. The service runs on its own pg transactions (the numbering needs one
 * session), so it writes its history entries itself, in the same transaction as the change, with
 * what `mutate` would record (email, IP, a diff). `entries` collects them for the caller to
 * publish on `auditEntryAdded` once the transaction has committed.
 */
export interface Actor {
  accountId: string;
  userId: string;
  email?: string | null;
  ip?: string | null;
  entries?: AuditEntryEvent[];
}

export async function audit(
  exec: Exec,
  actor: Actor,
  action: string,
  objectType: string,
  objectId: string,
  diff: Record<string, unknown> | null = null,
): Promise<void> {
  const [row] = await exec<{ id: string; created_at: Date }>(
    `insert into audit_entry (account_id, user_id, user_email, action, feature, object_type, object_id, diff, ip)
     values ($1, $2, $3, $4, 'INVOICES', $5, $6, $7, $8) returning id::text, created_at`,
    [
      actor.accountId,
      actor.userId,
      actor.email ?? null,
      action,
      objectType,
      objectId,
      diff,
      actor.ip ?? null,
    ],
  );
  actor.entries?.push({
    id: row.id,
    accountId: actor.accountId,
    userId: actor.userId,
    userEmail: actor.email ?? null,
    action,
    feature: 'INVOICES',
    objectType,
    objectId,
    diff,
    ip: actor.ip ?? null,
    createdAt: new Date(row.created_at).toISOString(),
  });
}
