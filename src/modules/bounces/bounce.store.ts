import type { Context } from '../../context.js';
import { retryTransaction } from '../../db/retry.js';
import { clip, storable } from '../../shared/text.js';
import { mutate } from '../audit/audit.service.js';
import type { EmailStatus } from '../contacts/contact.entity.js';
import { lockAccountForContactWrite } from '../contacts/contact.locks.js';
import { eventCode } from '../events/event.entity.js';
import { insertEvents } from '../events/event.service.js';
import { type MatchedSend, markRecipientBounced } from './bounce.match.js';
import {
  type BouncedContact,
  type BounceEvent,
  insertBounces,
  lockContactById,
  lockContactsByEmail,
  type NewBounce,
  updateContactBounceState,
} from './bounce.repository.js';
import type { BounceClassification } from './classifier/classify.js';

/** Which send a bounce returns: its exact send (VERP), or only the operation it names, or nothing. */
export type BounceTarget = { send: MatchedSend } | { operationId: string | null };

/**
 * The status a bounce leaves on a contact. Only a soft bounce is mild enough to lose against what
 * the contact already says: it never hides a hard bounce, a complaint or an unsubscribe (a soft
 * bounce must not make an unsubscribed contact look merely "soft bounced").
 */
function nextStatus(current: string, r: { reason: string; hard: boolean }): string {
  if (r.reason === 'feedback') return 'COMPLAINED';
  if (r.hard) return 'HARD_BOUNCED';
  return current === 'VALID' || current === 'SOFT_BOUNCED' ? 'SOFT_BOUNCED' : current;
}

/** What the classifier decoded, cut to its column and storable (no NUL, no lone surrogate). */
const clipOrNull = (s: string | null, n: number) => (s === null ? null : clip(storable(s), n));

/**
 * Stores the failures of one bounce message in `accountId`: one row per (recipient, matching
 * contact), or with no contact when none matches so the history keeps it; a BOUNCE event, the
 * email status and the last bounce for each matched contact. With the exact send (its return
 * path), every failure is that contact's, whatever address the DSN names (one recipient per
 * message: a forward that bounced is still that contact's message), and its recipient row is
 * marked (bounce.match.ts); otherwise contacts are matched by address. The last bounce only moves
 * to a message received later than the one it holds. One transaction with its history entry (no
 * user for the inbound endpoint), in the lock order of contact writes (the account, then contacts
 * in id order), rerun on a deadlock; subscribers hear of it after the commit.
 */
export async function storeBounce(
  ctx: Context,
  accountId: string,
  action: 'recordBounce' | 'receiveBounce',
  results: BounceClassification[],
  receivedAt: Date,
  target: BounceTarget,
): Promise<BounceEvent[]> {
  const send = 'send' in target ? target.send : null;
  // sendOfReturnPath already keeps to the account; a second check where the rows are written.
  if (send && send.accountId !== accountId) throw new Error('a bounce cannot be stored for another account');
  const operationId = send ? send.operationId : (target as { operationId: string | null }).operationId;
  const stored = await retryTransaction(() =>
    mutate(ctx, async ({ em, audit }) => {
      await lockAccountForContactWrite(em, accountId);
      const emails = [...new Set(results.map((r) => r.recipient).filter((e): e is string => !!e))];
      const contacts = send
        ? await lockContactById(em, accountId, send.contactId)
        : await lockContactsByEmail(em, accountId, emails);
      const byEmail = new Map<string, BouncedContact[]>();
      for (const c of contacts) byEmail.set(c.email, [...(byEmail.get(c.email) ?? []), c]);

      const rows: NewBounce[] = [];
      for (const r of results) {
        const matched = send ? contacts : (r.recipient && byEmail.get(r.recipient)) || [];
        const row = {
          recipient: clipOrNull(r.recipient, 320),
          received_at: receivedAt.toISOString(),
          status: clipOrNull(r.status, 20),
          reply_code: clipOrNull(r.replyCode, 10),
          reason: clip(storable(r.reason), 40),
          hard: r.hard,
          type: r.type,
          diagnostic: r.diagnostic === null ? null : storable(r.diagnostic),
          operation_id: operationId,
        };
        if (matched.length === 0) rows.push({ ...row, contact_id: null });
        for (const c of matched) rows.push({ ...row, contact_id: c.id });
      }
      const bounces = await insertBounces(em, accountId, rows);

      const withContact = bounces.filter((b) => b.contactId !== null);
      if (withContact.length) {
        const events = withContact.map((b) => ({
          contact_id: b.contactId,
          type: eventCode('BOUNCE'),
          occurred_at: b.receivedAt,
          operation_id: operationId,
          form_id: null,
          url: null,
        }));
        await insertEvents(em, accountId, JSON.stringify(events));
      }
      if (send) await markRecipientBounced(em, send, results);

      const changes: { id: string; email_status: EmailStatus; last_bounce_id: string | null }[] = [];
      const diff: Record<string, { from: unknown; to: unknown }> = {};
      for (const c of contacts) {
        const mine = withContact.filter((b) => b.contactId === c.id);
        if (mine.length === 0) continue;
        let status = c.email_status;
        for (const b of mine) status = nextStatus(status, b);
        // One receivedAt for the whole message, so its last row is its newest; against the bounce
        // the contact holds, an equal date goes to the one that arrived last.
        const newest = mine[mine.length - 1];
        const keepsOld =
          c.last_received_at !== null && new Date(c.last_received_at).getTime() > receivedAt.getTime();
        const lastBounceId = keepsOld ? c.last_bounce_id : newest.id;
        if (status === c.email_status && lastBounceId === c.last_bounce_id) continue;
        changes.push({ id: c.id, email_status: status as EmailStatus, last_bounce_id: lastBounceId });
        diff[`contact ${c.id}`] = {
          from: { emailStatus: c.email_status, lastBounceId: c.last_bounce_id },
          to: { emailStatus: status, lastBounceId },
        };
      }
      await updateContactBounceState(em, accountId, changes);
      audit({
        action,
        feature: 'CONTACTS',
        objectType: 'Bounce',
        objectId: bounces[0].id,
        accountId,
        diff: {
          bounces: { from: null, to: bounces.map((b) => b.id) },
          ...(operationId ? { operationId: { from: null, to: operationId } } : {}),
          ...diff,
        },
      });
      return bounces;
    }),
  );
  for (const b of stored) ctx.app.pubsub.publish('bounces', accountId, b);
  return stored;
}
