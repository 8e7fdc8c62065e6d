import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Account } from '../account/account.entity.js';

/**
 * The token bucket of an account's send rate (settings.sendRatePerMinute, sending.rate.ts): what
 * may still be claimed, as of `refilledAt`. One row per rate-limited account, written by each
 * claim under its row lock, so every process shares it.
 */
export const SendAllowance = defineEntity({
  name: 'SendAllowance',
  tableName: 'send_allowance',
  properties: {
    account: () => p.manyToOne(Account).deleteRule('cascade').primary(),
    tokens: p.double(),
    refilledAt: p.datetime(),
  },
});

export type SendAllowanceRow = InferEntity<typeof SendAllowance>;
