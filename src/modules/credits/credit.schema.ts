import { builder, need } from '../../builder.js';
import { notFound } from '../../shared/errors.js';
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

const BalanceRef = builder.objectRef<CreditsView & { accountId: string }>('CreditBalance').implement({
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
    createdAt: t.field({ type: 'DateTime', description: 'When it was created', resolve: (a) => a.createdAt }),
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
