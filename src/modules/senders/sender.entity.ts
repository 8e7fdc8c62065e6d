import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Account } from '../account/account.entity.js';

/**
 * An address the account may send operations from. PENDING until someone who reads its mail
 * follows the confirmation link: nobody sends "from" an address they cannot show they receive.
 * Unique per account whatever the case (index in the migration). The one-time token lives on the
 * row, hashed: a new link replaces the hash, which voids the old link without a second table.
 */
export const Sender = defineEntity({
  name: 'Sender',
  tableName: 'sender',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    account: () => p.manyToOne(Account).deleteRule('cascade'),
    email: p.string().length(320),
    name: p.string().length(200).nullable(),
    status: p.enum(['PENDING', 'VERIFIED'] as const).default('PENDING'),
    /** sha256 of the confirmation token; a leaked table leaks no link. */
    tokenHash: p.string().length(64).nullable().unique(),
    tokenExpiresAt: p.datetime().nullable(),
    tokenUsedAt: p.datetime().nullable(),
    createdBy: p.uuid().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
    verifiedAt: p.datetime().nullable(),
  },
  indexes: [
    {
      name: 'sender_account_email_unique',
      expression: 'create unique index sender_account_email_unique on sender (account_id, lower(email))',
    },
  ],
});

export type SenderRow = InferEntity<typeof Sender>;
