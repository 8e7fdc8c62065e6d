import type { Agenda } from 'agenda';
import { GraphQLError } from 'graphql';
import type { AppServices } from '../../context.js';
import type { AuditEntryEvent } from '../audit/audit.service.js';
import { ormExec, reserveCredits } from '../credits/credit.service.js';
import { creditKindOf, perRecipientOf } from '../operations/operation.credits.js';
import { markFailed, markSending, markSent } from '../operations/operation.engine.js';
import type { OperationContent, OperationKind } from '../operations/operation.entity.js';
import { findOperation } from '../operations/operation.repository.js';
import { remaining } from './sending.claims.js';
import { freezeAudience } from './sending.freeze.js';
import { sendSlice, WORKER_LOCK_MS } from './sending.worker.js';

export const DISPATCH_JOB = 'sending:dispatch';
export const WORKER_JOB = 'sending:worker';
/** A scheduled operation this late (no process ran at its time) is not started on its own. */
export const DEFAULT_LATE_CUTOFF_HOURS = 6;

interface WorkerData {
  operationId: string;
  slot: number;
}

const publish = (app: AppServices, entries: AuditEntryEvent[]) => {
  for (const e of entries) app.pubsub.publish('audit', e.accountId, e);
};

/**
 * Starts a due SCHEDULED operation, in one transaction under its row lock: too late (past the
 * account's lateSendCutoffHours) goes to FAILED with the reason; otherwise markSending checks that
 * the content is the validated one (FAILED on a mismatch) and the audience is frozen. Two
 * dispatchers cannot both start it: the second finds it SENDING under the lock.
 */
export async function startSend(app: AppServices, accountId: string, id: string): Promise<boolean> {
  const entries: AuditEntryEvent[] = [];
  const started = await app.orm.em
    .fork()
    .transactional(async (em) => {
      const op = await findOperation(em, accountId, id, true);
      if (op.status !== 'SCHEDULED' || !op.scheduledAt) return false;
      const [row] = await em.execute<{ h: number | null }[]>(
        `select (settings->>'lateSendCutoffHours')::int as h from account where id = ?`,
        [accountId],
      );
      const cutoffHours = row?.h ?? DEFAULT_LATE_CUTOFF_HOURS;
      const lateBy = Date.now() - new Date(op.scheduledAt).getTime();
      if (lateBy > cutoffHours * 3_600_000) {
        const reason = `late: scheduled for ${new Date(op.scheduledAt).toISOString()}, more than ${cutoffHours} hours ago while no server was running; schedule it again`;
        entries.push(...(await markFailed(em, accountId, id, reason)).entries);
        return false;
      }
      const step = await markSending(em, accountId, id);
      entries.push(...step.entries);
      if (!step.ok) return false;
      // A trigger starts with nobody: score runs add its recipients as they cross (triggers/).
      const frozen = await freezeAudience(
        em,
        step.operation,
        step.operation.audience.trigger ? 'arm' : 'all',
      );
      // The reservation made at schedule, resized to the recipients really frozen: a shortfall
      // (the audience grew past the credits) rolls the start back and fails it below.
      try {
        await reserveCredits(ormExec(em), {
          accountId,
          operationId: id,
          kind: creditKindOf(step.operation.kind),
          recipients: frozen.recipients,
          perRecipient: perRecipientOf(step.operation),
        });
      } catch (err) {
        // failureReason is read at EMAILINGS/SMS >= GUEST: it says what the send needs, not
        // the balance (invoice data, INVOICES >= GUEST: issue 16).
        if (err instanceof GraphQLError && err.extensions.reason === 'INSUFFICIENT_CREDITS')
          throw new ShortOfCredits(
            `Not enough ${err.extensions.kind} credits: this send needs ${err.extensions.needed} (its audience grew since it was scheduled); buy credits, then schedule it again`,
          );
        throw err;
      }
      app.logger.info('send started', { operationId: id, ...frozen });
      return true;
    })
    .catch(async (err) => {
      if (!(err instanceof ShortOfCredits)) throw err;
      await app.orm.em.fork().transactional(async (em) => {
        entries.push(...(await markFailed(em, accountId, id, err.message)).entries);
      });
      return false;
    });
  publish(app, entries);
  return started;
}

/** The frozen audience needs more credits than the account has: the send fails, saying so. */
class ShortOfCredits extends Error {}

/** SENDING -> SENT once nothing is left to try (checked again under the row lock). */
async function finish(app: AppServices, accountId: string, id: string): Promise<void> {
  const entries: AuditEntryEvent[] = [];
  await app.orm.em.fork().transactional(async (em) => {
    const op = await findOperation(em, accountId, id, true);
    // A trigger never ends on its own: it keeps sending to whoever crosses, until cancelled.
    if (op.status !== 'SENDING' || op.audience.trigger) return;
    if ((await remaining(app.jobs.pool, id)).left > 0) return;
    entries.push(...(await markSent(em, accountId, id)).entries);
  });
  publish(app, entries);
}

/** Wakes the operation's worker jobs (one per slot), wherever Agenda runs them. */
export async function kickWorkers(app: AppServices, operationId: string): Promise<void> {
  for (let slot = 0; slot < app.config.sendWorkers; slot++)
    await app.jobs.agenda
      .create<WorkerData>(WORKER_JOB, { operationId, slot })
      .unique({ 'data.operationId': operationId, 'data.slot': slot })
      .schedule(new Date())
      .save();
}

/**
 * One dispatcher tick (every SEND_DISPATCH_SECONDS, on one process at a time): start the due
 * operations, wake the workers of every send with recipients due (after a resume, a crash, or
 * retries coming due), finish sends with nothing left, and mark what a cancel left as CANCELLED.
 * Everything it acts on is read from the tables, written in the changes' own transactions: a
 * schedule, a resume or a crash needs no message that could be lost.
 */
export async function dispatch(app: AppServices): Promise<void> {
  const pool = app.jobs.pool;
  const due = await pool.query<{ id: string; account_id: string }>(
    `select id, account_id from operation where status = 'SCHEDULED' and scheduled_at <= now()
      order by scheduled_at limit 20`,
  );
  for (const op of due.rows) {
    try {
      if (await startSend(app, op.account_id, op.id)) await kickWorkers(app, op.id);
    } catch (err) {
      app.logger.error('starting a send failed', { operationId: op.id, error: (err as Error).message });
    }
  }
  const sending = await pool.query<{ id: string; account_id: string; due: boolean; left: boolean }>(
    `select o.id, o.account_id,
            exists (select 1 from operation_recipient r where r.operation_id = o.id
                      and r.status in ('PENDING', 'DEFERRED', 'CLAIMED') and r.due_at <= now()) as due,
            exists (select 1 from operation_recipient r where r.operation_id = o.id
                      and r.status in ('PENDING', 'DEFERRED', 'CLAIMED')) as left
       from operation o where o.status = 'SENDING'`,
  );
  for (const op of sending.rows) {
    if (op.due) await kickWorkers(app, op.id);
    else if (!op.left) await finish(app, op.account_id, op.id);
  }
  await pool.query(
    `update operation_recipient r set status = 'CANCELLED', due_at = null
      where r.operation_id in (select id from operation where status = 'CANCELLED' and updated_at > now() - interval '2 days')
        and r.status in ('PENDING', 'DEFERRED')`,
  );
}

export async function defineSendingJobs(agenda: Agenda, app: AppServices): Promise<void> {
  // A tick takes well under a second; a process that dies holding it frees it within 30 s.
  agenda.define(DISPATCH_JOB, () => dispatch(app), { concurrency: 1, lockLifetime: 30_000 });
  // A slice that ends with more to send reschedules its job for now, but Agenda saves that after
  // the run without the notification a saved job gets, so the job waited for the next poll
  // (processEvery, 3 s): about 2 s lost after every 10 s slice (bench/sending.ts). Announced once
  // unlocked, it is taken at once by whichever process has its send slot free. Our own jobs only
  // (remote completions are re-emitted here too); without a notification channel this does nothing.
  agenda.on(`complete:${WORKER_JOB}`, (job, remote) => {
    const at = remote ? null : job.attrs.nextRunAt;
    if (at && at.getTime() <= Date.now())
      agenda
        .publishJobNotification(job)
        .catch((err: Error) => app.logger.debug(`worker notify: ${err.message}`));
  });
  agenda.define<WorkerData>(
    WORKER_JOB,
    async (job) => {
      const { operationId, slot } = job.attrs.data;
      const { rows } = await app.jobs.pool.query<{
        account_id: string;
        kind: OperationKind;
        content: OperationContent;
        status: string;
      }>('select account_id, kind, content, status from operation where id = $1', [operationId]);
      const op = rows[0];
      if (op?.status !== 'SENDING') return;
      const end = await sendSlice(
        app,
        { id: operationId, accountId: op.account_id, kind: op.kind, content: op.content },
        slot,
        () => job.touch(),
      );
      if (end.kind === 'done') await finish(app, op.account_id, operationId);
      else if (end.kind === 'later') job.schedule(end.at);
      else if (end.kind === 'more') job.schedule(new Date());
    },
    // One worker job at a time per process, so the SEND_WORKERS slots of a send spread over the
    // processes (parallelism inside a process is SEND_CONCURRENCY). concurrency alone is not
    // enough: Agenda still locks every due job into its local queue, so the first process to
    // poll held all the slots and ran them one after another (a CI run sent 0 + 1000);
    // lockLimit 1 leaves the other slots to the other processes. Touched every few seconds
    // while it sends: a process that dies frees its job within 20 s.
    // SEND_PROCESS_SLOTS > 1 lets one process overlap several slots (one claims and records while
    // another sends), at the price of holding that many of a send's slots.
    {
      concurrency: app.config.sendProcessSlots,
      lockLimit: app.config.sendProcessSlots,
      lockLifetime: WORKER_LOCK_MS,
    },
  );
}

/** After Agenda started: the recurring dispatcher (one job, whatever the number of processes). */
export async function scheduleDispatch(agenda: Agenda, app: AppServices): Promise<void> {
  await agenda.every(app.config.sendDispatchSeconds * 1000, DISPATCH_JOB);
}
