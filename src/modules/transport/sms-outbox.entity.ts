import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Account } from '../account/account.entity.js';

/** SMS kept locally when no SMS_GATEWAY_URL is configured, as outbox_message is for mail. */
export const SmsOutboxMessage = defineEntity({
  name: 'SmsOutboxMessage',
  tableName: 'sms_outbox_message',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    account: () => p.manyToOne(Account).deleteRule('cascade').nullable(),
    senderId: p.string().length(20),
    to: p.string().length(40),
    text: p.text(),
    messageId: p.string().length(300).nullable(),
    kind: p.string().length(20).nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
  },
  indexes: [{ properties: ['account', 'id'] }],
});

export type SmsOutboxMessageRow = InferEntity<typeof SmsOutboxMessage>;
