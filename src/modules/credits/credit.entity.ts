import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Account } from '../account/account.entity.js';

/** What a credit buys: one email, or one SMS part (a long SMS costs one credit per part). */
export const CREDIT_KINDS = ['EMAIL', 'SMS'] as const;
export type CreditKind = (typeof CREDIT_KINDS)[number];

/**
 * Why an entry moved the balance. ALLOWANCE: the free credits of a new account; PURCHASE: an
 * approved purchase (issue 16); USAGE: what a send really used (negative, one entry per batch);
 * ADJUSTMENT: a correction by the operator (a credit note).
 */
export const CREDIT_ENTRY_TYPES = ['ALLOWANCE', 'PURCHASE', 'USAGE', 'ADJUSTMENT'] as const;
export type CreditEntryType = (typeof CREDIT_ENTRY_TYPES)[number];

/**
 * The ledger: every change of a balance is one row, never updated nor deleted, so the balance is
 * the sum of its entries (a test checks it) and usage can be reported per day or operation.
 */
export const CreditEntry = defineEntity({
  name: 'CreditEntry',
  tableName: 'credit_entry',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    account: () => p.manyToOne(Account).deleteRule('cascade'),
    kind: p.enum([...CREDIT_KINDS]),
    type: p.enum([...CREDIT_ENTRY_TYPES]),
    /** Positive adds credits, negative uses them. */
    amount: p.bigint('number'),
    operationId: p.uuid().nullable(),
    note: p.string().length(200).nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
  },
  indexes: [
    { name: 'credit_entry_account_created_index', properties: ['account', 'kind', 'createdAt'] },
    {
      // Operation.credits: what one operation used, without reading the account's whole ledger.
      name: 'credit_entry_operation_index',
      expression:
        'create index credit_entry_operation_index on credit_entry (operation_id) where operation_id is not null',
    },
  ],
});

/**
 * The balance of one account and kind, kept with the ledger in the same transactions. Its row is
 * the lock every reservation and settlement takes, and its checks are the last word: the balance
 * is never negative and what is reserved never exceeds it, whatever runs concurrently.
 */
export const CreditBalance = defineEntity({
  name: 'CreditBalance',
  tableName: 'credit_balance',
  properties: {
    account: () => p.manyToOne(Account).deleteRule('cascade').primary(),
    kind: p.enum([...CREDIT_KINDS]).primary(),
    balance: p.bigint('number').default(0),
    reserved: p.bigint('number').default(0),
    updatedAt: p.datetime().defaultRaw('now()'),
  },
  checks: [
    { name: 'credit_balance_not_negative', expression: 'balance >= 0' },
    { name: 'credit_balance_reserved_covered', expression: 'reserved >= 0 and reserved <= balance' },
  ],
});

/**
 * Credits held for one scheduled or sending operation: set at schedule (the audience's count),
 * resized at the freeze (the frozen recipients), drawn down by each batch's settlement, and
 * returned when the operation ends, is cancelled or goes back to draft.
 */
export const CreditReservation = defineEntity({
  name: 'CreditReservation',
  tableName: 'credit_reservation',
  properties: {
    operationId: p.uuid().primary(),
    account: () => p.manyToOne(Account).deleteRule('cascade'),
    kind: p.enum([...CREDIT_KINDS]),
    amount: p.bigint('number'),
    /** Credits per recipient reserved (1 for email; the SMS text's parts as written). */
    perRecipient: p.integer(),
    createdAt: p.datetime().defaultRaw('now()'),
    updatedAt: p.datetime().defaultRaw('now()'),
  },
  checks: [{ name: 'credit_reservation_not_negative', expression: 'amount >= 0' }],
});

export type CreditEntryRow = InferEntity<typeof CreditEntry>;
