import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AppServices } from '../../context.js';
import { startTicker } from '../../jobs/ticker.js';
import { SMTP_CONNECTIONS } from './mailer.js';

/**
 * The workers of the mail queue (migrations/Migration20261204220000_MailQueue.ts): a timer in
 * every process claims the due mails with FOR UPDATE SKIP LOCKED and a lease, hands them to SMTP
 * and records the outcome. The guarantee, as for sends and webhooks: no queued mail is lost (a
 * process killed holding some leaves them to another once the lease ends), and a mail is sent
 * twice only when its process died between the SMTP server's acceptance and the record, or when
 * the server accepted it after half the lease, when it was already counted as failed (and is
 * retried after the back-off); both copies then carry the same Message-ID, derived from the row.
 */

/** Claimed per tick and process; sent over the transport's SMTP_CONNECTIONS connections. */
const BATCH = 20;
/** Waits after a temporary failure (a server down, a 4xx), then FAILED: about two days. */
const BACKOFF_S = [30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 24 * 3600];
const KEEP_SENT_DAYS = 7;
const KEEP_FAILED_DAYS = 30;
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

/**
 * A refusal of this mail for good: a 5xx to its recipient or its content (RCPT TO, DATA), not a
 * sending quota. A 5xx to the login, the greeting or MAIL FROM is the account's or the server's
 * set-up (a rotated password, a blocked address), which someone fixes: retried like a 4xx.
 */
function permanent(err: unknown): boolean {
  // nodemailer names the command that failed (its EENVELOPE code covers MAIL FROM too).
  const e = err as { responseCode?: number; command?: string; response?: string };
  const code = e.responseCode ?? 0;
  if (code < 500 || code >= 600) return false;
  return (e.command === 'RCPT TO' || e.command === 'DATA') && !/quota|limit|rate/i.test(e.response ?? '');
}

/** What the SMTP server answered, or the error, for the row and the log. */
const answerOf = (err: unknown) => {
  const e = err as { response?: string; message?: string };
  return (e.response ?? e.message ?? String(err)).slice(0, 500);
};

/** A send that has not ended by `ms` is counted as failed (and the next claim may take it). */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from the SMTP server within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/**
 * One tick's batch: claims, sends and records; returns how many it claimed. Every record names
 * the claim (the row's attempts, which the next claim increments), so a worker whose lease ran
 * out never overwrites what the one that took the mail over wrote. A send starts only in the
 * first half of the lease and ends within the other half; what is left then is released.
 */
export async function deliverQueuedMail(
  app: AppServices,
  stopping: () => boolean = () => false,
): Promise<number> {
  const deliver = app.mailer.deliver;
  if (!deliver) return 0;
  const pool = app.jobs.pool;
  const leaseMs = app.config.mail.leaseMs;
  const started = performance.now();
  const { rows } = await pool.query<Queued>(
    `update mail_queue q set lease_until = now() + make_interval(secs => $2::float8 / 1000), attempts = q.attempts + 1
       from (select id from mail_queue where status = 'PENDING' and next_attempt_at <= now()
               and (lease_until is null or lease_until < now()) order by next_attempt_at limit $1
               for update skip locked) c
      where q.id = c.id
      returning q.id::text, q.account_id, q."to", q.subject, q.text, q.html, q.attempts`,
    [BATCH, leaseMs],
  );
  const claimed = `id = $1 and attempts = $2 and status = 'PENDING'`;
  const one = async (m: Queued) => {
    let error: unknown = null;
    try {
      await within(
        deliver(
          { accountId: m.account_id, to: m.to, subject: m.subject, text: m.text, html: m.html ?? undefined },
          queuedMessageId(m.id),
        ),
        leaseMs / 2,
      );
    } catch (err) {
      error = err;
    }
    // Recorded apart from the send: a database error here is not the mail's failure (the lease
    // runs out and the mail goes again, the one repeat the guarantee allows).
    try {
      if (error === null) {
        await pool.query(
          `update mail_queue set status = 'SENT', sent_at = now(), lease_until = null, last_error = null where ${claimed}`,
          [m.id, m.attempts],
        );
        return;
      }
      const final = permanent(error) || m.attempts > BACKOFF_S.length;
      const wait = BACKOFF_S[Math.min(m.attempts, BACKOFF_S.length) - 1];
      await pool.query(
        `update mail_queue set status = $3, lease_until = null, last_error = $4,
                next_attempt_at = now() + make_interval(secs => $5) where ${claimed}`,
        [m.id, m.attempts, final ? 'FAILED' : 'PENDING', answerOf(error), final ? 0 : wait],
      );
      app.logger.warn(`mail ${m.id} to ${m.to}: ${final ? 'failed' : 'will be retried'}: ${answerOf(error)}`);
    } catch (err) {
      app.logger.warn(`mail ${m.id}: outcome not recorded (${(err as Error).message}); its lease will end`);
    }
  };
  // As many at once as the transport keeps connections; each is recorded as soon as it is sent.
  let next = 0;
  const inTime = () => !stopping() && performance.now() - started < leaseMs / 2;
  const lane = async () => {
    while (next < rows.length && inTime()) await one(rows[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(SMTP_CONNECTIONS, rows.length) }, lane));
  const left = rows.slice(next);
  if (left.length)
    await pool.query(
      `update mail_queue q set lease_until = null, attempts = q.attempts - 1
         from unnest($1::bigint[], $2::int[]) x(id, attempts)
        where q.id = x.id and q.attempts = x.attempts and q.status = 'PENDING'`,
      [left.map((m) => m.id), left.map((m) => m.attempts)],
    );
  return rows.length;
}

let lastPrune = 0;

async function tick(app: AppServices, stopping: () => boolean): Promise<void> {
  while (!stopping() && (await deliverQueuedMail(app, stopping)) === BATCH) {}
  if (Date.now() - lastPrune > PRUNE_EVERY_MS) {
    lastPrune = Date.now();
    // Sent mails after a week; failed ones after a month (the owner reads them in mailQueue).
    await app.jobs.pool.query(
      `delete from mail_queue where id in (select id from mail_queue
         where (status = 'SENT' and sent_at < now() - make_interval(days => $1))
            or (status = 'FAILED' and created_at < now() - make_interval(days => $2))
         limit 10000 for update skip locked)`,
      [KEEP_SENT_DAYS, KEEP_FAILED_DAYS],
    );
  }
}

/** Starts the queue's timer when SMTP_URL is set (stopped by the function returned). */
export function startMailQueue(app: AppServices): () => Promise<void> {
  if (!app.mailer.deliver) return async () => {};
  let stopped = false;
  const stop = startTicker(
    () => tick(app, () => stopped),
    app.config.mail.dispatchMs,
    (err) => app.logger.warn(`mail queue: ${err.message}`),
  );
  return async () => {
    // A running batch starts no new send and releases what it has not started.
    stopped = true;
    await stop();
  };
}

/**
 * Forgets the mails to deleted contacts (deleteContacts, with them locked), queued or kept in the
 * local outbox: a double opt-in confirmation not sent yet is not sent to someone erased, and the
 * address does not stay in either history.
 */
export async function forgetMailToContacts(em: EntityManager, accountId: string, contactIdsJson: string) {
  for (const table of ['mail_queue', 'outbox_message'])
    await em.execute(
      `delete from ${table} where account_id = ? and "to" in (select email from contact
          where account_id = ? and id in (select jsonb_array_elements_text(?::jsonb)::bigint) and email is not null)`,
      [accountId, accountId, contactIdsJson],
      'run',
    );
}
