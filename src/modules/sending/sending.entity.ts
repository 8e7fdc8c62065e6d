import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Account } from '../account/account.entity.js';
import { Operation } from '../operations/operation.entity.js';

/**
 * A recipient's state in a send. PENDING (frozen, not tried), CLAIMED (a worker holds it until
 * due_at, its lease), DEFERRED (to retry at due_at), SENT, FAILED (reason), EXCLUDED (never
 * sent: reason), CANCELLED (the operation was cancelled before it was tried).
 */
export const RECIPIENT_STATUSES = [
  'PENDING',
  'CLAIMED',
  'DEFERRED',
  'SENT',
  'FAILED',
  'EXCLUDED',
  'CANCELLED',
] as const;
export type RecipientStatus = (typeof RECIPIENT_STATUSES)[number];

/** Why a contact of the audience is not sent to, counted at freeze. */
export const EXCLUSION_REASONS = [
  'NO_ADDRESS',
  'UNSUBSCRIBED',
  'HARD_BOUNCED',
  'COMPLAINED',
  'DUPLICATE_ADDRESS',
  'FREQUENCY_CAP',
  'INSUFFICIENT_CREDITS',
  'UNCONFIRMED',
] as const;
export type ExclusionReason = (typeof EXCLUSION_REASONS)[number];

/** What a gateway's delivery report can say became of an SMS (src/modules/sms-reports). */
export const SMS_DELIVERY_STATUSES = ['DELIVERED', 'FAILED', 'EXPIRED', 'REJECTED'] as const;
export type SmsDeliveryStatus = (typeof SMS_DELIVERY_STATUSES)[number];

/**
 * The frozen audience of a send: one row per (operation, contact), written once, set-based, when
 * the operation starts. The primary key is the no-double-send guarantee at rest: a contact cannot
 * be a recipient of one operation twice, whatever a worker, a retry or a rerun does.
 */
export const OperationRecipient = defineEntity({
  name: 'OperationRecipient',
  tableName: 'operation_recipient',
  properties: {
    // No foreign key: checked row by row it was a third of a million-recipient freeze (6.3 of
    // 17.8 s, bench/sending.ts). A statement trigger on operation deletes an operation's
    // recipients with it instead (Migration20261203074142_RecipientCascadeTrigger), cascades
    // from the account included.
    operationId: p.uuid().primary(),
    contactId: p.bigint('string').primary(),
    accountId: p.uuid(),
    /** lower(email) or phone as frozen; '' when the contact had none. */
    address: p.string().length(320),
    status: p.enum([...RECIPIENT_STATUSES]),
    /** An exclusion reason, or why it FAILED (HARD_BOUNCE, MAX_ATTEMPTS_REACHED, CONTACT_DELETED). */
    reason: p.string().length(30).nullable(),
    attempts: p.smallint().default(0),
    /** When it may be claimed: the freeze (PENDING), the retry (DEFERRED), the lease's end (CLAIMED). */
    dueAt: p.datetime().nullable(),
    claimedBy: p.string().length(80).nullable(),
    lastError: p.text().nullable(),
    sentAt: p.datetime().nullable(),
    /**
     * An SMS's delivery report from the gateway (POST /sms/status), the first final one only:
     * DELIVERED, FAILED, EXPIRED or REJECTED; null until one came. The status stays SENT (it was
     * handed over); this says what became of it.
     */
    delivery: p.enum([...SMS_DELIVERY_STATUSES]).nullable(),
  },
  indexes: [
    {
      // The claim's only index: what is left to try, in the claim's order (due time, then
      // contact), and nothing else (sent rows leave it, so it shrinks as the send progresses).
      // contact_id is in it because every row of a freeze has the same due_at: without it, each
      // claim sorted everything left to take its batch (bench/sending.ts).
      name: 'operation_recipient_claimable_index',
      expression:
        "create index operation_recipient_claimable_index on operation_recipient (operation_id, due_at, contact_id) where status in ('PENDING', 'DEFERRED', 'CLAIMED')",
    },
    {
      // A STOP reply names only a phone: which accounts texted it (sms-replies) without a scan
      // of every recipient row ever sent.
      name: 'operation_recipient_sent_address_index',
      expression:
        "create index operation_recipient_sent_address_index on operation_recipient (address) where status = 'SENT'",
    },
    {
      // The frequency cap at freeze: an account's recent sends, with their contact and operation,
      // read from the index alone (sending.freeze.ts capOf). Inserted at the right edge as sends go.
      name: 'operation_recipient_sent_index',
      expression:
        "create index operation_recipient_sent_index on operation_recipient (account_id, sent_at) include (contact_id, operation_id) where status = 'SENT'",
    },
  ],
});

export type OperationRecipientRow = InferEntity<typeof OperationRecipient>;

/** One per sending operation: the freeze's figures and the counters workers keep per batch. */
export const OperationSend = defineEntity({
  name: 'OperationSend',
  tableName: 'operation_send',
  properties: {
    operation: () => p.manyToOne(Operation).deleteRule('cascade').primary(),
    account: () => p.manyToOne(Account).deleteRule('cascade'),
    frozenAt: p.datetime(),
    /** Contacts frozen to be sent to (not excluded). */
    recipients: p.integer(),
    /** Excluded at freeze, by reason. */
    excluded: p.json<Partial<Record<ExclusionReason, number>>>(),
    sent: p.integer().default(0),
    failed: p.integer().default(0),
    hardBounces: p.integer().default(0),
    /** Attempts that were deferred (4xx, no answer): a recipient may count several times. */
    deferrals: p.integer().default(0),
    /** SMS parts handed to the gateway (0 for an Emailing). */
    parts: p.integer().default(0),
    /** SMS the gateway reported DELIVERED to the handset (POST /sms/status). */
    smsDelivered: p.integer().default(0),
    /** SMS the gateway reported not delivered: FAILED, EXPIRED or REJECTED. */
    smsFailed: p.integer().default(0),
  },
});
