import type { WorkerSettings } from '../../config.js';
import type { AuthedContext } from '../../context.js';
import { batched } from '../../shared/batch.js';
import { badInput } from '../../shared/errors.js';
import { isRowId } from '../../shared/ids.js';
import { decodeCursor, type Page, pageSize, toPage } from '../../shared/pagination.js';
import { clip, storable } from '../../shared/text.js';
import type { ClassifyReply } from '../../workers/classify.worker.js';
import { CallTimedOut, WorkerDied } from '../../workers/pool.js';
import { poolFor } from '../../workers/workers.js';
import type { EmailStatus } from '../contacts/contact.entity.js';
import { contactWrite } from '../contacts/contact.locks.js';
import { eventCode } from '../events/event.entity.js';
import { insertEvents } from '../events/event.service.js';
import {
  type BouncedContact,
  type BounceEvent,
  bouncesByIds,
  bouncesOfContacts,
  insertBounces,
  lockContactsByEmail,
  type NewBounce,
  updateContactBounceState,
} from './bounce.repository.js';
import type { BounceClassification } from './classifier/classify.js';

/** A raw bounce is a few KB; 1 MiB leaves room for a returned message and bounds parsing time. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;
/** A message naming more failed recipients than this is not a bounce we can trust. */

/** Results that say the message reached the mailbox: an out-of-office reply, a delivery notice. */
const NOT_A_FAILURE = new Set(['vacation', 'delivered']);

/**
 * Classifies without writing; BAD_USER_INPUT when the input is too big, is not a bounce or takes
 * longer than CPU_CALL_TIMEOUT_MS to classify; RATE_LIMITED when every worker is busy and the
 * queue is full. The classifier runs in a worker thread (src/workers/): a crafted message can
 * take seconds, and the event loop must keep answering everyone else meanwhile.
 */
export async function classifyMessage(
  message: string,
  settings: WorkerSettings,
): Promise<BounceClassification[]> {
  if (Buffer.byteLength(message, 'utf8') > MAX_MESSAGE_BYTES)
    throw badInput(`message is larger than 1 MiB`, { field: 'message' });
  let reply: ClassifyReply;
  try {
    reply = await poolFor('classify', settings).run<ClassifyReply>(message);
  } catch (err) {
    // The input's fault, not the server's: the same message would overrun again.
    if (err instanceof CallTimedOut || (err instanceof WorkerDied && err.outOfMemory))
      throw badInput('message is too costly to classify', { field: 'message' });
    throw err;
  }
  if ('tooManyRecipients' in reply) throw badInput(reply.tooManyRecipients, { field: 'message' });
  const results = reply.results;
  if (results.length === 0)
    throw badInput('message is neither a bounce (DSN, ARF report, MTA notice) nor an SMTP reply', {
      field: 'message',
    });
  return results;
}

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

/** `clip` of a column that may be null (shared/text.ts: never half a surrogate pair). */
/** What the classifier decoded, cut to its column and storable (no NUL, no lone surrogate). */
const clipOrNull = (s: string | null, n: number) => (s === null ? null : clip(storable(s), n));

/**
 * Records a raw bounce: one row per (recipient, matching contact), or with no contact when none
 * matches so the history keeps it; a BOUNCE event, the email status and the last bounce for each
 * matched contact. The last bounce only moves to a message received later than the one it holds.
 * One transaction with its history entry; subscribers hear of it after the commit.
 */
export async function recordBounce(
  ctx: AuthedContext,
  input: { message: string; receivedAt?: Date | null },
): Promise<BounceEvent[]> {
  const receivedAt = input.receivedAt ?? new Date();
  if (receivedAt.getTime() > Date.now() + 5 * 60_000)
    throw badInput('receivedAt is in the future', { field: 'receivedAt' });
  const results = (await classifyMessage(input.message, ctx.app.config)).filter(
    (r) => !NOT_A_FAILURE.has(r.reason),
  );
  // Understood, but nothing failed: there is no bounce to keep.
  if (results.length === 0) return [];
  const accountId = ctx.viewer.accountId;
  const operationId = await operationNamed(ctx, input.message);

  // The lock order of every contact write (contact.locks.ts): the account, then the contacts in
  // id order (lockContactsByEmail); rerun on a deadlock. Published only once committed.
  const stored = await contactWrite(ctx, async ({ em, audit }) => {
    const emails = [...new Set(results.map((r) => r.recipient).filter((e): e is string => !!e))];
    const contacts = await lockContactsByEmail(em, accountId, emails);
    const byEmail = new Map<string, BouncedContact[]>();
    for (const c of contacts) byEmail.set(c.email, [...(byEmail.get(c.email) ?? []), c]);

    const rows: NewBounce[] = [];
    for (const r of results) {
      const matched = (r.recipient && byEmail.get(r.recipient)) || [];
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
      action: 'recordBounce',
      feature: 'CONTACTS',
      objectType: 'Bounce',
      objectId: bounces[0].id,
      diff: { bounces: { from: null, to: bounces.map((b) => b.id) }, ...diff },
    });
    return bounces;
  });
  for (const b of stored) ctx.app.pubsub.publish('bounces', accountId, b);
  return stored;
}

/**
 * The operation a bounce returns: our messages carry `X-Cible-Operation`, and DSNs and ARF
 * complaints usually include the original headers. Kept only when it is one of the account's
 * operations, so another account's id (or a forged one) never counts for anything.
 */
async function operationNamed(ctx: AuthedContext, message: string): Promise<string | null> {
  const m =
    /^X-Cible-Operation:[ \t]*([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\s*$/im.exec(
      message,
    );
  if (!m) return null;
  const rows = await ctx.em.execute<{ id: string }[]>(
    'select id from operation where account_id = ? and id = ?',
    [ctx.viewer.accountId, m[1].toLowerCase()],
  );
  return rows[0]?.id ?? null;
}

/** A contact's last bounce, batched over every contact resolved by the operation. */
export async function lastBounceOf(
  ctx: AuthedContext,
  lastBounceId: string | null,
): Promise<BounceEvent | null> {
  if (!lastBounceId) return null;
  const accountId = ctx.viewer.accountId;
  const found = await batched(ctx.em, 'bounces.last', lastBounceId, (ids) =>
    bouncesByIds(ctx.em, accountId, ids),
  );
  return found ?? null;
}

/** A page of a contact's bounces, newest first; contacts asking for the same page share one query. */
export async function bouncesOf(
  ctx: AuthedContext,
  contactId: string,
  first: number | null | undefined,
  after: string | null | undefined,
): Promise<Page<BounceEvent>> {
  const size = pageSize(first);
  const afterId = decodeCursor(after);
  if (afterId !== null && !isRowId(afterId)) throw badInput('after: not a cursor returned by this API');
  const accountId = ctx.viewer.accountId;
  const rows = await batched(ctx.em, `bounces.page:${size}:${afterId ?? ''}`, contactId, (ids) =>
    bouncesOfContacts(ctx.em, accountId, ids, size + 1, afterId),
  );
  return toPage(rows ?? [], size, (b) => b.id);
}
