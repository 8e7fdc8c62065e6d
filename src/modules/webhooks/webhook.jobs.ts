import type { Agenda } from 'agenda';
import type { AppServices } from '../../context.js';
import { startTicker } from '../../jobs/ticker.js';
import { webhookClock } from './webhook.clock.js';
import { deliverBatch } from './webhook.deliver.js';
import { createPoster, type Poster } from './webhook.http.js';

/** The repeating Agenda job the dispatcher was before it became a timer; removed at start. */
const OLD_DISPATCH_JOB = 'webhooks:dispatch';
export const DELIVER_JOB = 'webhooks:deliver';
/** A delivery job gives its slot back after this long, so many webhooks share a process fairly. */
const SLICE_MS = 10_000;
const PRUNE_EVERY_MS = 60_000;

interface DeliverData {
  webhookId: string;
}

const posters = new WeakMap<AppServices, Poster>();
/** The app's HTTP client for deliveries (keep-alive connections, the address check). */
export function webhookPoster(app: AppServices): Poster {
  let p = posters.get(app);
  if (!p) {
    p = createPoster({
      allowPrivate: app.config.webhooks.allowPrivate,
      timeoutMs: app.config.webhooks.timeoutMs,
    });
    posters.set(app, p);
  }
  return p;
}

export async function closeWebhookPoster(app: AppServices): Promise<void> {
  const p = posters.get(app);
  posters.delete(app);
  await p?.close();
}

/** Wakes a webhook's delivery job (one per webhook, whichever process runs it). */
async function kick(agenda: Agenda, webhookId: string): Promise<void> {
  await agenda
    .create<DeliverData>(DELIVER_JOB, { webhookId })
    .unique({ 'data.webhookId': webhookId })
    .schedule(new Date())
    .save();
}

let lastPrune = 0;

/**
 * One tick (every WEBHOOK_DISPATCH_MS, in each process): wake the job of every active
 * webhook with a delivery due (for an ordered one, its head), and now and then delete old
 * successful and filtered deliveries. Reads only the tables, which the changes' own transactions
 * wrote: nothing to lose between a commit and this tick.
 */
export async function dispatchWebhooks(app: AppServices): Promise<void> {
  const now = webhookClock.now();
  const { rows } = await app.jobs.pool.query<{ id: string }>(
    `select w.id from webhook w
      where w.status = 'ACTIVE' and case when w.ordered then
              (select d.next_attempt_at <= $1 and (d.lease_until is null or d.lease_until < $1)
                 from webhook_delivery d where d.webhook_id = w.id and d.status = 'PENDING' order by d.id limit 1)
            else exists (select 1 from webhook_delivery d where d.webhook_id = w.id and d.status = 'PENDING'
                   and d.next_attempt_at <= $1 and (d.lease_until is null or d.lease_until < $1)) end`,
    [now],
  );
  for (const r of rows) await kick(app.jobs.agenda, r.id);
  // On the webhooks' clock, like the schedule: a test moving it a month on sees the pruning.
  if (now.getTime() - lastPrune > PRUNE_EVERY_MS) {
    lastPrune = now.getTime();
    const cutoff = new Date(now.getTime() - app.config.webhooks.retentionDays * 86_400_000);
    await app.jobs.pool.query(
      // Every process prunes now that each ticks: skip locked, so two never queue on the same rows.
      `delete from webhook_delivery where id in (select id from webhook_delivery
        where status in ('SUCCEEDED', 'FILTERED') and created_at < $1 limit 10000 for update skip locked)`,
      [cutoff],
    );
  }
}

export function defineWebhookJobs(agenda: Agenda, app: AppServices): void {
  // As for the send workers (sending.jobs.ts): a run rescheduled for now by itself is announced
  // once unlocked, not left for Agenda's next poll.
  agenda.on(`complete:${DELIVER_JOB}`, (job, remote) => {
    const at = remote ? null : job.attrs.nextRunAt;
    if (at && at.getTime() <= Date.now())
      agenda
        .publishJobNotification(job)
        .catch((err: Error) => app.logger.debug(`webhook notify: ${err.message}`));
  });
  agenda.define<DeliverData>(
    DELIVER_JOB,
    async (job) => {
      const end = Date.now() + SLICE_MS;
      const p = webhookPoster(app);
      while (Date.now() < end) {
        const n = await deliverBatch(app, p, job.attrs.data.webhookId);
        if (!n) return;
        await job.touch();
      }
      job.schedule(new Date());
    },
    // A process runs up to WEBHOOK_CONCURRENCY webhooks at once, each in its own job: a slow
    // endpoint holds its own job only. The job's lock outlives a slice with room to spare; the
    // rows' leases (WEBHOOK_LEASE_SECONDS) guard them if it did not.
    {
      concurrency: app.config.webhooks.concurrency,
      lockLimit: app.config.webhooks.concurrency,
      lockLifetime: app.config.webhooks.leaseMs,
    },
  );
}

/**
 * Starts the dispatcher's timer; the function returned stops it (and waits for a running tick).
 * A timer in every process, not an Agenda `every` job: Agenda runs a repeating job only when it
 * polls (every 3 s here) whatever its interval, so deliveries waited up to 3 s. A tick only reads
 * the tables and upserts unique jobs: two processes ticking at once repeat a kick, nothing more.
 */
export async function startWebhookDispatch(agenda: Agenda, app: AppServices): Promise<() => Promise<void>> {
  await agenda.cancel({ name: OLD_DISPATCH_JOB });
  return startTicker(
    () => dispatchWebhooks(app),
    app.config.webhooks.dispatchMs,
    (err) => app.logger.warn(`webhook dispatch: ${err.message}`),
  );
}
