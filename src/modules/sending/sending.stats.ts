import type { EntityManager } from '@mikro-orm/postgresql';
import { batched } from '../../shared/batch.js';
import type { ExclusionReason } from './sending.entity.js';

/** A send's figures, kept per batch by the workers (operation_send); null before it starts. */
export interface SendFigures {
  operationId: string;
  recipients: number;
  excluded: { reason: ExclusionReason; count: number }[];
  /** Accepted by the receiving server or gateway. */
  delivered: number;
  failed: number;
  hardBounces: number;
  deferrals: number;
  /** SMS parts sent (0 for an Emailing). */
  parts: number;
  /** Distinct contacts who reported a message of it as spam (ARF complaints naming it). */
  complaints: number;
  /** Not final yet: pending, claimed or deferred. */
  remaining: number;
  /** SMS the gateway reported delivered, and not delivered (POST /sms/status); 0 for an Emailing. */
  smsDelivered: number;
  smsFailed: number;
}

interface Row {
  operation_id: string;
  recipients: number;
  excluded: Partial<Record<ExclusionReason, number>>;
  sent: number;
  failed: number;
  hard_bounces: number;
  deferrals: number;
  parts: number;
  sms_delivered: number;
  sms_failed: number;
}

const figures = (r: Row, complaints: number): SendFigures => ({
  operationId: r.operation_id,
  recipients: r.recipients,
  excluded: Object.entries(r.excluded)
    .map(([reason, count]) => ({ reason: reason as ExclusionReason, count: count ?? 0 }))
    .sort((a, b) => b.count - a.count || (a.reason < b.reason ? -1 : 1)),
  delivered: r.sent,
  failed: r.failed,
  hardBounces: r.hard_bounces,
  deferrals: r.deferrals,
  parts: r.parts,
  complaints,
  remaining: Math.max(0, r.recipients - r.sent - r.failed),
  smsDelivered: r.sms_delivered,
  smsFailed: r.sms_failed,
});

/** The figures of these operations of the account, one statement for a whole page of them. */
export async function sendFiguresOf(
  em: EntityManager,
  accountId: string,
  operationId: string,
): Promise<SendFigures | null> {
  const all = await batched(em, 'sending.figures', operationId, async (ids) => {
    const rows = await em.execute<Row[]>(
      `select operation_id, recipients, excluded, sent, failed, hard_bounces, deferrals, parts, sms_delivered, sms_failed
         from operation_send where account_id = ? and operation_id in (?)`,
      [accountId, [...ids]],
    );
    // Complaints come back as bounces (reason feedback) that name the operation: few rows.
    const complained = await em.execute<{ operation_id: string; n: number }[]>(
      `select operation_id, count(distinct contact_id)::int as n from bounce
        where account_id = ? and operation_id in (?) and reason = 'feedback' group by operation_id`,
      [accountId, [...ids]],
    );
    const by = new Map(complained.map((c) => [c.operation_id, c.n]));
    return new Map(rows.map((r) => [r.operation_id, figures(r, by.get(r.operation_id) ?? 0)]));
  });
  return all ?? null;
}

/** What changes whenever a batch or a delivery report is recorded: what operationProgress polls. */
export async function progressVersion(
  em: EntityManager,
  accountId: string,
  operationId: string,
): Promise<string> {
  const [row] = await em.execute<{ v: string | null }[]>(
    `select (sent + failed + deferrals + sms_delivered + sms_failed)::text || ':' || recipients::text as v
       from operation_send where account_id = ? and operation_id = ?`,
    [accountId, operationId],
  );
  return row?.v ?? 'none';
}
