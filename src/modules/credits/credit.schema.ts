import { builder, need } from '../../builder.js';
import { batched } from '../../shared/batch.js';
import { notFound } from '../../shared/errors.js';
import { creditKindOf } from '../operations/operation.credits.js';
import { OperationRef } from '../operations/operation.types.js';
import { CREDIT_KINDS } from './credit.entity.js';
import { type CreditsView, creditsOf, ormExec } from './credit.service.js';

export const CreditKindEnum = builder.enumType('CreditKind', {
  description: 'What a credit buys',
  values: Object.fromEntries(
    CREDIT_KINDS.map((k) => [
      k,
      { description: { EMAIL: 'One email accepted by the receiving server', SMS: 'One SMS part' }[k] },
    ]),
  ),
});

const ReservationRef = builder
  .objectRef<{ operationId: string; amount: number }>('CreditReservation')
  .implement({
    description:
      'Credits held for one scheduled or sending operation: set at schedule, resized when its audience is frozen, drawn down as it sends, returned when it ends. Part of a balance, so it has no id of its own.',
    fields: (t) => ({
      operationId: t.exposeID('operationId', { description: 'The operation holding them' }),
      amount: t.exposeInt('amount', { description: 'Credits still held' }),
    }),
  });

export const BalanceRef = builder.objectRef<CreditsView & { accountId: string }>('CreditBalance').implement({
  description:
    "The account's credits of one kind, from its ledger. The balance is never negative, and never below what is reserved.",
  fields: (t) => ({
    id: t.id({
      description: 'Stable identity for client caches: account and kind',
      resolve: (b) => `${b.accountId}:${b.kind}`,
    }),
    kind: t.field({ type: CreditKindEnum, description: 'Email or SMS credits', resolve: (b) => b.kind }),
    balance: t.exposeInt('balance', {
      description: 'Credits owned: every allowance and purchase, less what sends used',
    }),
    reserved: t.exposeInt('reserved', { description: 'Held by scheduled and sending operations' }),
    available: t.exposeInt('available', {
      description: 'What a new schedule may reserve: balance less reserved',
    }),
    reservations: t.field({
      type: [ReservationRef],
      description: 'What each operation holds, oldest first',
      resolve: (b) => b.reservations,
    }),
  }),
});

interface AccountView {
  id: string;
  name: string;
  createdAt: Date;
}

const AccountRef = builder.objectRef<AccountView>('Account').implement({
  description: 'The account the viewer belongs to.',
  fields: (t) => ({
    id: t.exposeID('id', { description: "The account's id" }),
    name: t.exposeString('name', { description: 'Its name, 1 to 200 characters' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created' }),
    credits: t.withAuth(need('INVOICES', 'GUEST')).field({
      type: [BalanceRef],
      description:
        'Email and SMS credits: balance, reserved and available, and what each operation holds (INVOICES >= GUEST)',
      resolve: async (a, _args, ctx) =>
        (await creditsOf(ormExec(ctx.em), a.id)).map((b) => ({ ...b, accountId: a.id })),
    }),
  }),
});

builder.queryField('account', (t) =>
  t.withAuth({ authenticated: true }).field({
    type: AccountRef,
    description: 'The account of the viewer (any user of it); its credits need INVOICES >= GUEST.',
    resolve: async (_root, _args, ctx) => {
      const [row] = await ctx.em.execute<{ id: string; name: string; created_at: Date }[]>(
        'select id, name, created_at from account where id = ?',
        [ctx.viewer.accountId],
      );
      if (!row) throw notFound('Account');
      return { id: row.id, name: row.name, createdAt: row.created_at };
    },
  }),
);

interface OperationCredits {
  operationId: string;
  kind: 'EMAIL' | 'SMS';
  reserved: number;
  used: number;
}

const OperationCreditsRef = builder.objectRef<OperationCredits>('OperationCredits').implement({
  description: "What an operation costs in credits, from the ledger. Identified by its operation's id.",
  fields: (t) => ({
    id: t.exposeID('operationId', { description: "The operation's id" }),
    kind: t.field({ type: CreditKindEnum, description: 'Email or SMS credits', resolve: (c) => c.kind }),
    reserved: t.exposeInt('reserved', { description: 'Still held for it (scheduled, sending)' }),
    used: t.exposeInt('used', { description: 'Paid for what it sent: emails accepted, SMS parts' }),
  }),
});

// Costs are invoice data: INVOICES >= GUEST on top of the operation's own right (issue 16).
builder.objectField(OperationRef, 'credits', (t) =>
  t.withAuth(need('INVOICES', 'GUEST')).field({
    type: OperationCreditsRef,
    description: 'Credits reserved and used by this operation (INVOICES >= GUEST)',
    resolve: async (o, _args, ctx) => {
      // One query for a page of operations.
      const row = await batched(ctx.em, 'operation.credits', o.id, async (ids) => {
        const rows = await ctx.em.execute<{ id: string; reserved: string | null; used: string | null }[]>(
          `select o.id, (select amount from credit_reservation r where r.operation_id = o.id) as reserved,
                  (select -sum(amount) from credit_entry e where e.operation_id = o.id and e.type = 'USAGE'
                      and e.account_id = o.account_id) as used
             from operation o where o.account_id = ? and o.id in (?)`,
          [ctx.viewer.accountId, ids],
        );
        return new Map(rows.map((r) => [r.id, r]));
      });
      return {
        operationId: o.id,
        kind: creditKindOf(o.kind),
        reserved: Number(row?.reserved ?? 0),
        used: Number(row?.used ?? 0),
      };
    },
  }),
);
