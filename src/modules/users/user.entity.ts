import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import type { Rights } from '../access/access.js';
import { Account } from '../account/account.entity.js';

export const USER_STATUSES = ['INVITED', 'ACTIVE', 'DISABLED', 'DELETED'] as const;
export type UserStatus = (typeof USER_STATUSES)[number];

export const User = defineEntity({
  name: 'User',
  tableName: 'app_user',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    account: () => p.manyToOne(Account).deleteRule('cascade').index(),
    email: p.string().length(320),
    name: p.string().length(200),
    phone: p.string().length(40).nullable(),
    passwordHash: p.text().nullable(),
    status: p.enum([...USER_STATUSES]),
    isOwner: p.boolean().default(false),
    rights: p.json<Rights>(),
    createdAt: p.datetime().defaultRaw('now()'),
    updatedAt: p.datetime().defaultRaw('now()'),
  },
  indexes: [
    {
      // Login is by email alone, so a live email identifies one user across all accounts.
      name: 'app_user_live_email_unique',
      expression:
        "create unique index app_user_live_email_unique on app_user (lower(email)) where status <> 'DELETED'",
    },
  ],
});

export const SessionToken = defineEntity({
  name: 'SessionToken',
  tableName: 'session_token',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    user: () => p.manyToOne(User).deleteRule('cascade').index(),
    /** sha256 of the opaque token: a leaked table does not leak sessions. */
    tokenHash: p.string().length(64).unique(),
    createdAt: p.datetime().defaultRaw('now()'),
    expiresAt: p.datetime(),
    revokedAt: p.datetime().nullable(),
    ip: p.string().length(64).nullable(),
  },
});

export const Invitation = defineEntity({
  name: 'Invitation',
  tableName: 'invitation',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    user: () => p.manyToOne(User).deleteRule('cascade').index(),
    tokenHash: p.string().length(64).unique(),
    createdAt: p.datetime().defaultRaw('now()'),
    expiresAt: p.datetime(),
    usedAt: p.datetime().nullable(),
  },
});

export const LoginThrottle = defineEntity({
  name: 'LoginThrottle',
  tableName: 'login_throttle',
  properties: {
    email: p.string().length(320).primary(),
    failures: p.integer().default(0),
    windowStart: p.datetime().defaultRaw('now()'),
    lockedUntil: p.datetime().nullable(),
  },
});

export type UserRow = InferEntity<typeof User>;
export type SessionTokenRow = InferEntity<typeof SessionToken>;
export type InvitationRow = InferEntity<typeof Invitation>;
