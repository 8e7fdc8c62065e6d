import type { AuditInput } from '../audit/audit.service.js';

/**
 * Who acts on invoices, and where their history entries go: `audit` is the `mutate` transaction's
 * (audit.service.ts), so each entry commits with its change and is published after the commit.
 */
export interface Actor {
  accountId: string;
  userId: string;
  /** Absent where no history is kept (service-level tests). */
  audit?: (entry: AuditInput) => void;
}

export function record(
  actor: Actor,
  action: string,
  objectType: string,
  objectId: string,
  diff: Record<string, unknown> | null = null,
): void {
  actor.audit?.({ action, feature: 'INVOICES', objectType, objectId, diff });
}
