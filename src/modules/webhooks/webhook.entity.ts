import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Account } from '../account/account.entity.js';

/**
 * INACTIVE: created, edited by a non-approver, or switched off: nothing is written for it.
 * ACTIVE: an approver switched it on; deliveries are written and attempted.
 * FAILING: its deliveries failed for WEBHOOK_FAILING_AFTER_HOURS without a success: they are
 * still written and kept, but not attempted until an approver activates it again.
 * DISABLED: the receiver answered 410 Gone: nothing more is written until an approver activates it.
 */
export const WEBHOOK_STATUSES = ['INACTIVE', 'ACTIVE', 'FAILING', 'DISABLED'] as const;
export type WebhookStatus = (typeof WEBHOOK_STATUSES)[number];

/** The statuses in which the outbox triggers write deliveries for a webhook. */
export const COLLECTING: readonly WebhookStatus[] = ['ACTIVE', 'FAILING'];

/** An endpoint of the account's own systems that receives its events, signed (webhook.sign.ts). */
export const Webhook = defineEntity({
  name: 'Webhook',
  tableName: 'webhook',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    account: () => p.manyToOne(Account).deleteRule('cascade'),
    name: p.string().length(200),
    url: p.text(),
    /** Payload types (webhook.events.ts), as the triggers compare them. */
    eventTypes: p.array<string>().columnType('text[]'),
    /** Contact fields copied into payloads; empty: ids only, so no personal data leaves by accident. */
    fields: p.array<string>().columnType('text[]').defaultRaw(`'{}'`),
    /** A Criterion: only events of contacts matching it when first attempted are sent. */
    filter: p.json<unknown>().nullable(),
    /** In event order, one at a time (true), or in parallel with retries of their own. */
    ordered: p.boolean().default(true),
    status: p.enum([...WEBHOOK_STATUSES]).default('INACTIVE'),
    statusReason: p.text().nullable(),
    secret: p.text(),
    /** During a rotation, the secret before it, signing too until `previousSecretUntil`. */
    previousSecret: p.text().nullable(),
    previousSecretUntil: p.datetime().nullable(),
    createdBy: p.uuid().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
    updatedAt: p.datetime().defaultRaw('now()'),
    lastDeliveryAt: p.datetime().nullable(),
    /** Failed attempts since the last success. */
    failureStreak: p.integer().default(0),
    /** The first failed attempt since the last success. */
    failingSince: p.datetime().nullable(),
  },
  indexes: [
    { properties: ['account'] },
    {
      // The triggers' first question, on every write: does anyone collect at all?
      name: 'webhook_collecting_index',
      expression: `create index webhook_collecting_index on webhook (account_id) where status in ('ACTIVE', 'FAILING')`,
    },
  ],
});

/**
 * PENDING: to attempt (again) from next_attempt_at; SUCCEEDED: a 2xx came back; FAILED: every
 * attempt of the schedule failed (kept, replayable); FILTERED: its contact did not match the
 * webhook's filter when first attempted; REFUSED: never sent, see last_error (over 256 KiB).
 */
export const DELIVERY_STATUSES = ['PENDING', 'SUCCEEDED', 'FAILED', 'FILTERED', 'REFUSED'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/**
 * The outbox: one row per (event, webhook), written by the triggers in the transaction of the
 * change, so a rollback writes none and a commit cannot lose one. Its id is the message id
 * (`webhook-id: msg_<id>`), the same at every attempt.
 */
export const WebhookDelivery = defineEntity({
  name: 'WebhookDelivery',
  tableName: 'webhook_delivery',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    webhook: () => p.manyToOne(Webhook).deleteRule('cascade'),
    accountId: p.uuid(),
    eventType: p.text(),
    payload: p.json<unknown>(),
    occurredAt: p.datetime(),
    status: p.enum([...DELIVERY_STATUSES]).default('PENDING'),
    attempts: p.smallint().default(0),
    nextAttemptAt: p.datetime().defaultRaw('now()'),
    /** Claimed by a worker until then: another may take it over only after. */
    leaseUntil: p.datetime().nullable(),
    lastAttemptAt: p.datetime().nullable(),
    responseStatus: p.smallint().nullable(),
    responseMs: p.integer().nullable(),
    /** The first bytes of the last response (WEBHOOK_RESPONSE_KEPT). */
    responseBody: p.text().nullable(),
    lastError: p.text().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
  },
  indexes: [
    { name: 'webhook_delivery_webhook_index', properties: ['webhook', 'id'] },
    {
      // The claims and the dispatcher read only what is left to attempt.
      name: 'webhook_delivery_pending_index',
      expression: `create index webhook_delivery_pending_index on webhook_delivery (webhook_id, id) include (next_attempt_at, lease_until) where status = 'PENDING'`,
    },
    {
      // Erasure finds the deliveries that name a deleted contact (webhook.erasure.ts).
      name: 'webhook_delivery_contact_index',
      expression: `create index webhook_delivery_contact_index on webhook_delivery (account_id, ((payload ->> 'contactId'))) where payload ->> 'contactId' is not null`,
    },
  ],
});

export type WebhookRow = InferEntity<typeof Webhook>;
export type WebhookDeliveryRow = InferEntity<typeof WebhookDelivery>;
