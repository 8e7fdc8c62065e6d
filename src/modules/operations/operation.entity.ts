import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Account } from '../account/account.entity.js';

export const OPERATION_KINDS = ['EMAILING', 'SMS'] as const;
export type OperationKind = (typeof OPERATION_KINDS)[number];

/** The workflow's states (operation.workflow.ts); SENDING, SENT and FAILED belong to the sending engine. */
export const OPERATION_STATUSES = [
  'DRAFT',
  'PENDING_APPROVAL',
  'VALIDATED',
  'REJECTED',
  'SCHEDULED',
  'SENDING',
  'PAUSED',
  'SENT',
  'CANCELLED',
  'FAILED',
] as const;
export type OperationStatus = (typeof OPERATION_STATUSES)[number];

/**
 * A score-threshold trigger: instead of one send to the audience, the operation sends to each of
 * its members the first time their score crosses `threshold` upward in a score run (once per
 * contact, ever). src/modules/triggers.
 */
export interface ScoreTrigger {
  scoreId: string;
  /** Exact decimal, as scores are. */
  threshold: string;
}

/**
 * Who receives it: the union of segments, minus the excluded ones; or every contact. With a
 * trigger, only those of them whose score crosses the threshold. `trigger` is absent (not null)
 * on one-off operations, so their content hash is what it was before triggers existed.
 */
export interface Audience {
  segmentIds: string[];
  excludedSegmentIds: string[];
  allContacts: boolean;
  trigger?: ScoreTrigger;
}

export interface EmailContent {
  subject: string | null;
  preheader: string | null;
  fromName: string | null;
  fromEmail: string | null;
  replyTo: string | null;
  html: string | null;
  /** As given; null: derived from the html when the message is built (see textPart). */
  text: string | null;
}

export interface SmsContent {
  text: string | null;
  senderId: string | null;
}

export type OperationContent = EmailContent | SmsContent;

/**
 * An Emailing or SMS operation. `version` grows with every edit and `contentHash` is the sha256 of
 * its canonical name, audience and content; a validation records both (validatedVersion,
 * validatedHash) and the sending engine refuses to send when they no longer match
 * (operation.engine.ts markSending): what goes out is exactly what was validated.
 */
export const Operation = defineEntity({
  name: 'Operation',
  tableName: 'operation',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    account: () => p.manyToOne(Account).deleteRule('cascade'),
    kind: p.enum([...OPERATION_KINDS]),
    name: p.string().length(200),
    status: p.enum([...OPERATION_STATUSES]).default('DRAFT'),
    audience: p.json<Audience>(),
    content: p.json<OperationContent>(),
    version: p.integer().default(1),
    contentHash: p.string().length(64),
    validatedVersion: p.integer().nullable(),
    validatedHash: p.string().length(64).nullable(),
    createdBy: p.uuid().nullable(),
    updatedBy: p.uuid().nullable(),
    submittedBy: p.uuid().nullable(),
    submittedAt: p.datetime().nullable(),
    validatedBy: p.uuid().nullable(),
    validatedAt: p.datetime().nullable(),
    rejectedBy: p.uuid().nullable(),
    rejectedAt: p.datetime().nullable(),
    rejectionReason: p.text().nullable(),
    cancelledBy: p.uuid().nullable(),
    cancelledAt: p.datetime().nullable(),
    scheduledAt: p.datetime().nullable(),
    sentAt: p.datetime().nullable(),
    /** While PAUSED: the status resume goes back to (SCHEDULED or SENDING). */
    pausedFrom: p.enum([...OPERATION_STATUSES]).nullable(),
    /** Why the engine set FAILED (a hash mismatch, a late start): set by the next issue's engine. */
    failureReason: p.text().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
    updatedAt: p.datetime().defaultRaw('now()'),
  },
  indexes: [
    // operations(): newest first within the account.
    { name: 'operation_account_created_index', properties: ['account', 'createdAt', 'id'] },
    // The scheduler (issue 13): due SCHEDULED operations, by time.
    { name: 'operation_status_scheduled_index', properties: ['status', 'scheduledAt'] },
  ],
});

export type OperationRow = InferEntity<typeof Operation>;

/**
 * One call of sendTestOperation: how many messages it sent, and by whom. The hourly limit per
 * operation sums these rows (a table of its own, not the audit trail, so the count reads a short
 * index range however long the account's history is).
 */
export const OperationTestSend = defineEntity({
  name: 'OperationTestSend',
  tableName: 'operation_test_send',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    account: () => p.manyToOne(Account).deleteRule('cascade'),
    operation: () => p.manyToOne(Operation).deleteRule('cascade'),
    userId: p.uuid(),
    recipients: p.integer(),
    createdAt: p.datetime().defaultRaw('now()'),
  },
  indexes: [{ properties: ['operation', 'createdAt'] }],
});
