import { builder, need } from '../../builder.js';
import type { AuthedContext } from '../../context.js';
import { connection } from '../../shared/pagination.js';
import { mutate } from '../audit/audit.service.js';
import { BalanceRef, CreditKindEnum } from '../credits/credit.schema.js';
import { creditsOf, type Exec, ormExec } from '../credits/credit.service.js';
import { creditUsage, MAX_USAGE_DAYS, MAX_USAGE_ROWS, type UsageRow } from './credit-usage.js';
import type { Actor } from './invoice.audit.js';
import { updateBillingDetails } from './invoice.billing.js';
import {
  billingDetailsOf,
  findInvoice,
  findPurchase,
  listInvoices,
  listPurchases,
} from './invoice.queries.js';
import {
  approveCreditPurchase,
  issueCreditNote,
  markInvoicePaid,
  rejectCreditPurchase,
  requestCreditPurchase,
} from './invoice.service.js';
import { CreditPackRef, InvoiceRef, PurchaseRef, PurchaseStatusEnum } from './invoice.types.js';

/**
 * Invoices and credits over GraphQL (issue 16): thin resolvers over invoice.service.ts. INVOICES:
 * GUEST reads invoices, packs, usage and balances; EDITOR edits billing details and requests
 * purchases; APPROVER approves, rejects and issues credit notes; the owner marks invoices paid.
 */
const read = need('INVOICES', 'GUEST');
const edit = need('INVOICES', 'EDITOR');
const approve = need('INVOICES', 'APPROVER');

/**
 * Runs a service call as the viewer in `mutate`'s transaction: its history entries commit with
 * the change and are published after the commit, as every mutation's.
 */
const acting = <T>(ctx: AuthedContext, fn: (exec: Exec, actor: Actor) => Promise<T>): Promise<T> =>
  mutate(ctx, ({ em, audit }) =>
    fn(ormExec(em), { accountId: ctx.viewer.accountId, userId: ctx.viewer.userId, audit }),
  );

/**
 * Reads go through the read pool's sessions (src/db/bounded-read.ts), never the jobs pool, whose
 * six sessions the sending workers and score runs need.
 */
const pool = (ctx: AuthedContext) => ctx.app.reads;
const cfg = (ctx: AuthedContext) => ctx.app.config.invoices;

type Billing = NonNullable<Awaited<ReturnType<typeof billingDetailsOf>>>;
const BillingRef = builder.objectRef<Billing>('BillingDetails').implement({
  description:
    'The buyer printed on invoices: copied into each invoice at issue, so a change never alters one issued.',
  fields: (t) => ({
    id: t.exposeID('accountId', { description: "The account's id (one per account)" }),
    companyName: t.exposeString('companyName', { description: '1 to 200 characters' }),
    addressLines: t.exposeStringList('addressLines', { description: '1 to 4 lines of 200 characters' }),
    postcode: t.exposeString('postcode', { description: 'Up to 20 characters' }),
    city: t.exposeString('city', { description: 'Up to 120 characters' }),
    country: t.exposeString('country', { description: 'ISO 3166 alpha-2 code, e.g. FR' }),
    vatNumber: t.exposeString('vatNumber', {
      nullable: true,
      description: 'Intra-community VAT number, e.g. FR12345678901',
    }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'Last change' }),
  }),
});

const BillingInput = builder.inputType('UpdateBillingDetailsInput', {
  description: 'The whole billing details (they replace the previous ones).',
  fields: (t) => ({
    companyName: t.string({ required: true, description: '1 to 200 characters' }),
    addressLines: t.stringList({ required: true, description: '1 to 4 lines of 1 to 200 characters' }),
    postcode: t.string({ required: true, description: '1 to 20 characters' }),
    city: t.string({ required: true, description: '1 to 120 characters' }),
    country: t.string({ required: true, description: 'ISO 3166 alpha-2 code, e.g. FR' }),
    vatNumber: t.string({ required: false, description: 'Intra-community VAT number; spaces are dropped' }),
  }),
});

const UsageGroupEnum = builder.enumType('CreditUsageGroup', {
  description: 'How creditUsage groups what was consumed',
  values: {
    DAY: { description: 'Per UTC day' },
    OPERATION: { description: 'Per operation, the largest first' },
  },
});

const UsageRowRef = builder.objectRef<UsageRow>('CreditUsageRow').implement({
  description:
    'Credits of one kind consumed in one day or by one operation. A row of its CreditUsage report, so it has no id.',
  fields: (t) => ({
    kind: t.field({ type: CreditKindEnum, description: 'Email or SMS credits', resolve: (r) => r.kind }),
    day: t.exposeString('day', { nullable: true, description: 'groupBy DAY: the UTC day, YYYY-MM-DD' }),
    operationId: t.exposeID('operationId', {
      nullable: true,
      description: 'groupBy OPERATION: the operation',
    }),
    used: t.exposeInt('used', { description: 'Credits consumed' }),
  }),
});

const UsageRef = builder.objectRef<{ rows: UsageRow[]; accountId: string }>('CreditUsage').implement({
  description:
    'What sends consumed over a period, from the credit ledger, and the balances now. A one-off report, so it has no id.',
  fields: (t) => ({
    rows: t.field({
      type: [UsageRowRef],
      description: `At most ${MAX_USAGE_ROWS} rows`,
      resolve: (u) => u.rows,
    }),
    balances: t.field({
      type: [BalanceRef],
      description: 'The balance, reserved and available credits of each kind now',
      resolve: async (u, _a, ctx) =>
        (await creditsOf(ormExec(ctx.em), u.accountId)).map((b) => ({ ...b, accountId: u.accountId })),
    }),
  }),
});

const PurchaseConnection = connection('CreditPurchase', PurchaseRef);
const InvoiceConnection = connection('Invoice', InvoiceRef);

builder.queryField('creditPacks', (t) =>
  t.withAuth(read).field({
    type: [CreditPackRef],
    description: 'The catalogue of credit packs, with their prices.',
    resolve: (_r, _a, ctx) => cfg(ctx).packs,
  }),
);

builder.queryField('creditPurchases', (t) =>
  t.withAuth(read).field({
    type: PurchaseConnection,
    description: 'Purchases of credits, newest first; at most 200 per page.',
    args: {
      status: t.arg({ type: PurchaseStatusEnum, required: false, description: 'Only this status' }),
      first: t.arg.int({ required: false, description: 'Per page, 1 to 200, default 50' }),
      after: t.arg.string({ required: false, description: 'The endCursor of the previous page' }),
    },
    resolve: (_r, a, ctx) => listPurchases(pool(ctx), ctx.viewer.accountId, a),
  }),
);

builder.queryField('invoices', (t) =>
  t.withAuth(read).field({
    type: InvoiceConnection,
    description: 'Invoices and credit notes, newest first; at most 200 per page.',
    args: {
      first: t.arg.int({ required: false, description: 'Per page, 1 to 200, default 50' }),
      after: t.arg.string({ required: false, description: 'The endCursor of the previous page' }),
    },
    resolve: (_r, a, ctx) => listInvoices(pool(ctx), ctx.viewer.accountId, a),
  }),
);

builder.queryField('invoice', (t) =>
  t.withAuth(read).field({
    type: InvoiceRef,
    description: "One invoice or credit note; NOT_FOUND for unknown ids, other accounts' included.",
    args: { id: t.arg.id({ required: true, description: 'The invoice' }) },
    resolve: (_r, a, ctx) => findInvoice(pool(ctx), ctx.viewer.accountId, String(a.id)),
  }),
);

builder.queryField('billingDetails', (t) =>
  t.withAuth(read).field({
    type: BillingRef,
    nullable: true,
    description: 'The billing details; null until an editor fills them in (a purchase needs them).',
    resolve: (_r, _a, ctx) => billingDetailsOf(pool(ctx), ctx.viewer.accountId),
  }),
);

builder.queryField('creditUsage', (t) =>
  t.withAuth(read).field({
    type: UsageRef,
    description: `Credits consumed by sends from \`from\` (included) to \`to\` (excluded), at most ${MAX_USAGE_DAYS} days, per kind and day or operation; with the balances and reservations now.`,
    args: {
      from: t.arg({ type: 'DateTime', required: true, description: 'Start, included' }),
      to: t.arg({ type: 'DateTime', required: true, description: 'End, excluded' }),
      groupBy: t.arg({ type: UsageGroupEnum, required: false, description: 'DAY (default) or OPERATION' }),
    },
    resolve: async (_r, a, ctx) => ({
      accountId: ctx.viewer.accountId,
      rows: await creditUsage(
        pool(ctx),
        ctx.viewer.accountId,
        a.from as Date,
        a.to as Date,
        a.groupBy ?? 'DAY',
      ),
    }),
  }),
);

builder.mutationField('requestCreditPurchase', (t) =>
  t.withAuth(edit).field({
    type: PurchaseRef,
    description: 'Asks to buy `quantity` packs; PENDING until an approver of INVOICES decides.',
    args: {
      packId: t.arg.string({ required: true, description: 'A pack of creditPacks' }),
      quantity: t.arg.int({ required: true, description: 'Packs, 1 to 1000' }),
    },
    resolve: async (_r, a, ctx) => {
      const id = await acting(ctx, (exec, actor) => requestCreditPurchase(exec, cfg(ctx), actor, a));
      return findPurchase(pool(ctx), ctx.viewer.accountId, id);
    },
  }),
);

builder.mutationField('approveCreditPurchase', (t) =>
  t.withAuth(approve).field({
    type: PurchaseRef,
    description:
      'Approves a PENDING purchase: issues its invoice and (unless CREDITS_AFTER_PAYMENT) adds its credits, in one transaction. With INVOICE_FOUR_EYES the requester may not approve (FORBIDDEN); CONFLICT when not pending or without billing details.',
    args: { id: t.arg.id({ required: true, description: 'The purchase' }) },
    resolve: async (_r, a, ctx) => {
      await acting(ctx, (exec, actor) => approveCreditPurchase(exec, cfg(ctx), actor, String(a.id)));
      return findPurchase(pool(ctx), ctx.viewer.accountId, String(a.id));
    },
  }),
);

builder.mutationField('rejectCreditPurchase', (t) =>
  t.withAuth(approve).field({
    type: PurchaseRef,
    description: 'Rejects a PENDING purchase with a reason (1 to 500 characters); nothing is invoiced.',
    args: {
      id: t.arg.id({ required: true, description: 'The purchase' }),
      reason: t.arg.string({ required: true, description: 'Why, 1 to 500 characters' }),
    },
    resolve: async (_r, a, ctx) => {
      await acting(ctx, (exec, actor) => rejectCreditPurchase(exec, actor, String(a.id), a.reason));
      return findPurchase(pool(ctx), ctx.viewer.accountId, String(a.id));
    },
  }),
);

builder.mutationField('issueCreditNote', (t) =>
  t.withAuth(approve).field({
    type: InvoiceRef,
    description:
      'Issues a credit note (avoir) for the whole of an invoice, with a reason (1 to 500 characters); CONFLICT if it already has one. Returns the credit note.',
    args: {
      invoiceId: t.arg.id({ required: true, description: 'The invoice to correct' }),
      reason: t.arg.string({ required: true, description: 'Why, 1 to 500 characters' }),
    },
    resolve: async (_r, a, ctx) => {
      const note = await acting(ctx, (exec, actor) =>
        issueCreditNote(exec, actor, String(a.invoiceId), a.reason),
      );
      return findInvoice(pool(ctx), ctx.viewer.accountId, note.id);
    },
  }),
);

builder.mutationField('markInvoicePaid', (t) =>
  t.withAuth({ owner: true }).field({
    type: InvoiceRef,
    description:
      'The account owner records the payment of an UNPAID invoice (bank transfer); credits waiting for it are added then. CONFLICT when already paid.',
    args: { id: t.arg.id({ required: true, description: 'The invoice' }) },
    resolve: async (_r, a, ctx) => {
      await acting(ctx, (exec, actor) => markInvoicePaid(exec, actor, String(a.id)));
      return findInvoice(pool(ctx), ctx.viewer.accountId, String(a.id));
    },
  }),
);

builder.mutationField('updateBillingDetails', (t) =>
  t.withAuth(edit).field({
    type: BillingRef,
    description: 'Replaces the billing details; invoices already issued keep the buyer they were issued to.',
    args: { input: t.arg({ type: BillingInput, required: true, description: 'The billing details' }) },
    resolve: async (_r, a, ctx) => {
      await acting(ctx, (exec, actor) =>
        updateBillingDetails(exec, actor, { ...a.input, vatNumber: a.input.vatNumber ?? null }),
      );
      return (await billingDetailsOf(pool(ctx), ctx.viewer.accountId)) as Billing;
    },
  }),
);
