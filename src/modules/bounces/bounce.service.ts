import type { WorkerSettings } from '../../config.js';
import type { AuthedContext } from '../../context.js';
import { batched } from '../../shared/batch.js';
import { badInput } from '../../shared/errors.js';
import { isRowId } from '../../shared/ids.js';
import { decodeCursor, type Page, pageSize, toPage } from '../../shared/pagination.js';
import type { ClassifyReply } from '../../workers/classify.worker.js';
import { CallTimedOut, WorkerDied } from '../../workers/pool.js';
import { poolFor } from '../../workers/workers.js';
import { trackingKey } from '../events/tracking.token.js';
import { sendOfReturnPath } from './bounce.match.js';
import { type BounceEvent, bouncesByIds, bouncesOfContacts } from './bounce.repository.js';
import { storeBounce } from './bounce.store.js';
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

/** The failures a message reports (an out-of-office reply or a delivery notice reports none). */
export async function failuresIn(message: string, settings: WorkerSettings): Promise<BounceClassification[]> {
  return (await classifyMessage(message, settings)).filter((r) => !NOT_A_FAILURE.has(r.reason));
}

/**
 * Records a raw bounce in the viewer's account (bounce.store.ts). The send it returns is found
 * first by its return path (VERP, bounce.verp.ts: the exact operation and contact, signed, of this
 * account only), else contacts are matched by address and the operation by X-Cible-Operation.
 */
export async function recordBounce(
  ctx: AuthedContext,
  input: { message: string; receivedAt?: Date | null },
): Promise<BounceEvent[]> {
  const receivedAt = input.receivedAt ?? new Date();
  if (receivedAt.getTime() > Date.now() + 5 * 60_000)
    throw badInput('receivedAt is in the future', { field: 'receivedAt' });
  const results = await failuresIn(input.message, ctx.app.config);
  // Understood, but nothing failed: there is no bounce to keep.
  if (results.length === 0) return [];
  const accountId = ctx.viewer.accountId;
  const key = await trackingKey(ctx.app.config, ctx.app.logger.warn);
  const send = await sendOfReturnPath(ctx.em, key, [input.message], accountId);
  const target = send ? { send } : { operationId: await operationNamed(ctx, input.message) };
  return storeBounce(ctx, accountId, 'recordBounce', results, receivedAt, target);
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
