/**
 * Invoices through the schema, on the real PostgreSQL of a test app: the purchase flow at each
 * level, owner-only payment, credit notes, the history entries, another account's ids, bad input
 * that writes nothing, paging and usage from the ledger (INVOICES = NONE: invoices.rights.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { code, nextResults, ok, signUpOwner, startTestApp, type TestApp } from '../../../test/harness.js';
import { APPROVE, BILLING, billing, invoiceKit, REQUEST } from './testing/invoice-kit.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ FREE_EMAIL_CREDITS: '300' });
}, 120_000);
afterAll(async () => {
  await t?.close();
});

const INVOICE = `query($id: ID!) { invoice(id: $id) { id type number status issueDate dueDate currency
  totalExclTax totalVat totalInclTax pdfPath seller { name vatNumber siren addressLines }
  buyer { name vatNumber addressLines } lines { position label quantity unitPrice vatRate totalExclTax vat }
  creditOf { id } } }`;

const { gql, count, setUp: levels } = invoiceKit(() => t);
const setUp = async (name: string) => levels(await signUpOwner(t, name));

describe('invoices over GraphQL', () => {
  it('an editor requests, an approver approves: the invoice is issued with exact totals and audited', async () => {
    const { owner, editor, approver, guest } = await setUp('Flow');
    expect(code(await gql(guest, BILLING, { input: billing }))).toBe('FORBIDDEN');
    const b = ok(await gql(editor, BILLING, { input: billing })).updateBillingDetails;
    expect(b).toMatchObject({ id: owner.accountId, country: 'FR', vatNumber: 'FR12345678901' });
    expect(ok(await gql(guest, '{ billingDetails { companyName } }')).billingDetails.companyName).toBe(
      billing.companyName,
    );
    const packs = ok(await gql(guest, '{ creditPacks { id kind credits unitPrice vatRate currency } }'));
    expect(packs.creditPacks).toContainEqual({
      id: 'SMS_1K',
      kind: 'SMS',
      credits: 1000,
      unitPrice: '59.9',
      vatRate: '20',
      currency: 'EUR',
    });

    expect(code(await gql(guest, REQUEST, { packId: 'SMS_1K', quantity: 3 }))).toBe('FORBIDDEN');
    const p = ok(await gql(editor, REQUEST, { packId: 'SMS_1K', quantity: 3 })).requestCreditPurchase;
    expect(p).toMatchObject({ status: 'PENDING', credits: 3000, totalExclTax: '179.7' });
    expect(code(await gql(editor, APPROVE, { id: p.id }))).toBe('FORBIDDEN');
    const a = ok(await gql(approver, APPROVE, { id: p.id })).approveCreditPurchase;
    const year = new Date().getUTCFullYear();
    expect(a).toMatchObject({
      status: 'APPROVED',
      invoice: {
        number: `F${year}-000001`,
        status: 'UNPAID',
        totalExclTax: '179.7',
        totalVat: '35.94',
        totalInclTax: '215.64',
      },
    });
    expect(code(await gql(approver, APPROVE, { id: p.id }))).toBe('CONFLICT');
    // Four-eyes (INVOICE_FOUR_EYES, on by default): an approver's own request needs another one.
    const own = ok(await gql(approver, REQUEST, { packId: 'EMAIL_10K', quantity: 1 })).requestCreditPurchase;
    expect(code(await gql(approver, APPROVE, { id: own.id }))).toBe('FORBIDDEN');
    const { rows: still } = await t.sql.query(
      'select status, invoice_id from credit_purchase where id = $1',
      [own.id],
    );
    expect(still[0]).toEqual({ status: 'PENDING', invoice_id: null });

    const inv = ok(await gql(guest, INVOICE, { id: a.invoice.id })).invoice;
    expect(inv).toMatchObject({
      type: 'INVOICE',
      currency: 'EUR',
      pdfPath: `/invoices/${a.invoice.id}.pdf`,
      buyer: {
        name: billing.companyName,
        vatNumber: 'FR12345678901',
        addressLines: ['12 avenue Foch', '69006 Lyon', 'FR'],
      },
      seller: { siren: '123456789' },
      lines: [
        { position: 1, quantity: 3, unitPrice: '59.9', vatRate: '20', totalExclTax: '179.7', vat: '35.94' },
      ],
      creditOf: null,
    });
    const list = ok(
      await gql(guest, '{ invoices(first: 10) { nodes { id number } pageInfo { hasNextPage } } }'),
    );
    expect(list.invoices.nodes).toEqual([{ id: a.invoice.id, number: `F${year}-000001` }]);
    const pending = ok(await gql(guest, '{ creditPurchases(status: APPROVED) { nodes { id } } }'));
    expect(pending.creditPurchases.nodes).toEqual([{ id: p.id }]);

    const { rows } = await t.sql.query(
      `select action, user_email, object_id from audit_entry where account_id = $1 and feature = 'INVOICES' order by id`,
      [owner.accountId],
    );
    expect(rows.map((r) => [r.action, r.user_email])).toEqual([
      ['updateBillingDetails', editor.email],
      ['requestCreditPurchase', editor.email],
      ['approveCreditPurchase', approver.email],
      ['requestCreditPurchase', approver.email],
    ]);
  });

  it('only the owner marks an invoice paid; an approver issues one credit note; rejections need a reason', async () => {
    const { owner, editor, approver } = await setUp('Paid');
    ok(await gql(editor, BILLING, { input: billing }));
    const p = ok(await gql(editor, REQUEST, { packId: 'EMAIL_10K', quantity: 1 })).requestCreditPurchase;
    const invoiceId = ok(await gql(approver, APPROVE, { id: p.id })).approveCreditPurchase.invoice.id;
    const PAID = 'mutation($id: ID!) { markInvoicePaid(id: $id) { id status paidAt } }';
    expect(code(await gql(approver, PAID, { id: invoiceId }))).toBe('FORBIDDEN');
    expect(ok(await gql(owner, PAID, { id: invoiceId })).markInvoicePaid.status).toBe('PAID');
    expect(code(await gql(owner, PAID, { id: invoiceId }))).toBe('CONFLICT');

    const NOTE = `mutation($id: ID!, $reason: String!) { issueCreditNote(invoiceId: $id, reason: $reason) {
      id type number totalInclTax creditOf { id } } }`;
    expect(code(await gql(editor, NOTE, { id: invoiceId, reason: 'wrong pack' }))).toBe('FORBIDDEN');
    expect(code(await gql(approver, NOTE, { id: invoiceId, reason: '  ' }))).toBe('BAD_USER_INPUT');
    const note = ok(await gql(approver, NOTE, { id: invoiceId, reason: 'wrong pack' })).issueCreditNote;
    expect(note).toMatchObject({ type: 'CREDIT_NOTE', totalInclTax: '-108', creditOf: { id: invoiceId } });
    expect(note.number).toMatch(/^A\d{4}-000001$/);
    expect(code(await gql(approver, NOTE, { id: invoiceId, reason: 'again' }))).toBe('CONFLICT');

    const REJECT =
      'mutation($id: ID!, $r: String!) { rejectCreditPurchase(id: $id, reason: $r) { id status reason } }';
    const q = ok(await gql(editor, REQUEST, { packId: 'SMS_1K', quantity: 1 })).requestCreditPurchase;
    expect(code(await gql(approver, REJECT, { id: q.id, r: '' }))).toBe('BAD_USER_INPUT');
    expect(ok(await gql(approver, REJECT, { id: q.id, r: 'not now' })).rejectCreditPurchase).toMatchObject({
      status: 'REJECTED',
      reason: 'not now',
    });
    const { rows } = await t.sql.query(
      `select action, user_id, diff from audit_entry where account_id = $1 and feature = 'INVOICES' order by id`,
      [owner.accountId],
    );
    expect(rows.map((r) => [r.action, r.user_id])).toEqual([
      ['updateBillingDetails', editor.userId],
      ['requestCreditPurchase', editor.userId],
      ['approveCreditPurchase', approver.userId],
      ['markInvoicePaid', owner.userId],
      ['issueCreditNote', approver.userId],
      ['requestCreditPurchase', editor.userId],
      ['rejectCreditPurchase', approver.userId],
    ]);
    expect(rows[0].diff).toMatchObject({ city: 'Lyon', country: 'FR' });
  });

  it("another account's ids are NOT_FOUND; bad input is BAD_USER_INPUT and writes nothing", async () => {
    const a = await setUp('Alpha');
    const b = await setUp('Beta');
    ok(await gql(b.editor, BILLING, { input: billing }));
    const p = ok(await gql(b.editor, REQUEST, { packId: 'SMS_1K', quantity: 1 })).requestCreditPurchase;
    const inv = ok(await gql(b.approver, APPROVE, { id: p.id })).approveCreditPurchase.invoice.id;
    const q = ok(await gql(b.editor, REQUEST, { packId: 'SMS_1K', quantity: 1 })).requestCreditPurchase;
    expect(code(await gql(a.owner, INVOICE, { id: inv }))).toBe('NOT_FOUND');
    expect(code(await gql(a.owner, APPROVE, { id: q.id }))).toBe('NOT_FOUND');
    expect(
      code(await gql(a.owner, 'mutation($id: ID!) { markInvoicePaid(id: $id) { id } }', { id: inv })),
    ).toBe('NOT_FOUND');
    expect(
      code(
        await gql(a.owner, 'mutation($id: ID!) { issueCreditNote(invoiceId: $id, reason: "x") { id } }', {
          id: inv,
        }),
      ),
    ).toBe('NOT_FOUND');
    expect(code(await gql(a.owner, INVOICE, { id: 'not-a-uuid' }))).toBe('NOT_FOUND');
    expect(
      (await t.sql.query(`select status from credit_purchase where id = $1`, [q.id])).rows[0].status,
    ).toBe('PENDING');

    const before = [
      await count('credit_purchase', a.owner.accountId),
      await count('audit_entry', a.owner.accountId),
    ];
    for (const [packId, quantity] of [
      ['NOPE', 1],
      ['SMS_1K', 0],
      ['SMS_1K', 1001],
    ] as const)
      expect(code(await gql(a.editor, REQUEST, { packId, quantity }))).toBe('BAD_USER_INPUT');
    for (const bad of [
      { country: 'France' },
      { vatNumber: '12' },
      { addressLines: [] },
      { companyName: ' ' },
    ])
      expect(code(await gql(a.editor, BILLING, { input: { ...billing, ...bad } }))).toBe('BAD_USER_INPUT');
    expect(code(await gql(a.owner, '{ invoices(after: "bogus") { nodes { id } } }'))).toBe('BAD_USER_INPUT');
    expect([
      await count('credit_purchase', a.owner.accountId),
      await count('audit_entry', a.owner.accountId),
    ]).toEqual(before);
    expect(await count('billing_details', a.owner.accountId)).toBe(0);
  });

  it('streams the history entries of invoice mutations on auditEntryAdded once committed', async () => {
    const { owner, editor } = await setUp('Live');
    const sub = nextResults(
      t.ws(owner.token),
      'subscription { auditEntryAdded { action feature objectId userId diff } }',
      2,
    );
    await new Promise((r) => setTimeout(r, 200));
    ok(await gql(editor, BILLING, { input: billing }));
    const p = ok(await gql(editor, REQUEST, { packId: 'SMS_1K', quantity: 2 })).requestCreditPurchase;
    const entries = (await sub.results).map(
      (r) => (r.data as { auditEntryAdded: Record<string, unknown> }).auditEntryAdded,
    );
    sub.stop();
    expect(entries[1]).toEqual({
      action: 'requestCreditPurchase',
      feature: 'INVOICES',
      objectId: p.id,
      userId: editor.userId,
      diff: { packId: 'SMS_1K', quantity: 2 },
    });
  });

  it('pages purchases and invoices newest first with cursors, without repeats or gaps', async () => {
    const { editor, approver, guest } = await setUp('Pages');
    ok(await gql(editor, BILLING, { input: billing }));
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push(ok(await gql(editor, REQUEST, { packId: 'SMS_1K', quantity: 1 })).requestCreditPurchase.id);
    for (const id of ids.slice(0, 3)) ok(await gql(approver, APPROVE, { id }));
    const PURCHASES = `query($after: String) { creditPurchases(first: 2, after: $after) {
      nodes { id } pageInfo { hasNextPage endCursor } } }`;
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 5; page++) {
      const r: { nodes: { id: string }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } = ok(
        await gql(guest, PURCHASES, { after }),
      ).creditPurchases;
      seen.push(...r.nodes.map((n) => n.id));
      if (!r.pageInfo.hasNextPage) break;
      after = r.pageInfo.endCursor;
    }
    expect(seen).toEqual([...ids].reverse());
    const INVOICES = `query($after: String) { invoices(first: 2, after: $after) { nodes { number } pageInfo { hasNextPage endCursor } } }`;
    const first = ok(await gql(guest, INVOICES, {})).invoices;
    const second = ok(await gql(guest, INVOICES, { after: first.pageInfo.endCursor })).invoices;
    const year = new Date().getUTCFullYear();
    expect([...first.nodes, ...second.nodes].map((n: { number: string }) => n.number)).toEqual(
      [3, 2, 1].map((n) => `F${year}-00000${n}`),
    );
    expect(second.pageInfo.hasNextPage).toBe(false);
    const pending = ok(
      await gql(guest, '{ creditPurchases(status: PENDING) { nodes { id } } }'),
    ).creditPurchases;
    expect(pending.nodes.map((n: { id: string }) => n.id)).toEqual([ids[4], ids[3]]);
  });

  it('creditUsage reads what sends consumed from the ledger, per day or operation, with the balances', async () => {
    const { owner, guest } = await setUp('Usage');
    const opId = '00000000-0000-4000-8000-000000000001';
    await t.sql.query(
      `insert into credit_entry (account_id, kind, type, amount, operation_id, created_at) values
        ($1, 'EMAIL', 'USAGE', -40, $2, '2026-03-01T10:00:00Z'), ($1, 'EMAIL', 'USAGE', -2, $2, '2026-03-02T10:00:00Z'),
        ($1, 'SMS', 'USAGE', -5, null, '2026-03-02T11:00:00Z'), ($1, 'EMAIL', 'USAGE', -7, $2, '2026-04-01T00:00:00Z'),
        ($1, 'EMAIL', 'PURCHASE', 1000, null, '2026-03-02T12:00:00Z')`,
      [owner.accountId, opId],
    );
    const USAGE = `query($g: CreditUsageGroup) { creditUsage(from: "2026-03-01T00:00:00Z", to: "2026-04-01T00:00:00Z", groupBy: $g) {
      rows { kind day operationId used } balances { kind balance reserved available } } }`;
    const byDay = ok(await gql(guest, USAGE, { g: 'DAY' })).creditUsage;
    expect(byDay.rows).toEqual([
      { kind: 'EMAIL', day: '2026-03-01', operationId: null, used: 40 },
      { kind: 'EMAIL', day: '2026-03-02', operationId: null, used: 2 },
      { kind: 'SMS', day: '2026-03-02', operationId: null, used: 5 },
    ]);
    expect(byDay.balances.find((x: { kind: string }) => x.kind === 'EMAIL')).toMatchObject({
      balance: 300,
      reserved: 0,
    });
    const byOp = ok(await gql(guest, USAGE, { g: 'OPERATION' })).creditUsage;
    expect(byOp.rows).toEqual([
      { kind: 'EMAIL', day: null, operationId: opId, used: 42 },
      { kind: 'SMS', day: null, operationId: null, used: 5 },
    ]);
    const backwards = await gql(
      guest,
      '{ creditUsage(from: "2026-04-01T00:00:00Z", to: "2026-03-01T00:00:00Z") { rows { used } } }',
    );
    expect(code(backwards)).toBe('BAD_USER_INPUT');
  });
});
