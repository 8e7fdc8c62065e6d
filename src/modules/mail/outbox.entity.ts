import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Account } from '../account/account.entity.js';

/** Mail kept locally when no SMTP_URL is configured; the owner reads it through `outbox`. */
export const OutboxMessage = defineEntity({
  name: 'OutboxMessage',
  tableName: 'outbox_message',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    account: () => p.manyToOne(Account).deleteRule('cascade').nullable(),
    to: p.string().length(320),
    subject: p.string().length(300),
    text: p.text(),
    html: p.text().nullable(),
    /** Written by the transports (src/modules/transport): null for mailer mails (FROM). */
    fromAddress: p.string().length(640).nullable(),
    replyTo: p.string().length(320).nullable(),
    messageId: p.string().length(300).nullable(),
    headers: p.json<Record<string, string>>().nullable(),
    /** What wrote it: null for the mailer, 'TEST' or 'OPERATION' for the transports. */
    kind: p.string().length(20).nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
  },
  indexes: [{ properties: ['account', 'id'] }],
});

export type OutboxMessageRow = InferEntity<typeof OutboxMessage>;
