import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Account } from '../account/account.entity.js';

export const FIELD_TYPES = ['TEXT', 'NUMBER', 'DATE', 'BOOLEAN'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

/** A custom field defined per account (commercial, loyalty, anything else). */
export const ContactField = defineEntity({
  name: 'ContactField',
  tableName: 'contact_field',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    account: () => p.manyToOne(Account).deleteRule('cascade'),
    name: p.string().length(63),
    label: p.string().length(200),
    type: p.enum([...FIELD_TYPES]),
    createdAt: p.datetime().defaultRaw('now()'),
  },
  uniques: [{ properties: ['account', 'name'] }],
});

export const EMAIL_STATUSES = [
  'VALID',
  'SOFT_BOUNCED',
  'HARD_BOUNCED',
  'COMPLAINED',
  'UNSUBSCRIBED',
  'UNCONFIRMED',
] as const;
export type EmailStatus = (typeof EMAIL_STATUSES)[number];

/**
 * OPTED_OUT: the number replied STOP (src/modules/sms-replies/); START puts it back. INVALID: the
 * gateway reported an SMS to it FAILED, i.e. the number cannot receive (src/modules/sms-reports/).
 */
export const SMS_STATUSES = ['SUBSCRIBED', 'OPTED_OUT', 'INVALID'] as const;

/**
 * A contact. Standard fields are columns; custom fields live in `fields` (jsonb, NUMBER values as
 * decimal strings so they stay exact). `unique_value` holds the normalised value of the account's
 * unique key: the database, not only the code, refuses a second contact with the same one.
 */
export const Contact = defineEntity({
  name: 'Contact',
  tableName: 'contact',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    account: () => p.manyToOne(Account).deleteRule('cascade'),
    email: p.string().length(320).nullable(),
    phone: p.string().length(40).nullable(),
    firstName: p.string().length(200).nullable(),
    lastName: p.string().length(200).nullable(),
    gender: p.string().length(20).nullable(),
    birthDate: p.date().nullable(),
    city: p.string().length(200).nullable(),
    department: p.string().length(100).nullable(),
    country: p.string().length(100).nullable(),
    fields: p.json<Record<string, string | boolean | null>>().defaultRaw(`'{}'`),
    uniqueValue: p.string().length(400).nullable(),
    emailStatus: p.enum([...EMAIL_STATUSES]).default('VALID'),
    smsStatus: p.enum([...SMS_STATUSES]).default('SUBSCRIBED'),
    lastBounceId: p.bigint('string').nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
    updatedAt: p.datetime().defaultRaw('now()'),
  },
  indexes: [
    { properties: ['account', 'id'] },
    {
      name: 'contact_account_email_index',
      expression: 'create index contact_account_email_index on contact (account_id, lower(email))',
    },
    {
      // STOP / START replies find an account's contacts by phone (sms-replies).
      name: 'contact_account_phone_index',
      expression:
        'create index contact_account_phone_index on contact (account_id, phone) where phone is not null',
    },
  ],
  uniques: [{ name: 'contact_account_unique_value', properties: ['account', 'uniqueValue'] }],
});

export const IMPORT_STATUSES = ['RUNNING', 'DONE', 'FAILED'] as const;

/**
 * One import: its counters move while it runs, so `importProgress` can stream them. Its id may be
 * chosen by the client, so it is unique per account only (another account's id must look free).
 */
export const ContactImport = defineEntity({
  name: 'ContactImport',
  tableName: 'contact_import',
  properties: {
    account: () => p.manyToOne(Account).primary().deleteRule('cascade'),
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    userId: p.uuid().nullable(),
    status: p.enum([...IMPORT_STATUSES]),
    source: p.string().length(20),
    total: p.integer().default(0),
    processed: p.integer().default(0),
    created: p.integer().default(0),
    merged: p.integer().default(0),
    rejected: p.integer().default(0),
    error: p.text().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
    finishedAt: p.datetime().nullable(),
    /** Moved every few seconds by the process running it; a stale one means that process died. */
    heartbeatAt: p.datetime().defaultRaw('now()'),
  },
});

export const IMPORT_OUTCOMES = ['CREATED', 'MERGED', 'REJECTED'] as const;

/** The result of one row of an import (row numbers start at 1, after the CSV header). */
export const ContactImportRow = defineEntity({
  name: 'ContactImportRow',
  tableName: 'contact_import_row',
  properties: {
    accountId: p.uuid().primary(),
    importId: p.uuid().primary(),
    rowNumber: p.integer().primary(),
    outcome: p.enum([...IMPORT_OUTCOMES]),
    contactId: p.bigint('string').nullable(),
    error: p.text().nullable(),
  },
});

export type ContactRow = InferEntity<typeof Contact>;
export type ContactFieldRow = InferEntity<typeof ContactField>;
export type ContactImportRowT = InferEntity<typeof ContactImport>;
