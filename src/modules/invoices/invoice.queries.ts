import type pg from 'pg';
import { badInput, notFound } from '../../shared/errors.js';
import { isUuid } from '../../shared/ids.js';
import { decodeCursor, type Page, pageSize, toPage } from '../../shared/pagination.js';
import type { BillingDetails } from './invoice.billing.js';

/**
 * Reads of purchases, invoices and billing details, every one filtered on the viewer's account:
 * another account's id is NOT_FOUND, never a sign that it exists. Amounts leave PostgreSQL as
 * text (numeric::text), so no float ever holds one.
 */

export interface PurchaseView {
  id: string;
  packId: string;
  kind: 'EMAIL' | 'SMS';
  credits: number;
  quantity: number;
  unitPrice: string;
  vatRate: string;
  currency: string;
  totalExclTax: string;
  status: 'PENDING' | 'APPROVED' | 'REJECTED';
  requestedBy: string | null;
  decidedBy: string | null;
  reason: string | null;
  invoiceId: string | null;
  createdAt: Date;
  decidedAt: Date | null;
  cursor: string;
}

export interface PartyView {
  name: string;
  addressLines: string[];
  vatNumber: string | null;
  siren: string | null;
}

export interface LineView {
  position: number;
  label: string;
  quantity: number;
  unitPrice: string;
  vatRate: string;
  totalExclTax: string;
  vat: string;
}

export interface InvoiceView {
  id: string;
  type: 'INVOICE' | 'CREDIT_NOTE';
  number: string;
  creditOf: string | null;
  reason: string | null;
  purchaseId: string | null;
  seller: PartyView;
  buyer: PartyView;
  currency: string;
  totalExclTax: string;
  totalVat: string;
  totalInclTax: string;
  issueDate: string;
  dueDate: string;
  status: 'UNPAID' | 'PAID' | 'ISSUED';
  paidAt: Date | null;
  createdAt: Date;
  cursor: string;
}

// A cursor is the row's creation instant (to the microsecond) and id: unique, and stable as rows
// are never deleted.
const CURSOR_SQL = `to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '|' || id`;
const CURSOR = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z\|[0-9a-f-]{36}$/;

function after(cursor: string | null | undefined): [string, string] | null {
  const key = decodeCursor(cursor);
  if (key === null) return null;
  if (!CURSOR.test(key) || !isUuid(key.slice(28))) throw badInput('after: not a cursor returned by this API');
  return [key.slice(0, 27), key.slice(28)];
}

const PURCHASE_COLS = `id, pack_id as "packId", kind, credits, quantity, unit_price::text as "unitPrice",
  vat_rate::text as "vatRate", currency, round(quantity * unit_price, 2)::text as "totalExclTax", status,
  requested_by as "requestedBy", decided_by as "decidedBy", reason, invoice_id as "invoiceId",
  created_at as "createdAt", decided_at as "decidedAt", ${CURSOR_SQL} as cursor`;

export async function listPurchases(
  db: pg.Pool,
  accountId: string,
  args: { status?: string | null; first?: number | null; after?: string | null },
): Promise<Page<PurchaseView>> {
  const size = pageSize(args.first);
  const from = after(args.after);
  const { rows } = await db.query<PurchaseView>(
    `select ${PURCHASE_COLS} from credit_purchase where account_id = $1 and ($2::text is null or status = $2)
       and ($3::timestamptz is null or (created_at, id) < ($3::timestamptz, $4::uuid))
     order by created_at desc, id desc limit $5`,
    [accountId, args.status ?? null, from?.[0] ?? null, from?.[1] ?? null, size + 1],
  );
  return toPage(rows, size, (r) => r.cursor);
}

export async function findPurchase(db: pg.Pool, accountId: string, id: string): Promise<PurchaseView> {
  const { rows } = isUuid(id)
    ? await db.query<PurchaseView>(
        `select ${PURCHASE_COLS} from credit_purchase where id = $1 and account_id = $2`,
        [id, accountId],
      )
    : { rows: [] };
  if (!rows[0]) throw notFound('Purchase');
  return rows[0];
}

const INVOICE_COLS = `id, type, number, credit_of as "creditOf", reason, purchase_id as "purchaseId", seller, buyer,
  currency, total_excl_tax::text as "totalExclTax", total_vat::text as "totalVat",
  total_incl_tax::text as "totalInclTax", issue_date::text as "issueDate", due_date::text as "dueDate", status,
  paid_at as "paidAt", created_at as "createdAt", ${CURSOR_SQL} as cursor`;

/** The seller as configured and the buyer as copied from billing_details, in one shape. */
function party(raw: Record<string, unknown>): PartyView {
  if ('companyName' in raw)
    return {
      name: String(raw.companyName),
      addressLines: [
        ...((raw.addressLines as string[]) ?? []),
        `${raw.postcode} ${raw.city}`,
        String(raw.country),
      ],
      vatNumber: (raw.vatNumber as string | null) ?? null,
      siren: null,
    };
  return {
    name: String(raw.name),
    addressLines: (raw.address as string[]) ?? [],
    vatNumber: (raw.vatNumber as string | null) ?? null,
    siren: (raw.siren as string | null) ?? null,
  };
}

type InvoiceRow = Omit<InvoiceView, 'seller' | 'buyer'> & {
  seller: Record<string, unknown>;
  buyer: Record<string, unknown>;
};
const toView = (r: InvoiceRow): InvoiceView => ({ ...r, seller: party(r.seller), buyer: party(r.buyer) });

export async function listInvoices(
  db: pg.Pool,
  accountId: string,
  args: { first?: number | null; after?: string | null },
): Promise<Page<InvoiceView>> {
  const size = pageSize(args.first);
  const from = after(args.after);
  const { rows } = await db.query<InvoiceRow>(
    `select ${INVOICE_COLS} from invoice where account_id = $1
       and ($2::timestamptz is null or (created_at, id) < ($2::timestamptz, $3::uuid))
     order by created_at desc, id desc limit $4`,
    [accountId, from?.[0] ?? null, from?.[1] ?? null, size + 1],
  );
  return toPage(rows.map(toView), size, (r) => r.cursor);
}

export async function findInvoice(db: pg.Pool, accountId: string, id: string): Promise<InvoiceView> {
  const { rows } = isUuid(id)
    ? await db.query<InvoiceRow>(`select ${INVOICE_COLS} from invoice where id = $1 and account_id = $2`, [
        id,
        accountId,
      ])
    : { rows: [] };
  if (!rows[0]) throw notFound('Invoice');
  return toView(rows[0]);
}

/** Several invoices by id in one query (the invoices of a page of purchases), by id. */
export async function invoicesById(
  db: pg.Pool,
  accountId: string,
  ids: string[],
): Promise<Map<string, InvoiceView>> {
  const { rows } = await db.query<InvoiceRow>(
    `select ${INVOICE_COLS} from invoice where account_id = $1 and id = any($2::uuid[])`,
    [accountId, ids],
  );
  return new Map(rows.map((r) => [r.id, toView(r)]));
}

export async function linesOf(db: pg.Pool, invoiceIds: string[]): Promise<Map<string, LineView[]>> {
  const { rows } = await db.query<LineView & { invoiceId: string }>(
    `select invoice_id as "invoiceId", position, label, quantity, unit_price::text as "unitPrice",
       vat_rate::text as "vatRate", total_excl_tax::text as "totalExclTax", vat::text as vat
     from invoice_line where invoice_id = any($1::uuid[]) order by invoice_id, position`,
    [invoiceIds],
  );
  const out = new Map<string, LineView[]>();
  for (const { invoiceId, ...line } of rows) out.set(invoiceId, [...(out.get(invoiceId) ?? []), line]);
  return out;
}

export async function billingDetailsOf(
  db: pg.Pool,
  accountId: string,
): Promise<(BillingDetails & { accountId: string; updatedAt: Date }) | null> {
  const { rows } = await db.query(
    `select account_id as "accountId", company_name as "companyName", address_lines as "addressLines", postcode,
       city, country, vat_number as "vatNumber", updated_at as "updatedAt" from billing_details where account_id = $1`,
    [accountId],
  );
  return rows[0] ?? null;
}
