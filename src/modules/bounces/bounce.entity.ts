import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { BOUNCE_TYPES } from './classifier/types.js';

/** One bounce of one recipient; the full history stays, the contact points at the last one. */
export const Bounce = defineEntity({
  name: 'Bounce',
  tableName: 'bounce',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    accountId: p.uuid(),
    contactId: p.bigint('string').nullable(),
    recipient: p.string().length(320).nullable(),
    receivedAt: p.datetime(),
    status: p.string().length(20).nullable(),
    replyCode: p.string().length(10).nullable(),
    reason: p.string().length(40),
    hard: p.boolean(),
    type: p.enum([...BOUNCE_TYPES]),
    diagnostic: p.text().nullable(),
    /** The operation whose message bounced, when the bounce names it (X-Cible-Operation). */
    operationId: p.uuid().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
  },
  indexes: [{ properties: ['accountId', 'contactId', 'receivedAt'] }],
});

export type BounceRow = InferEntity<typeof Bounce>;
