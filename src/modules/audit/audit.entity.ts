import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Account } from '../account/account.entity.js';

/** The action history: one row per mutation, written in the same transaction as the change. */
export const AuditEntry = defineEntity({
  name: 'AuditEntry',
  tableName: 'audit_entry',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    account: () => p.manyToOne(Account).deleteRule('cascade'),
    /** Kept as a plain id so that history outlives a deleted user. */
    userId: p.uuid().nullable(),
    userEmail: p.string().length(320).nullable(),
    action: p.string().length(80),
    feature: p.string().length(20).nullable(),
    objectType: p.string().length(60).nullable(),
    objectId: p.string().length(80).nullable(),
    diff: p.json<Record<string, unknown>>().nullable(),
    ip: p.string().length(64).nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
  },
  indexes: [{ properties: ['account', 'id'] }, { properties: ['account', 'userId', 'id'] }],
});

export const SecurityEvent = defineEntity({
  name: 'SecurityEvent',
  tableName: 'security_event',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    accountId: p.uuid().nullable(),
    userId: p.uuid().nullable(),
    kind: p.string().length(40),
    operation: p.string().length(200).nullable(),
    detail: p.text().nullable(),
    ip: p.string().length(64).nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
  },
});

export type AuditEntryRow = InferEntity<typeof AuditEntry>;
