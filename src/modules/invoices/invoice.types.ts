import { builder } from '../../builder.js';
import type { Context } from '../../context.js';
import { batched } from '../../shared/batch.js';
import { CreditKindEnum } from '../credits/credit.schema.js';
import { colleagueOf, inUsers } from '../users/colleague.js';
import { UserRef } from '../users/users.schema.js';
import type { CreditPack } from './invoice.config.js';
import {
  type InvoiceView,
  invoicesById,
  type LineView,
  linesOf,
  type PartyView,
  type PurchaseView,
} from './invoice.queries.js';

/**
 * The GraphQL types of invoices. Every one is reached only through INVOICES >= GUEST root fields
 * (creditPacks, creditPurchases, invoices, invoice, billingDetails, creditUsage and the
 * mutations), so prices and totals never show to a user without INVOICES.
 */

/** An invoice of the viewer's account by id, batched: one query for a page of purchases or notes. */
async function invoiceOf(ctx: Context, id: string | null): Promise<InvoiceView | null> {
  const accountId = ctx.viewer?.accountId;
  if (!accountId || !id) return null;
  return (
    (await batched(ctx.em, 'invoice.byId', id, (ids) => invoicesById(ctx.app.reads, accountId, ids))) ?? null
  );
}

export const CreditPackRef = builder.objectRef<CreditPack>('CreditPack').implement({
  description: 'A pack of the catalogue (configuration: INVOICE_PACKS). Prices exclude tax.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Its code, e.g. EMAIL_10K; what requestCreditPurchase takes' }),
    kind: t.field({ type: CreditKindEnum, description: 'Email or SMS credits', resolve: (p) => p.kind }),
    credits: t.exposeInt('credits', { description: 'Credits one pack adds to the balance' }),
    unitPrice: t.expose('unitPrice', { type: 'Decimal', description: 'Price of one pack excluding tax' }),
    vatRate: t.expose('vatRate', { type: 'Decimal', description: 'VAT rate in percent, e.g. 20' }),
    currency: t.exposeString('currency', { description: 'ISO 4217 code, e.g. EUR' }),
  }),
});

export const PurchaseStatusEnum = builder.enumType('CreditPurchaseStatus', {
  description: 'Where a purchase of credits stands',
  values: {
    PENDING: { description: 'Requested by an editor; waits for an approver of INVOICES' },
    APPROVED: {
      description: 'Approved: its invoice is issued (and its credits added, unless they wait for payment)',
    },
    REJECTED: { description: 'Refused by an approver, with a reason; nothing invoiced' },
  },
});

export const InvoiceTypeEnum = builder.enumType('InvoiceType', {
  description: 'An invoice, or a credit note (avoir) correcting one',
  values: {
    INVOICE: { description: 'Facture: numbered in the F<year> series' },
    CREDIT_NOTE: {
      description: 'Avoir: cancels an invoice; negative amounts, numbered in the A<year> series',
    },
  },
});

const InvoiceStatusEnum = builder.enumType('InvoiceStatus', {
  description: 'Payment state',
  values: {
    UNPAID: { description: 'Issued, waiting for its payment (bank transfer by default)' },
    PAID: { description: 'Paid (markInvoicePaid, or a payment provider)' },
    ISSUED: { description: 'A credit note: nothing to pay' },
  },
});

const PartyRef = builder.objectRef<PartyView>('InvoiceParty').implement({
  description:
    'The seller or the buyer as printed on an invoice, copied at issue. A value of its Invoice, so it has no id.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Company name' }),
    addressLines: t.exposeStringList('addressLines', { description: 'Postal address, line by line' }),
    vatNumber: t.exposeString('vatNumber', { nullable: true, description: 'Intra-community VAT number' }),
    siren: t.exposeString('siren', { nullable: true, description: 'SIREN (the seller)' }),
  }),
});

const LineRef = builder.objectRef<LineView>('InvoiceLine').implement({
  description: 'One line of an invoice; never changed once issued. A value of its Invoice, so it has no id.',
  fields: (t) => ({
    position: t.exposeInt('position', { description: 'From 1' }),
    label: t.exposeString('label', { description: 'What is sold' }),
    quantity: t.exposeInt('quantity', { description: 'How many (negative on a credit note)' }),
    unitPrice: t.expose('unitPrice', { type: 'Decimal', description: 'Unit price excluding tax' }),
    vatRate: t.expose('vatRate', { type: 'Decimal', description: 'VAT rate in percent' }),
    totalExclTax: t.expose('totalExclTax', { type: 'Decimal', description: 'quantity × unit price' }),
    vat: t.expose('vat', { type: 'Decimal', description: 'VAT of the line, rounded to the cent' }),
  }),
});

export const InvoiceRef = builder.objectRef<InvoiceView>('Invoice');
InvoiceRef.implement({
  description:
    'An issued invoice or credit note: numbered without gaps per account and series, never edited nor deleted (a mistake is corrected by a credit note). Amounts are exact decimals.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identity' }),
    type: t.field({ type: InvoiceTypeEnum, description: 'Invoice or credit note', resolve: (i) => i.type }),
    number: t.exposeString('number', {
      description: 'E.g. F2026-000001 (invoice) or A2026-000001 (credit note)',
    }),
    status: t.field({ type: InvoiceStatusEnum, description: 'Payment state', resolve: (i) => i.status }),
    issueDate: t.exposeString('issueDate', { description: 'Date of issue, YYYY-MM-DD (UTC)' }),
    dueDate: t.exposeString('dueDate', { description: 'Payment due date, YYYY-MM-DD' }),
    paidAt: t.expose('paidAt', { type: 'DateTime', nullable: true, description: 'When it was paid' }),
    seller: t.field({ type: PartyRef, description: 'Who sells', resolve: (i) => i.seller }),
    buyer: t.field({
      type: PartyRef,
      description: 'Who buys: the billing details at issue',
      resolve: (i) => i.buyer,
    }),
    currency: t.exposeString('currency', { description: 'ISO 4217 code' }),
    totalExclTax: t.expose('totalExclTax', { type: 'Decimal', description: 'Total excluding tax (HT)' }),
    totalVat: t.expose('totalVat', { type: 'Decimal', description: 'VAT (TVA)' }),
    totalInclTax: t.expose('totalInclTax', { type: 'Decimal', description: 'Total including tax (TTC)' }),
    lines: t.field({
      type: [LineRef],
      description: 'Its lines, in order',
      resolve: async (i, _a, ctx) =>
        (await batched(ctx.em, 'invoice.lines', i.id, (ids) => linesOf(ctx.app.reads, ids))) ?? [],
    }),
    creditOf: t.field({
      type: InvoiceRef,
      nullable: true,
      description: 'A credit note: the invoice it corrects',
      resolve: (i, _a, ctx) => invoiceOf(ctx, i.creditOf),
    }),
    reason: t.exposeString('reason', { nullable: true, description: 'A credit note: why it was issued' }),
    purchaseId: t.exposeID('purchaseId', { nullable: true, description: 'The purchase it invoices' }),
    pdfPath: t.string({
      description: 'GET it with the bearer token for the PDF: /invoices/<id>.pdf',
      resolve: (i) => `/invoices/${i.id}.pdf`,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was issued' }),
  }),
});

export const PurchaseRef = builder.objectRef<PurchaseView>('CreditPurchase').implement({
  description: 'A request to buy credit packs, and its decision. Prices are copied from the pack at request.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identity' }),
    packId: t.exposeString('packId', { description: 'The pack bought' }),
    kind: t.field({ type: CreditKindEnum, description: 'Email or SMS credits', resolve: (p) => p.kind }),
    credits: t.int({
      description: 'Credits it adds: credits per pack × quantity',
      resolve: (p) => p.credits * p.quantity,
    }),
    quantity: t.exposeInt('quantity', { description: 'Packs bought, 1 to 1000' }),
    unitPrice: t.expose('unitPrice', { type: 'Decimal', description: 'Price of one pack excluding tax' }),
    vatRate: t.expose('vatRate', { type: 'Decimal', description: 'VAT rate in percent' }),
    totalExclTax: t.expose('totalExclTax', { type: 'Decimal', description: 'quantity × unit price' }),
    currency: t.exposeString('currency', { description: 'ISO 4217 code' }),
    status: t.field({ type: PurchaseStatusEnum, description: 'Where it stands', resolve: (p) => p.status }),
    reason: t.exposeString('reason', { nullable: true, description: 'Why it was rejected' }),
    requestedBy: t.field({
      ...inUsers,
      type: UserRef,
      nullable: true,
      description: 'Who asked; null when deleted, or below USERS >= GUEST',
      resolve: (p, _a, ctx) => colleagueOf(ctx, p.requestedBy),
    }),
    decidedBy: t.field({
      ...inUsers,
      type: UserRef,
      nullable: true,
      description: 'Who approved or rejected; null when pending or deleted, or below USERS >= GUEST',
      resolve: (p, _a, ctx) => colleagueOf(ctx, p.decidedBy),
    }),
    invoice: t.field({
      type: InvoiceRef,
      nullable: true,
      description: 'Its invoice, once approved',
      resolve: (p, _a, ctx) => invoiceOf(ctx, p.invoiceId),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was requested' }),
    decidedAt: t.expose('decidedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it was decided',
    }),
  }),
});
