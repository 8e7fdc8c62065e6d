import { badInput, conflict, forbidden, notFound } from '../../shared/errors.js';
import { isUuid } from '../../shared/ids.js';
import { addCredits, type Exec } from '../credits/credit.service.js';
import { type Actor, record } from './invoice.audit.js';
import type { InvoiceConfig } from './invoice.config.js';

export type { Actor } from './invoice.audit.js';

/**
 * Purchases of credit packs and the invoices and credit notes they give. Every amount is
 * computed by PostgreSQL on numeric(14,2) columns (never a JS float); numbers come from the
 * account's series row, taken inside the issuing transaction (see allocateNumber).
 */

export interface ApproveHooks {
  /** Tests only: runs right after the number is taken, inside the transaction. */
  afterNumber?: (number: string) => Promise<void> | void;
}

const uuid = (id: string, what: string) => {
  if (!isUuid(id)) throw notFound(what);
  return id;
};

/**
 * The next number of the account's series, gapless: the series row is created if missing, then
 * incremented with UPDATE ... RETURNING, which locks it until the transaction ends. Concurrent
 * issues queue on that row; a rollback undoes the increment, so the number is given again.
 */
export async function allocateNumber(
  exec: Exec,
  accountId: string,
  series: string,
): Promise<{ seq: number; number: string }> {
  await exec(
    'insert into invoice_series (account_id, series) values ($1, $2) on conflict (account_id, series) do nothing',
    [accountId, series],
  );
  const [row] = await exec<{ seq: number }>(
    'update invoice_series set next_number = next_number + 1 where account_id = $1 and series = $2 returning next_number - 1 as seq',
    [accountId, series],
  );
  return { seq: row.seq, number: `${series}-${String(row.seq).padStart(6, '0')}` };
}

/** F<year> for invoices, A<year> for credit notes: numbering restarts each calendar year (UTC). */
const seriesOf = (type: 'INVOICE' | 'CREDIT_NOTE', year: number) =>
  `${type === 'INVOICE' ? 'F' : 'A'}${year}`;

export async function requestCreditPurchase(
  exec: Exec,
  cfg: InvoiceConfig,
  actor: Actor,
  input: { packId: string; quantity: number },
): Promise<string> {
  const pack = cfg.packs.find((p) => p.id === input.packId);
  if (!pack) throw badInput(`Unknown credit pack ${JSON.stringify(input.packId)}`, { field: 'packId' });
  if (!Number.isSafeInteger(input.quantity) || input.quantity < 1 || input.quantity > 1000)
    throw badInput('quantity must be a whole number from 1 to 1000', { field: 'quantity' });
  const [row] = await exec<{ id: string }>(
    `insert into credit_purchase (account_id, pack_id, kind, credits, quantity, unit_price, vat_rate, currency, requested_by)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id`,
    [
      actor.accountId,
      pack.id,
      pack.kind,
      pack.credits,
      input.quantity,
      pack.unitPrice,
      pack.vatRate,
      pack.currency,
      actor.userId,
    ],
  );
  record(actor, 'requestCreditPurchase', 'CreditPurchase', row.id, {
    packId: pack.id,
    quantity: input.quantity,
  });
  return row.id;
}

interface PurchaseRow {
  id: string;
  status: string;
  requested_by: string | null;
  kind: 'EMAIL' | 'SMS';
  credits: number;
  quantity: number;
  pack_id: string;
  currency: string;
}

async function lockPending(exec: Exec, actor: Actor, id: string): Promise<PurchaseRow> {
  const [p] = await exec<PurchaseRow>(
    'select * from credit_purchase where id = $1 and account_id = $2 for update',
    [uuid(id, 'Purchase'), actor.accountId],
  );
  if (!p) throw notFound('Purchase');
  if (p.status !== 'PENDING')
    throw conflict(`This purchase is already ${p.status}`, { reason: 'NOT_PENDING', status: p.status });
  return p;
}

/**
 * Approves a pending purchase in one transaction: the purchase locked, the number taken, the
 * invoice and its line written with the buyer copied from billing_details, the credits added to
 * the ledger (unless they wait for payment), the audit entry. Any failure rolls all of it back.
 */
export async function approveCreditPurchase(
  exec: Exec,
  cfg: InvoiceConfig,
  actor: Actor,
  id: string,
  opts: { hooks?: ApproveHooks } = {},
): Promise<{ invoiceId: string; number: string }> {
  const p = await lockPending(exec, actor, id);
  if (cfg.fourEyes && p.requested_by === actor.userId)
    throw forbidden('Four-eyes rule: the requester of a purchase may not approve it; another approver must');
  const [buyer] = await exec<{ buyer: unknown }>(
    `select jsonb_build_object('companyName', company_name, 'addressLines', address_lines, 'postcode', postcode,
       'city', city, 'country', country, 'vatNumber', vat_number) as buyer from billing_details where account_id = $1`,
    [actor.accountId],
  );
  if (!buyer)
    throw conflict('Fill in the billing details before a purchase is approved', {
      reason: 'NO_BILLING_DETAILS',
    });
  const series = await seriesNow(exec, 'INVOICE');
  const { seq, number } = await allocateNumber(exec, actor.accountId, series);
  await opts.hooks?.afterNumber?.(number);
  const [inv] = await exec<{ id: string }>(
    `insert into invoice (account_id, type, series, seq, number, purchase_id, seller, buyer, currency,
       total_excl_tax, total_vat, total_incl_tax, issue_date, due_date, status)
     select $1, 'INVOICE', $2, $3, $4, p.id, $5, $6, p.currency, t.excl, t.vat, t.excl + t.vat,
       (now() at time zone 'UTC')::date, (now() at time zone 'UTC')::date + $7::int, 'UNPAID'
     from credit_purchase p,
       lateral (select round(p.quantity * p.unit_price, 2) as excl, round(p.quantity * p.unit_price * p.vat_rate / 100, 2) as vat) t
     where p.id = $8 returning id`,
    [actor.accountId, series, seq, number, cfg.seller, buyer.buyer, cfg.dueDays, p.id],
  );
  await exec(
    `insert into invoice_line (invoice_id, position, label, quantity, unit_price, vat_rate, total_excl_tax, vat)
     select $1, 1, $2, p.quantity, p.unit_price, p.vat_rate, round(p.quantity * p.unit_price, 2),
       round(p.quantity * p.unit_price * p.vat_rate / 100, 2) from credit_purchase p where p.id = $3`,
    [inv.id, `Pack ${p.pack_id}: ${p.credits} ${p.kind} credits`, p.id],
  );
  if (!cfg.creditsAfterPayment) await creditPurchase(exec, actor.accountId, inv.id, p, number);
  await exec(
    `update credit_purchase set status = 'APPROVED', decided_by = $2, decided_at = now(), invoice_id = $3 where id = $1`,
    [p.id, actor.userId, inv.id],
  );
  record(actor, 'approveCreditPurchase', 'CreditPurchase', p.id, { invoice: number });
  return { invoiceId: inv.id, number };
}

async function creditPurchase(
  exec: Exec,
  accountId: string,
  invoiceId: string,
  p: PurchaseRow,
  number: string,
) {
  await addCredits(exec, accountId, p.kind, p.credits * p.quantity, 'PURCHASE', `invoice ${number}`);
  await exec('update invoice set credited = true where id = $1', [invoiceId]);
}

export async function rejectCreditPurchase(
  exec: Exec,
  actor: Actor,
  id: string,
  reason: string,
): Promise<void> {
  const why = reason.trim();
  if (!why || why.length > 500) throw badInput('reason must hold 1 to 500 characters', { field: 'reason' });
  const p = await lockPending(exec, actor, id);
  await exec(
    `update credit_purchase set status = 'REJECTED', decided_by = $2, decided_at = now(), reason = $3 where id = $1`,
    [p.id, actor.userId, why],
  );
  record(actor, 'rejectCreditPurchase', 'CreditPurchase', p.id, { reason: why });
}

/** Owner only (checked by the caller). Credits a purchase that waited for its payment, once. */
export async function markInvoicePaid(exec: Exec, actor: Actor, id: string): Promise<void> {
  const [inv] = await exec<{ id: string; status: string; credited: boolean; number: string; type: string }>(
    'select id, status, credited, number, type from invoice where id = $1 and account_id = $2 for update',
    [uuid(id, 'Invoice'), actor.accountId],
  );
  if (inv?.type !== 'INVOICE') throw notFound('Invoice');
  if (inv.status === 'PAID') throw conflict('This invoice is already paid', { reason: 'ALREADY_PAID' });
  await exec(`update invoice set status = 'PAID', paid_at = now() where id = $1`, [inv.id]);
  if (!inv.credited) {
    const [p] = await exec<PurchaseRow>('select * from credit_purchase where invoice_id = $1', [inv.id]);
    if (p) await creditPurchase(exec, actor.accountId, inv.id, p, inv.number);
  }
  record(actor, 'markInvoicePaid', 'Invoice', inv.id, { number: inv.number });
}

/**
 * A credit note (avoir) for what remains of an invoice: its lines negated, its own A<year> series,
 * referencing the invoice. Never more than the invoice: a second credit note of the same invoice
 * is refused (partial credit notes with chosen lines are not done yet).
 */
export async function issueCreditNote(
  exec: Exec,
  actor: Actor,
  invoiceId: string,
  reason: string,
): Promise<{ id: string; number: string }> {
  const why = reason.trim();
  if (!why || why.length > 500) throw badInput('reason must hold 1 to 500 characters', { field: 'reason' });
  const [inv] = await exec<{ id: string; type: string }>(
    'select id, type from invoice where id = $1 and account_id = $2 for update',
    [uuid(invoiceId, 'Invoice'), actor.accountId],
  );
  if (inv?.type !== 'INVOICE') throw notFound('Invoice');
  const [done] = await exec('select 1 from invoice where credit_of = $1', [inv.id]);
  if (done)
    throw conflict('This invoice already has a credit note for its whole amount', {
      reason: 'ALREADY_CREDITED',
    });
  const series = await seriesNow(exec, 'CREDIT_NOTE');
  const { seq, number } = await allocateNumber(exec, actor.accountId, series);
  const [note] = await exec<{ id: string }>(
    `insert into invoice (account_id, type, series, seq, number, credit_of, reason, seller, buyer, currency,
       total_excl_tax, total_vat, total_incl_tax, issue_date, due_date, status)
     select account_id, 'CREDIT_NOTE', $2, $3, $4, id, $5, seller, buyer, currency, -total_excl_tax, -total_vat,
       -total_incl_tax, (now() at time zone 'UTC')::date, (now() at time zone 'UTC')::date, 'ISSUED'
     from invoice where id = $1 returning id`,
    [inv.id, series, seq, number, why],
  );
  await exec(
    `insert into invoice_line (invoice_id, position, label, quantity, unit_price, vat_rate, total_excl_tax, vat)
     select $1, position, label, -quantity, unit_price, vat_rate, -total_excl_tax, -vat from invoice_line where invoice_id = $2`,
    [note.id, inv.id],
  );
  record(actor, 'issueCreditNote', 'Invoice', note.id, {
    number,
    creditOf: inv.id,
    reason: why,
  });
  return { id: note.id, number };
}

/** The series a document issued now goes to: the year on the database's clock, in UTC. */
async function seriesNow(exec: Exec, type: 'INVOICE' | 'CREDIT_NOTE'): Promise<string> {
  const [{ year }] = await exec<{ year: number }>(
    `select extract(year from now() at time zone 'UTC')::int as year`,
    [],
  );
  return seriesOf(type, year);
}
