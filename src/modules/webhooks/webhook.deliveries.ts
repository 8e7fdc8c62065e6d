import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuthedContext } from '../../context.js';
import { badInput, notFound } from '../../shared/errors.js';
import { isRowId } from '../../shared/ids.js';
import { decodeCursor, type Page, pageSize, toPage } from '../../shared/pagination.js';
import { mutate } from '../audit/audit.service.js';
import { webhookClock } from './webhook.clock.js';
import { bodyOf, succeeded } from './webhook.deliver.js';
import type { DeliveryStatus } from './webhook.entity.js';
import { TEST_EVENT_TYPE, WEBHOOK_EVENT_TYPES } from './webhook.events.js';
import type { Poster } from './webhook.http.js';
import { findWebhook } from './webhook.service.js';
import { msgIdOf, signedHeaders } from './webhook.sign.js';
import { DELIVERY_SELECT, type DeliveryView } from './webhook.view.js';

export interface DeliveryFilter {
  status?: DeliveryStatus | null;
  eventType?: string | null;
  since?: Date | null;
}

/** A webhook's deliveries, newest first (keyset on id). */
export async function listDeliveries(
  em: EntityManager,
  accountId: string,
  webhookId: string,
  filter: DeliveryFilter,
  first?: number | null,
  after?: string | null,
): Promise<Page<DeliveryView>> {
  await findWebhook(em, accountId, webhookId);
  const size = pageSize(first);
  const where = ['d.webhook_id = ?', 'd.account_id = ?'];
  const params: unknown[] = [webhookId, accountId];
  if (filter.status) {
    where.push('d.status = ?');
    params.push(filter.status);
  }
  if (filter.eventType) {
    where.push('d.event_type = ?');
    params.push(WEBHOOK_EVENT_TYPES[filter.eventType] ?? TEST_EVENT_TYPE);
  }
  if (filter.since) {
    where.push('d.created_at >= ?');
    params.push(filter.since);
  }
  const key = decodeCursor(after);
  if (key !== null) {
    if (!isRowId(key)) throw badInput('after: not a cursor returned by this API');
    where.push('d.id < ?::bigint');
    params.push(key);
  }
  const rows = await em.execute<DeliveryView[]>(
    `${DELIVERY_SELECT} where ${where.join(' and ')} order by d.id desc limit ?`,
    [...params, size + 1],
  );
  return toPage(rows, size, (d) => d.id);
}

async function findDelivery(
  em: EntityManager,
  accountId: string,
  id: string,
  lock = false,
): Promise<DeliveryView> {
  const rows = isRowId(id)
    ? await em.execute<DeliveryView[]>(
        `${DELIVERY_SELECT} where d.account_id = ? and d.id = ?${lock ? ' for update' : ''}`,
        [accountId, id],
      )
    : [];
  if (!rows[0]) throw notFound('WebhookDelivery');
  return rows[0];
}

/**
 * Puts a delivery back in line, due now, with a fresh schedule and the same webhook-id (the
 * receiver may recognise it). A REFUSED one can never go; a PENDING one is already in line.
 */
export async function redeliver(ctx: AuthedContext, id: string): Promise<DeliveryView> {
  const { accountId } = ctx.viewer;
  return mutate(ctx, async ({ em, audit }) => {
    const d = await findDelivery(em, accountId, id, true);
    if (d.status === 'REFUSED')
      throw badInput(`delivery ${id} was refused (${d.lastError}): it cannot be sent`);
    if (d.status !== 'PENDING')
      await em.execute(
        `update webhook_delivery set status = 'PENDING', attempts = 0, next_attempt_at = ?, lease_until = null where id = ?`,
        [webhookClock.now(), id],
      );
    audit({
      action: 'redeliver',
      feature: 'WEBHOOKS',
      objectType: 'WebhookDelivery',
      objectId: id,
      diff: { status: d.status },
    });
    return findDelivery(em, accountId, id);
  });
}

/** Every delivery of the webhook since a time that was sent or gave up goes again, in order. */
export async function replayWebhook(ctx: AuthedContext, webhookId: string, since: Date): Promise<number> {
  const { accountId } = ctx.viewer;
  return mutate(ctx, async ({ em, audit }) => {
    await findWebhook(em, accountId, webhookId, true);
    const rows = await em.execute<{ id: string }[]>(
      `update webhook_delivery set status = 'PENDING', attempts = 0, next_attempt_at = ?, lease_until = null
        where webhook_id = ? and created_at >= ? and status in ('SUCCEEDED', 'FAILED') returning id`,
      [webhookClock.now(), webhookId, since],
    );
    audit({
      action: 'replayWebhook',
      feature: 'WEBHOOKS',
      objectType: 'Webhook',
      objectId: webhookId,
      diff: { since: since.toISOString(), deliveries: rows.length },
    });
    return rows.length;
  });
}

/**
 * Posts a `webhook.test` message now, whatever the webhook's status (so an endpoint can be tried
 * before an approver activates it), and returns the delivery with its outcome. It carries no
 * account data, and is kept in the deliveries like any other.
 */
export async function sendTestWebhook(
  ctx: AuthedContext,
  poster: Poster,
  webhookId: string,
): Promise<DeliveryView> {
  const { accountId } = ctx.viewer;
  const created = await mutate(ctx, async ({ em, audit }) => {
    const w = await findWebhook(em, accountId, webhookId);
    const at = webhookClock.now();
    const [row] = await em.execute<{ id: string }[]>(
      `insert into webhook_delivery (webhook_id, account_id, event_type, payload, occurred_at, status, attempts, lease_until)
       values (?, ?, ?, ?::jsonb, ?, 'PENDING', 0, ?) returning id::text`,
      [
        webhookId,
        accountId,
        TEST_EVENT_TYPE,
        JSON.stringify({ webhookId, message: 'A test message from Cible' }),
        at,
        new Date(at.getTime() + 60_000),
      ],
    );
    audit({
      action: 'sendTestWebhook',
      feature: 'WEBHOOKS',
      objectType: 'Webhook',
      objectId: webhookId,
      diff: null,
    });
    return { w, id: row.id };
  });
  const d = await findDelivery(ctx.em, accountId, created.id);
  const secrets = [created.w.secret];
  const body = bodyOf({ event_type: d.eventType, payload: d.payload, occurred_at: d.occurredAt });
  const r = await poster.post(created.w.url, signedHeaders(secrets, msgIdOf(d.id), new Date(), body), body);
  const ok = succeeded(r);
  // A test is tried once: failed or not, it is not retried behind the webhook's real events.
  await ctx.em.execute(
    `update webhook_delivery set status = ?, attempts = 1, last_attempt_at = ?, lease_until = null, response_status = ?,
            response_ms = ?, response_body = ?, last_error = ? where id = ?`,
    [
      ok ? 'SUCCEEDED' : 'FAILED',
      webhookClock.now(),
      r.status,
      r.ms,
      r.body ?? null,
      ok ? null : (r.error ?? `HTTP ${r.status}`),
      d.id,
    ],
  );
  return findDelivery(ctx.em, accountId, d.id);
}
