import { createHash } from 'node:crypto';
import type { AppServices } from '../../context.js';
import { startTicker } from '../../jobs/ticker.js';
import { SMTP_CONNECTIONS } from './mailer.js';

/**
 * The workers of the mail queue (migrations/Migration20261204220000_MailQueue.ts): a timer in
 * every process claims the due mails with FOR UPDATE SKIP LOCKED and a lease, hands them to SMTP
 * and records the outcome. The guarantee, as for sends and webhooks: no queued mail is lost (a
 * process killed holding some leaves them to another once the lease ends), and a mail is sent
 * twice only when its process died between the SMTP server's acceptance and the record; both
 * copies then carry the same Message-ID, derived from the row.
 */

/** Claimed per tick and process; sent over the transport's SMTP_CONNECTIONS connections. */
const BATCH = 20;
/** Waits after a temporary failure (a server down, a 4xx), then FAILED: about two days. */
const BACKOFF_S = [30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 24 * 3600];
const KEEP_SENT_DAYS = 7;
const PRUNE_EVERY_MS = 60_000;

interface Queued {
  id: string;
  account_id: string | null;
  to: string;
  subject: string;
  text: string;
  html: string | null;
  attempts: number;
}

/** The same for every attempt at one row, so that a copy sent twice is recognised as one. */
export function queuedMessageId(id: string): string {
  const tag = createHash('sha256').update(`mail_queue:${id}`).digest('hex').slice(0, 16);
  return `<mail.${id}.${tag}@cible.local>`;
}

/** A permanent refusal (5xx, the recipient or the message): retrying would change nothing. */
function permanent(err: unknown): boolean {
  const code = (err as { responseCode?: number }).responseCode ?? 0;
  return code >= 500 && code < 600;
}

/** What the SMTP server answered, or the error, for the row and the log. */
const answerOf = (err: unknown) => {
  const e = err as { response?: string; message?: string; code?: string };
  return (e.response ?? e.message ?? String(err)).slice(0, 500);
};

/** One tick: claims, sends and records a batch; returns how many it claimed. */
export async function deliverQueuedMail(app: AppServices): Promise<number> {
  const deliver = app.mailer.deliver;
  if (!deliver) return 0;
  const pool = app.jobs.pool;
  const { rows } = await pool.query<Queued>(
    `update mail_queue q set lease_until = now() + make_interval(secs => $2::float8 / 1000), attempts = q.attempts + 1
       from (select id from mail_queue where status = 'PENDING' and next_attempt_at <= now()
               and (lease_until is null or lease_until < now()) order by next_attempt_at limit $1
               for update skip locked) c
      where q.id = c.id
      returning q.id::text, q.account_id, q."to", q.subject, q.text, q.html, q.attempts`,
    [BATCH, app.config.mail.leaseMs],
  );
  const one = async (m: Queued) => {
    let error: unknown = null;
    try {
      await deliver(
        { accountId: m.account_id, to: m.to, subject: m.subject, text: m.text, html: m.html ?? undefined },
        queuedMessageId(m.id),
      );
    } catch (err) {
      error = err;
    }
    // Recorded apart from the send: a database error here is not the mail's failure (the lease
    // runs out and the mail goes again, the one repeat the guarantee allows).
    if (error === null) {
      await pool.query(
        `update mail_queue set status = 'SENT', sent_at = now(), lease_until = null, last_error = null where id = $1`,
        [m.id],
      );
      return;
    }
    const final = permanent(error) || m.attempts > BACKOFF_S.length;
    const wait = BACKOFF_S[Math.min(m.attempts, BACKOFF_S.length) - 1];
    await pool.query(
      `update mail_queue set status = $2, lease_until = null, last_error = $3,
              next_attempt_at = now() + make_interval(secs => $4) where id = $1`,
      [m.id, final ? 'FAILED' : 'PENDING', answerOf(error), final ? 0 : wait],
    );
    app.logger.warn(`mail ${m.id} to ${m.to}: ${final ? 'failed' : 'will be retried'}: ${answerOf(error)}`);
  };
  // As many at once as the transport keeps connections; each is recorded as soon as it is sent.
  let next = 0;
  const lane = async () => {
    while (next < rows.length) await one(rows[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(SMTP_CONNECTIONS, rows.length) }, lane));
  return rows.length;
}

let lastPrune = 0;

async function tick(app: AppServices): Promise<void> {
  while ((await deliverQueuedMail(app)) === BATCH) {}
  if (Date.now() - lastPrune > PRUNE_EVERY_MS) {
    lastPrune = Date.now();
    await app.jobs.pool.query(
      `delete from mail_queue where id in (select id from mail_queue where status = 'SENT'
         and sent_at < now() - make_interval(days => $1) limit 10000 for update skip locked)`,
      [KEEP_SENT_DAYS],
    );
  }
}

/** Starts the queue's timer when SMTP_URL is set (stopped by the function returned). */
export function startMailQueue(app: AppServices): () => Promise<void> {
  if (!app.mailer.deliver) return async () => {};
  return startTicker(
    () => tick(app),
    app.config.mail.dispatchMs,
    (err) => app.logger.warn(`mail queue: ${err.message}`),
  );
}
