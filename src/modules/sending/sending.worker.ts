import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { AppServices } from '../../context.js';
import { classifyMessage } from '../bounces/bounce.service.js';
import type { BounceClassification } from '../bounces/classifier/types.js';
import { trackingKey } from '../events/tracking.token.js';
import { lowBalanceNotifier } from '../invoices/invoice.low-balance.js';
import type { MergeData } from '../messaging/template.js';
import type { OperationContent, OperationKind } from '../operations/operation.entity.js';
import {
  compileOperationMessage,
  type RenderedEmail,
  type RenderedMessage,
} from '../operations/operation.preview.js';
import type { EmailResult } from '../transport/email.js';
import { SmsGatewayError, type SmsTransport } from '../transport/sms.js';
import { transportsFor } from '../transport/transports.js';
import {
  type Claimed,
  claimBatch,
  MAX_ATTEMPTS,
  mergeDataOfMany,
  type Outcome,
  recordOutcomes,
  remaining,
} from './sending.claims.js';
import { operationMailer } from './sending.message.js';
import { processPacer, refundAllowance, takeAllowance } from './sending.rate.js';

/** One worker job's run ends after this long, so a shutdown or a pause never waits on a long loop. */
export const SLICE_MS = 10_000;
/** The worker job's Agenda lock lifetime, and how often it is renewed while the job runs. */
export const WORKER_LOCK_MS = 20_000;
const TOUCH_MS = 5_000;

export interface SendingOperation {
  id: string;
  accountId: string;
  kind: OperationKind;
  content: OperationContent;
}

export type SliceEnd =
  | { kind: 'done' }
  | { kind: 'later'; at: Date }
  | { kind: 'more' }
  | { kind: 'stopped' };

/**
 * Sends for one operation until nothing is due, the slice is over, or the operation stops being
 * SENDING: claim a batch (committed), render and hand each message to the transport (sendConcurrency
 * at once), record the batch's outcomes (one transaction). A crash between the claim and the
 * record leaves the batch CLAIMED: its lease ends and another worker sends it again. That is the
 * one source of duplicates, bounded by the batches in flight, each message with the same
 * Message-ID as its first copy.
 */
export async function sendSlice(
  app: AppServices,
  op: SendingOperation,
  slot: number,
  touch: () => Promise<unknown>,
): Promise<SliceEnd> {
  const { config } = app;
  const pool = app.jobs.pool;
  const workerId = `${os.hostname()}:${process.pid}:${slot}:${randomUUID().slice(0, 8)}`;
  const render = compileOperationMessage(op.kind, op.content);
  const transports = transportsFor(config);
  const key = await trackingKey(config, app.logger.warn);
  const mail = operationMailer(app, key, op, transports.email);
  const lowBalance = lowBalanceNotifier(app);
  const started = Date.now();
  // Keeps the job's Agenda lock alive while messages go out (at most every TOUCH_MS), so a dead
  // process's jobs are free again within WORKER_LOCK_MS, not after a whole slow batch.
  let touched = Date.now();
  const keepAlive = async () => {
    if (Date.now() - touched < TOUCH_MS) return;
    touched = Date.now();
    await touch();
  };
  while (Date.now() - started < SLICE_MS) {
    // The account's rate sizes the claim: nothing is claimed that may not go out now. With none
    // left, the job comes back later and the process runs other sends meanwhile.
    const allowance = await takeAllowance(pool, op.accountId, claimSize(config));
    if (allowance.granted === 0) return { kind: 'later', at: new Date(Date.now() + allowance.waitMs) };
    const batch = await claimBatch(pool, op.id, workerId, allowance.granted, config.sendLeaseSeconds);
    if (allowance.ratePerMinute !== null)
      await refundAllowance(pool, op.accountId, allowance.ratePerMinute, allowance.granted - batch.length);
    if (batch.length === 0) {
      // Paused or cancelled: stop; resume wakes the workers again (the dispatcher).
      const { rows } = await pool.query<{ status: string }>('select status from operation where id = $1', [
        op.id,
      ]);
      if (rows[0]?.status !== 'SENDING') return { kind: 'stopped' };
      const { left, nextDue } = await remaining(pool, op.id);
      if (left === 0) return { kind: 'done' };
      // Deferred retries or another worker's claims: come back when the first is due.
      return nextDue ? { kind: 'later', at: nextDue } : { kind: 'stopped' };
    }
    const data = await mergeDataOfMany(
      pool,
      op.accountId,
      batch.map((b) => b.contactId),
    );
    const outcomes = await inParallel(batch, config.sendConcurrency, (r) =>
      deliver(app, op, render, data.get(r.contactId), r, mail, transports.sms).finally(keepAlive),
    );
    const counts = await recordOutcomes(pool, op, outcomes, config.sendRetrySeconds, lowBalance);
    // Committed: subscribers hear of the bounces now, as recordBounce publishes its own.
    for (const b of counts.bounces ?? []) app.pubsub.publish('bounces', op.accountId, b);
    if (counts.uncharged)
      app.logger.warn('sent beyond the credits: the balance stopped at zero', {
        operationId: op.id,
        uncharged: counts.uncharged,
      });
    await keepAlive();
  }
  return { kind: 'more' };
}

/**
 * SEND_BATCH_SIZE, or less under SEND_RATE_PER_SECOND: a batch paced at that rate must end well
 * within its lease (a quarter of it), or another worker would take its claims over and send them
 * twice.
 */
const claimSize = (config: AppServices['config']) =>
  config.sendRatePerSecond > 0
    ? Math.min(
        config.sendBatchSize,
        Math.max(1, Math.floor((config.sendRatePerSecond * config.sendLeaseSeconds) / 4)),
      )
    : config.sendBatchSize;

async function deliver(
  app: AppServices,
  op: SendingOperation,
  render: (data: MergeData) => RenderedMessage,
  data: MergeData | undefined,
  r: Claimed,
  mail: (m: RenderedEmail, r: Claimed) => Promise<EmailResult>,
  sms: SmsTransport,
): Promise<Outcome> {
  if (!data) return { contactId: r.contactId, kind: 'gone' };
  let message: RenderedMessage;
  try {
    message = render(data);
  } catch (err) {
    // A template that renders for nobody fails at preview already; one contact's data that
    // breaks a limit fails this recipient only, as a permanent refusal (retrying changes nothing).
    return { contactId: r.contactId, kind: 'rejected', error: `render: ${(err as Error).message}` };
  }
  try {
    await processPacer(app.config)?.take();
    if (message.kind === 'EMAILING') {
      const sent = await mail(message.email, r);
      if (!sent.rejected.length) return { contactId: r.contactId, kind: 'sent' };
      return {
        contactId: r.contactId,
        kind: 'rejected',
        error: sent.response.slice(0, 1000),
        bounce: await classifyReply(app, sent.response, r.address),
      };
    }
    // The SMS outbox writes through an EntityManager of its own; the SMTP path needs none.
    await sms.send(app.orm.em.fork(), {
      accountId: op.accountId,
      from: message.sms.senderId,
      to: r.address,
      text: message.sms.text,
      messageId: `${op.id}.${r.contactId}`,
      kind: 'OPERATION',
    });
    return { contactId: r.contactId, kind: 'sent', parts: message.sms.parts };
  } catch (err) {
    const e = err as Error & { responseCode?: number; response?: string };
    // A gateway's 4xx other than 429 is about this message: retrying would not help.
    if (err instanceof SmsGatewayError && err.status >= 400 && err.status < 500 && err.status !== 429)
      return { contactId: r.contactId, kind: 'rejected', error: e.message };
    if ((e.responseCode ?? 0) >= 500 && (e.responseCode ?? 0) < 600)
      return { contactId: r.contactId, kind: 'rejected', error: e.message.slice(0, 1000) };
    app.logger.debug('send deferred', { operationId: op.id, error: e.message });
    return {
      contactId: r.contactId,
      kind: 'deferred',
      error: e.message.slice(0, 1000),
      attempts: r.attempts,
      // The last attempt: recorded as a bounce of its own kind, not only as the recipient's status.
      bounce:
        r.attempts >= MAX_ATTEMPTS
          ? await exhausted(app, (e.response || e.message).slice(0, 1000), r.address)
          : undefined,
    };
  }
}

/**
 * The RCPT refusal read by the bounce classifier (as recordBounce reads a bare SMTP reply), so a
 * refusal at send time and a DSN received later are recorded alike. Null when it cannot say
 * (busy worker pool, or not understood): the recipient still fails, without a bounce row.
 */
async function classifyReply(app: AppServices, reply: string, address: string) {
  try {
    const results = await classifyMessage(reply.includes('@') ? reply : `${reply} <${address}>`, app.config);
    return results.find((x) => x.reason !== 'delivered' && x.reason !== 'vacation') ?? null;
  } catch (err) {
    app.logger.debug('RCPT reply not classified', { error: (err as Error).message });
    return null;
  }
}

/**
 * The bounce of a recipient whose attempts all met a temporary failure: type MAX_ATTEMPTS_REACHED
 * (our own retries are over, which the classifier never says), read from the server's last reply
 * (its codes, and its reason when specific: mailboxfull, toomanyconn...), else reason expired
 * (Sisimai's word for "the retries ran out"). Soft: three 4xx say nothing final about the address.
 */
const VAGUE = new Set(['undefined', 'onhold']);

async function exhausted(app: AppServices, error: string, address: string): Promise<BounceClassification> {
  const said = await classifyReply(app, error, address);
  return {
    recipient: address,
    status: said?.status ?? null,
    replyCode: said?.replyCode ?? null,
    // Vague words (onhold, undefined) say less than "the retries ran out".
    reason: said && !VAGUE.has(said.reason) ? said.reason : 'expired',
    hard: false,
    type: 'MAX_ATTEMPTS_REACHED',
    diagnostic: error,
  };
}

/** Maps with at most `limit` calls in flight; results in input order. */
async function inParallel<T, R>(items: T[], limit: number, f: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]);
    }
  });
  await Promise.all(lanes);
  return out;
}
