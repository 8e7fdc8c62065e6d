/**
 * Invoices against the real PostgreSQL of the test app: gapless numbers under 20 concurrent
 * approvals, a rolled-back approval leaving no hole, four-eyes, credits on approval or on payment,
 * credit notes, and the triggers that keep issued invoices unchanged. Service level (the GraphQL
 * fields: invoices.graphql.test.ts; the PDF: invoice.pdf.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, signUpOwner, startTestApp, type TestApp, viewerWith } from '../../../test/harness.js';
import { inPoolTransaction } from '../../db/pool-tx.js';
import { type Exec, pgExec } from '../credits/credit.service.js';
import * as billing from './invoice.billing.js';
import { loadInvoiceConfig } from './invoice.config.js';
import * as svc from './invoice.service.js';

let t: TestApp;
const cfg = loadInvoiceConfig({});

/** A service call in its own transaction on the test pool, as the resolvers run it in mutate's. */
const inTx =
  <A extends unknown[], R>(f: (exec: Exec, ...a: A) => Promise<R>) =>
  (_db: unknown, ...a: A) =>
    inPoolTransaction(t.sql, (c) => f(pgExec(c), ...a));
const requestCreditPurchase = inTx(svc.requestCreditPurchase);
const approveCreditPurchase = inTx(svc.approveCreditPurchase);
const rejectCreditPurchase = inTx(svc.rejectCreditPurchase);
const markInvoicePaid = inTx(svc.markInvoicePaid);
const issueCreditNote = inTx(svc.issueCreditNote);
const updateBillingDetails = inTx(billing.updateBillingDetails);

beforeAll(async () => {
  t = await startTestApp({});
}, 120_000);
afterAll(async () => {
  await t?.close();
});

async function account(name: string): Promise<{ owner: Actor; editor: Actor }> {
  const owner = await signUpOwner(t, name);
  const editor = await viewerWith(t, owner, { INVOICES: 'EDITOR' });
  await updateBillingDetails(t.sql, owner, {
    companyName: `${name} SARL`,
    addressLines: ['12 avenue Foch'],
    postcode: '69006',
    city: 'Lyon',
    country: 'fr',
    vatNumber: 'FR 12 345678901',
  });
  return { owner, editor };
}

const balance = async (accountId: string, kind: string) =>
  Number(
    (
      await t.sql.query('select balance from credit_balance where account_id = $1 and kind = $2', [
        accountId,
        kind,
      ])
    ).rows[0]?.balance ?? 0,
  );

async function seqs(accountId: string, series: string): Promise<number[]> {
  const { rows } = await t.sql.query<{ seq: number }>(
    'select seq from invoice where account_id = $1 and series = $2 order by seq',
    [accountId, series],
  );
  return rows.map((r) => r.seq);
}
const year = new Date().getUTCFullYear();

describe('invoice numbers', () => {
  it('20 concurrent approvals give 20 consecutive numbers; a rolled-back approval leaves no hole', async () => {
    const { owner, editor } = await account('Gapless');
    const ids = await Promise.all(
      Array.from({ length: 20 }, () =>
        requestCreditPurchase(t.sql, cfg, editor, { packId: 'EMAIL_10K', quantity: 1 }),
      ),
    );
    const results = await Promise.all(ids.map((id) => approveCreditPurchase(t.sql, cfg, owner, id)));
    expect(new Set(results.map((r) => r.number)).size).toBe(20);
    expect(await seqs(owner.accountId, `F${year}`)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(results.map((r) => r.number).sort()[0]).toBe(`F${year}-000001`);

    // Fails after taking number 21, inside the transaction: everything is rolled back.
    const failing = await requestCreditPurchase(t.sql, cfg, editor, { packId: 'SMS_1K', quantity: 2 });
    const before = await balance(owner.accountId, 'SMS');
    let taken = '';
    await expect(
      approveCreditPurchase(t.sql, cfg, owner, failing, {
        hooks: {
          afterNumber: (n) => {
            taken = n;
            throw new Error('credit step failed');
          },
        },
      }),
    ).rejects.toThrow('credit step failed');
    expect(taken).toBe(`F${year}-000021`);
    expect(await balance(owner.accountId, 'SMS')).toBe(before);
    const { rows } = await t.sql.query('select status from credit_purchase where id = $1', [failing]);
    expect(rows[0].status).toBe('PENDING');
    const retried = await approveCreditPurchase(t.sql, cfg, owner, failing);
    expect(retried.number).toBe(`F${year}-000021`);
    expect(await balance(owner.accountId, 'SMS')).toBe(before + 2000);
    expect(await seqs(owner.accountId, `F${year}`)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
  }, 60_000);

  it('each account has its own series', async () => {
    const { owner, editor } = await account('Other series');
    const id = await requestCreditPurchase(t.sql, cfg, editor, { packId: 'EMAIL_10K', quantity: 1 });
    expect((await approveCreditPurchase(t.sql, cfg, owner, id)).number).toBe(`F${year}-000001`);
  });
});

describe('purchases', () => {
  it('four-eyes refuses the requester, a decided purchase cannot be decided again, totals are exact', async () => {
    const { owner, editor } = await account('Four eyes');
    const own = await requestCreditPurchase(t.sql, cfg, owner, { packId: 'SMS_1K', quantity: 3 });
    await expect(approveCreditPurchase(t.sql, cfg, owner, own)).rejects.toMatchObject({
      extensions: { code: 'FORBIDDEN' },
    });
    // Without four-eyes the same user may approve.
    const r = await approveCreditPurchase(t.sql, { ...cfg, fourEyes: false }, owner, own);
    const { rows } = await t.sql.query(
      `select total_excl_tax::text e, total_vat::text v, total_incl_tax::text i, status, buyer, seller, due_date - issue_date as days
       from invoice where id = $1`,
      [r.invoiceId],
    );
    // 3 x 59.90 = 179.70; VAT 20% = 35.94; 215.64 (floats would give 179.70000000000002).
    expect(rows[0]).toMatchObject({ e: '179.70', v: '35.94', i: '215.64', status: 'UNPAID', days: 30 });
    expect(rows[0].buyer).toMatchObject({
      companyName: 'Four eyes SARL',
      country: 'FR',
      vatNumber: 'FR12345678901',
    });
    expect(rows[0].seller.siren).toBe(cfg.seller.siren);
    await expect(approveCreditPurchase(t.sql, cfg, editor, own)).rejects.toMatchObject({
      extensions: { code: 'CONFLICT' },
    });

    const rejected = await requestCreditPurchase(t.sql, cfg, editor, { packId: 'EMAIL_10K', quantity: 1 });
    await rejectCreditPurchase(t.sql, owner, rejected, 'not this month');
    await expect(approveCreditPurchase(t.sql, cfg, owner, rejected)).rejects.toMatchObject({
      extensions: { code: 'CONFLICT' },
    });
  });

  it('buyer identity is copied at issue: later billing edits leave the invoice unchanged', async () => {
    const { owner, editor } = await account('Copied');
    const id = await requestCreditPurchase(t.sql, cfg, editor, { packId: 'EMAIL_10K', quantity: 1 });
    const r = await approveCreditPurchase(t.sql, cfg, owner, id);
    await updateBillingDetails(t.sql, owner, {
      companyName: 'Renamed SA',
      addressLines: ['1 quai'],
      postcode: '13001',
      city: 'Marseille',
      country: 'FR',
      vatNumber: null,
    });
    const { rows } = await t.sql.query('select buyer from invoice where id = $1', [r.invoiceId]);
    expect(rows[0].buyer.companyName).toBe('Copied SARL');
  });

  it('with CREDITS_AFTER_PAYMENT the credits come with markInvoicePaid, once', async () => {
    const { owner, editor } = await account('Pay first');
    const later = { ...cfg, creditsAfterPayment: true };
    const before = await balance(owner.accountId, 'EMAIL');
    const id = await requestCreditPurchase(t.sql, later, editor, { packId: 'EMAIL_100K', quantity: 2 });
    const r = await approveCreditPurchase(t.sql, later, owner, id);
    expect(await balance(owner.accountId, 'EMAIL')).toBe(before);
    await markInvoicePaid(t.sql, owner, r.invoiceId);
    expect(await balance(owner.accountId, 'EMAIL')).toBe(before + 200_000);
    await expect(markInvoicePaid(t.sql, owner, r.invoiceId)).rejects.toMatchObject({
      extensions: { code: 'CONFLICT' },
    });
    expect(await balance(owner.accountId, 'EMAIL')).toBe(before + 200_000);
  });
});

describe('credit notes and immutability', () => {
  it('a credit note negates the invoice in its own series, once; issued rows refuse UPDATE and DELETE', async () => {
    const { owner, editor } = await account('Avoir');
    const id = await requestCreditPurchase(t.sql, cfg, editor, { packId: 'SMS_10K', quantity: 1 });
    const inv = await approveCreditPurchase(t.sql, cfg, owner, id);
    const note = await issueCreditNote(t.sql, owner, inv.invoiceId, 'wrong pack');
    expect(note.number).toBe(`A${year}-000001`);
    const { rows } = await t.sql.query(
      'select total_incl_tax::text i, credit_of from invoice where id = $1',
      [note.id],
    );
    expect(rows[0]).toEqual({ i: '-598.80', credit_of: inv.invoiceId });
    await expect(issueCreditNote(t.sql, owner, inv.invoiceId, 'again')).rejects.toMatchObject({
      extensions: { code: 'CONFLICT' },
    });

    await expect(
      t.sql.query('update invoice set total_incl_tax = 1 where id = $1', [inv.invoiceId]),
    ).rejects.toThrow(/never updated/);
    await expect(
      t.sql.query('update invoice_line set unit_price = 1 where invoice_id = $1', [inv.invoiceId]),
    ).rejects.toThrow(/never updated/);
    await expect(
      t.sql.query('delete from invoice_line where invoice_id = $1', [inv.invoiceId]),
    ).rejects.toThrow(/never deleted/);
    await expect(t.sql.query('delete from invoice where id = $1', [note.id])).rejects.toThrow(
      /never deleted/,
    );
    // The payment columns may change.
    await markInvoicePaid(t.sql, owner, inv.invoiceId);
    const paid = await t.sql.query('select status from invoice where id = $1', [inv.invoiceId]);
    expect(paid.rows[0].status).toBe('PAID');
  });

  it('bad input is typed', async () => {
    const { owner, editor } = await account('Typed');
    await expect(
      requestCreditPurchase(t.sql, cfg, editor, { packId: 'NOPE', quantity: 1 }),
    ).rejects.toMatchObject({
      extensions: { code: 'BAD_USER_INPUT' },
    });
    await expect(approveCreditPurchase(t.sql, cfg, owner, 'not-a-uuid')).rejects.toMatchObject({
      extensions: { code: 'NOT_FOUND' },
    });
    await expect(
      updateBillingDetails(t.sql, owner, {
        companyName: 'X',
        addressLines: ['a'],
        postcode: '1',
        city: 'c',
        country: 'France',
        vatNumber: null,
      }),
    ).rejects.toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
  });
});
