import type pg from 'pg';
import type { AppServices } from '../../context.js';
import { inPoolTransaction } from '../../db/pool-tx.js';
import { matchSql } from '../targeting/audience.js';
import { Params } from '../targeting/criterion.compile.js';
import type { Criterion } from '../targeting/criterion.js';
import { loadTargetEnv } from '../targeting/target-env.js';
import { webhookClock } from './webhook.clock.js';
import type { WebhookStatus } from './webhook.entity.js';
import type { Poster, PostResult } from './webhook.http.js';
import { notifyFailing } from './webhook.notify.js';
import { msgIdOf, signedHeaders } from './webhook.sign.js';

/**
 * One webhook's deliveries: claim a batch, post each, record the outcomes. Claims hold a lease
 * (lease_until) so two processes never post one row at the same time; a process that dies leaves
 * its lease to expire and the rows are taken again (at least once: the receiver recognises a
 * repeat by its `webhook-id`, the same at every attempt).
 *
 * Ordered webhooks (the default) post in id order, one at a time, and stop at the first failure:
 * nothing after it is posted until it succeeds or has used its schedule (FAILED, kept). The others
 * post a batch in parallel, each row with its own retries.
 */

/** After the n-th failed attempt, wait about BACKOFF_S[n - 1] seconds (±20% jitter). */
export const BACKOFF_S = [5, 300, 1800, 7200, 18_000, 36_000, 50_400, 72_000, 86_400];
/** The first attempt and one per back-off step; then FAILED. */
export const MAX_ATTEMPTS = BACKOFF_S.length + 1;
const BATCH = 100;
/** Outcomes recorded together. */
const FLUSH_EVERY = 10;
/**
 * The most a dead process leaves posted but not recorded, per ordered webhook: a chunk being
 * recorded and one filling. For an unordered one each chunk may also hold one post of each other
 * lane (those that finished while it waited): 2 * (FLUSH_EVERY + PARALLEL - 1).
 */
export const UNRECORDED_AT_MOST = 2 * FLUSH_EVERY;
const PARALLEL = 8;

export interface HookRow {
  id: string;
  account_id: string;
  name: string;
  url: string;
  status: WebhookStatus;
  ordered: boolean;
  filter: Criterion | null;
  secret: string;
  previous_secret: string | null;
  previous_secret_until: Date | null;
  failure_streak: number;
  failing_since: Date | null;
}

interface Claimed {
  id: string;
  event_type: string;
  payload: Record<string, unknown>;
  occurred_at: Date;
  attempts: number;
  last_attempt_at: Date | null;
}

/** The body of a delivery: the same bytes at every attempt (jsonb's key order is fixed). */
export const bodyOf = (d: Pick<Claimed, 'event_type' | 'payload' | 'occurred_at'>) =>
  JSON.stringify({ type: d.event_type, timestamp: new Date(d.occurred_at).toISOString(), data: d.payload });

export function backoffMs(failedAttempts: number, retryAfterS: number | null): number {
  if (retryAfterS !== null) return Math.min(Math.max(retryAfterS, 1), 86_400) * 1000;
  const base = BACKOFF_S[Math.min(failedAttempts, BACKOFF_S.length) - 1] * 1000;
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

export async function loadHook(pool: pg.Pool, id: string): Promise<HookRow | null> {
  const { rows } = await pool.query<HookRow>('select * from webhook where id = $1', [id]);
  return rows[0] ?? null;
}

async function claim(pool: pg.Pool, hook: HookRow, now: Date, leaseMs: number): Promise<Claimed[]> {
  const until = new Date(now.getTime() + leaseMs);
  if (!hook.ordered) {
    const { rows } = await pool.query<Claimed>(
      `update webhook_delivery d set lease_until = $3 from (
         select id from webhook_delivery where webhook_id = $1 and status = 'PENDING' and next_attempt_at <= $2
            and (lease_until is null or lease_until < $2) order by id limit $4 for update skip locked) c
        where d.id = c.id returning d.id, d.event_type, d.payload, d.occurred_at, d.attempts, d.last_attempt_at`,
      [hook.id, now, until, BATCH],
    );
    return rows.sort((a, b) => Number(a.id) - Number(b.id));
  }
  // In order: only from the head, and only when the head is due and nobody holds it.
  return inPoolTransaction(pool, async (client) => {
    const { rows } = await client.query<Claimed & { next_attempt_at: Date; lease_until: Date | null }>(
      `select id, event_type, payload, occurred_at, attempts, last_attempt_at, next_attempt_at, lease_until
         from webhook_delivery where webhook_id = $1 and status = 'PENDING' order by id limit $2 for update`,
      [hook.id, BATCH],
    );
    const free = (r: (typeof rows)[number]) => !r.lease_until || r.lease_until < now;
    const head = rows[0];
    if (!head || head.next_attempt_at > now || !free(head)) return [];
    const end = rows.findIndex((r) => !free(r));
    const take = end < 0 ? rows : rows.slice(0, end);
    await client.query('update webhook_delivery set lease_until = $2 where id = any($1::bigint[])', [
      take.map((r) => r.id),
      until,
    ]);
    return take;
  });
}

/** The claimed rows whose contact no longer matches the filter, on their first attempt. */
async function filteredOut(app: AppServices, hook: HookRow, rows: Claimed[]): Promise<Set<string>> {
  const out = new Set<string>();
  if (!hook.filter) return out;
  // Never attempted (a redelivered row restarts its attempts but was checked before).
  const firsts = rows.filter((r) => r.attempts === 0 && !r.last_attempt_at);
  if (!firsts.length) return out;
  const env = await loadTargetEnv(app.orm.em.fork(), hook.account_id);
  const params = new Params([hook.account_id, [...new Set(firsts.map((r) => contactOf(r)).filter(Boolean))]]);
  const match = matchSql(env, hook.filter, params, 'probe', '$1::uuid');
  const { rows: hits } = await app.jobs.pool.query<{ id: string }>(
    `select c.id::text as id from contact c where c.account_id = $1::uuid and c.id = any($2::bigint[]) and ${match}`,
    params.values,
  );
  const matching = new Set(hits.map((h) => h.id));
  // Events without a contact (operation status changes) are not filtered.
  for (const r of firsts) if (contactOf(r) && !matching.has(contactOf(r) as string)) out.add(r.id);
  return out;
}

const contactOf = (r: Claimed) => (r.payload.contactId as string | undefined) ?? null;

export interface Outcome {
  id: string;
  result: PostResult;
  attempts: number;
  eventType: string;
}

async function post(poster: Poster, hook: HookRow, row: Claimed, now: Date): Promise<Outcome> {
  const secrets = [hook.secret];
  if (hook.previous_secret && hook.previous_secret_until && hook.previous_secret_until > now)
    secrets.push(hook.previous_secret);
  const body = bodyOf(row);
  const result = await poster.post(hook.url, signedHeaders(secrets, msgIdOf(row.id), new Date(), body), body);
  return { id: row.id, result, attempts: row.attempts + 1, eventType: row.event_type };
}

export const succeeded = (r: PostResult) => r.status !== null && r.status >= 200 && r.status < 300;

/**
 * One batch of a webhook: claimed, posted, recorded. Returns how many rows it claimed (0: nothing
 * due now for this webhook).
 */
export async function deliverBatch(app: AppServices, poster: Poster, hookId: string): Promise<number> {
  const pool = app.jobs.pool;
  const hook = await loadHook(pool, hookId);
  if (hook?.status !== 'ACTIVE') return 0;
  const rows = await claim(pool, hook, webhookClock.now(), app.config.webhooks.leaseMs);
  if (!rows.length) return 0;
  const skip = await filteredOut(app, hook, rows);
  const todo = rows.filter((r) => !skip.has(r.id));
  // Outcomes are recorded every FLUSH_EVERY posts, not once per batch: a process that dies then
  // leaves at most UNRECORDED_AT_MOST posted-but-unrecorded rows per webhook to be posted again.
  const posted = new Set<string>();
  let unrecorded: Outcome[] = [];
  let recording: Promise<void> = Promise.resolve();
  const flush = (extra: { filtered?: string[]; released?: string[] } = {}) => {
    const chunk = unrecorded;
    unrecorded = [];
    recording = recording.then(() => record(app, hook, chunk, extra.filtered ?? [], extra.released ?? []));
    recording.catch(() => {}); // awaited below; this only keeps it from counting as unhandled
    return recording;
  };
  // A flush runs beside the next posts (an ordered webhook would otherwise wait for every
  // commit); the next one waits for it, so at most two chunks are ever unrecorded (and, for an
  // unordered webhook, what its other lanes posted meanwhile).
  const done = async (o: Outcome) => {
    posted.add(o.id);
    unrecorded.push(o);
    if (unrecorded.length < FLUSH_EVERY) return;
    await recording;
    if (unrecorded.length >= FLUSH_EVERY) void flush(); // another lane may have taken them
  };
  // Stop taking rows at half the lease: one more whole attempt (at most half) still ends within
  // it. What is left is released.
  const started = performance.now();
  const budget = app.config.webhooks.leaseMs / 2;
  const inTime = () => hook.status === 'ACTIVE' && performance.now() - started < budget;
  if (hook.ordered) {
    for (const r of todo) {
      if (!inTime()) break;
      const o = await post(poster, hook, r, webhookClock.now());
      await done(o);
      if (!succeeded(o.result) || o.result.status === 410) break;
    }
  } else {
    let next = 0;
    const lane = async () => {
      while (next < todo.length && inTime())
        await done(await post(poster, hook, todo[next++], webhookClock.now()));
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, todo.length) }, lane));
  }
  const released = todo.filter((r) => !posted.has(r.id)).map((r) => r.id);
  await flush({ filtered: [...skip], released });
  return rows.length;
}

/**
 * The outcomes of a batch and their effect on the webhook, in one transaction: a success resets the
 * failure streak; a 410 disables the webhook; failures for longer than WEBHOOK_FAILING_AFTER_HOURS
 * without a success make it FAILING and tell the account's approvers (the mail in the same
 * transaction). Failed attempts are then published on webhookDeliveryFailed.
 */
async function record(
  app: AppServices,
  hook: HookRow,
  outcomes: Outcome[],
  filtered: string[],
  released: string[],
): Promise<void> {
  const now = webhookClock.now();
  const rows = outcomes.map((o) => {
    const ok = succeeded(o.result);
    const final = !ok && o.attempts >= MAX_ATTEMPTS;
    return {
      id: o.id,
      status: ok ? 'SUCCEEDED' : final ? 'FAILED' : 'PENDING',
      attempts: o.attempts,
      next: ok || final ? null : new Date(now.getTime() + backoffMs(o.attempts, o.result.retryAfter)),
      code: o.result.status,
      ms: o.result.ms,
      body: o.result.body ?? null,
      error: ok ? null : (o.result.error ?? `HTTP ${o.result.status}`),
    };
  });
  const lastOk = outcomes.map((o) => succeeded(o.result)).lastIndexOf(true);
  const failuresAfter = outcomes.length - 1 - lastOk;
  const gone = outcomes.some((o) => o.result.status === 410);
  const streak = lastOk >= 0 ? failuresAfter : hook.failure_streak + failuresAfter;
  const failingSince = failuresAfter === 0 ? null : lastOk >= 0 ? now : (hook.failing_since ?? now);
  const failingAfterMs = app.config.webhooks.failingAfterHours * 3_600_000;
  const failing = !gone && failuresAfter > 0 && now.getTime() - failingSince!.getTime() >= failingAfterMs;
  await app.orm.em.fork().transactional(async (em) => {
    // The webhook's row first, as deleting it does (its cascade then takes the deliveries): the
    // other way round, a batch recorded while an editor deleted the webhook deadlocked with it and
    // one of the two failed (the delete, answering INTERNAL_SERVER_ERROR, in CI). Once the delete
    // committed, the updates below find nothing, which is right.
    // No key update: the delete's FOR UPDATE waits for it (and it for the delete), but the foreign
    // key checks of the deliveries the changes write meanwhile (FOR KEY SHARE) do not.
    await em.execute('select 1 from webhook where id = ? for no key update', [hook.id]);
    if (rows.length)
      await em.execute(
        `update webhook_delivery d set status = r.status, attempts = r.attempts, next_attempt_at = coalesce(r.next, d.next_attempt_at),
                lease_until = null, last_attempt_at = ?, response_status = r.code, response_ms = r.ms,
                response_body = r.body, last_error = r.error
           from jsonb_to_recordset(?::jsonb) as r(id bigint, status text, attempts smallint, next timestamptz,
                code smallint, ms int, body text, error text)
          where d.id = r.id and d.id in (?)`,
        // The id list lets the planner probe the primary key: joined to the record set alone, it
        // estimated a hash join and read the whole table at every flush.
        [now, JSON.stringify(rows), rows.map((r) => r.id)],
        'run',
      );
    if (filtered.length)
      await em.execute(
        `update webhook_delivery set status = 'FILTERED', lease_until = null where id in (?)`,
        [filtered],
        'run',
      );
    if (released.length)
      await em.execute('update webhook_delivery set lease_until = null where id in (?)', [released], 'run');
    if (!outcomes.length) return;
    const status = gone ? 'DISABLED' : failing ? 'FAILING' : null;
    const reason = gone
      ? `the receiver answered 410 Gone at ${now.toISOString()}: disabled; an approver may activate it again`
      : failing
        ? `every attempt failed since ${failingSince!.toISOString()}: deliveries are kept, not attempted, until an approver activates it again`
        : null;
    const [changed] = await em.execute<{ before: WebhookStatus; after: WebhookStatus }[]>(
      `update webhook set failure_streak = ?, failing_since = ?, last_delivery_at = coalesce(?, last_delivery_at),
              status = case when status = 'ACTIVE' and ?::text is not null then ?::text else status end,
              status_reason = case when status = 'ACTIVE' and ?::text is not null then ? else status_reason end
        where id = ? returning old.status as before, new.status as after`,
      [streak, failingSince, lastOk >= 0 ? now : null, status, status, status, reason, hook.id],
    );
    // Told once: only the update that made it FAILING mails (not one racing an approver's change).
    if (changed?.before === 'ACTIVE' && changed.after === 'FAILING')
      await notifyFailing(app, em, hook, reason!);
    if (changed) hook.status = changed.after;
  });
  // The next flush of this batch counts on from here.
  if (outcomes.length) {
    hook.failure_streak = streak;
    hook.failing_since = failingSince;
  }
  // rows[i] is outcomes[i], recorded.
  for (const [i, o] of outcomes.entries()) {
    if (succeeded(o.result)) continue;
    const row = rows[i];
    app.pubsub.publish('webhookDeliveryFailed', hook.account_id, {
      deliveryId: o.id,
      webhookId: hook.id,
      eventType: o.eventType,
      attempts: o.attempts,
      responseStatus: o.result.status,
      error: row.error ?? '',
      nextAttemptAt: row.next?.toISOString() ?? null,
      final: row.status === 'FAILED',
    });
  }
}
