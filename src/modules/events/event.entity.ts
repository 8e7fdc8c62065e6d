import { defineEntity, p } from '@mikro-orm/core';

/** Behaviour event types; stored as a smallint (the index in this list: append only, never reorder). */
export const EVENT_TYPES = [
  'EMAIL_OPEN',
  'EMAIL_CLICK',
  'SMS_CLICK',
  'FORM_SUBMIT',
  'SITE_VISIT',
  'WEB_BLOCK_CLICK',
  'UNSUBSCRIBE',
  'EMAIL_SENT',
  'SMS_SENT',
  'BOUNCE',
  'SMS_DELIVERED',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];
export const eventCode = (t: EventType) => EVENT_TYPES.indexOf(t);

/**
 * Append-only behaviour events. Kept lean for ingest speed (PERF-NOTES: every secondary index
 * divides the insert rate): the primary key on `id` (in time order, used by incremental score
 * runs as a watermark) and one index in contact order that serves every per-contact event
 * condition of scores and segments without a hash aggregate. No foreign key: contact ids are
 * checked against the account on the way in, and deleting contacts deletes their events.
 */
export const ContactEvent = defineEntity({
  name: 'ContactEvent',
  tableName: 'contact_event',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    accountId: p.uuid(),
    contactId: p.bigint('string'),
    type: p.smallint(),
    occurredAt: p.datetime(),
    operationId: p.uuid().nullable(),
    formId: p.uuid().nullable(),
    url: p.text().nullable(),
    /**
     * An open or click a proxy or scanner made (src/modules/events/tracking.machine.ts): kept out
     * of the operation's unique opens and clicks, counted apart.
     */
    machine: p.boolean().default(false),
  },
  indexes: [
    {
      name: 'contact_event_contact_index',
      expression:
        'create index contact_event_contact_index on contact_event (account_id, contact_id, type, occurred_at) include (id)',
    },
  ],
});
