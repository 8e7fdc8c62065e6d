/**
 * Invoices through the schema, on the real PostgreSQL of a test app: the purchase flow at each
 * level, owner-only payment, credit notes, the history entries, another account's ids, bad input
 * that writes nothing, usage from the ledger, and INVOICES = NONE seeing no invoice, price,
 * balance or cost anywhere.
 */
import { getNamedType, isObjectType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Actor,
  code,
  ok,
  signUpOwner,
  startTestApp,
  type TestApp,
  viewerWith,
} from '../../../test/harness.js';
import { buildSchema } from '../../schema.js';
import { objectFieldScopes, rootFieldScopes } from '../access/scope-map.js';
import { emailing, ops, verifiedSender } from '../operations/testing/helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ FREE_EMAIL_CREDITS: '300' });
}, 120_000);
afterAll(async () => {
  await t?.close();
});

type Vars = Record<string, unknown>;
const gql = (who: Actor | null, query: string, variables: Vars = {}) =>
  // biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field with toMatchObject
  t.gql<Record<string, any>, Vars>(query, variables, who?.token ?? null);

const BILLING = `mutation($input: UpdateBillingDetailsInput!) { updateBillingDetails(input: $input) {
  id companyName addressLines postcode city country vatNumber } }`;
const billing = {
  companyName: 'Boulangerie Martin SARL',
  addressLines: ['12 avenue Foch'],
  postcode: '69006',
  city: 'Lyon',
  country: 'fr',
  vatNumber: 'FR 12 345678901',
};
const REQUEST = `mutation($packId: String!, $quantity: Int!) { requestCreditPurchase(packId: $packId, quantity: $quantity) {
  id status packId quantity credits unitPrice totalExclTax requestedBy { id } } }`;
const APPROVE = `mutation($id: ID!) { approveCreditPurchase(id: $id) { id status decidedBy { id }
  invoice { id number status totalExclTax totalVat totalInclTax } } }`;
const INVOICE = `query($id: ID!) { invoice(id: $id) { id type number status issueDate dueDate currency
  totalExclTax totalVat totalInclTax pdfPath seller { name vatNumber siren addressLines }
  buyer { name vatNumber addressLines } lines { position label quantity unitPrice vatRate totalExclTax vat }
  creditOf { id } } }`;

const count = async (table: string, accountId: string) =>
  (await t.sql.query(`select count(*)::int as n from ${table} where account_id = $1`, [accountId])).rows[0].n;

async function setUp(name: string) {
  const owner = await signUpOwner(t, name);
  const editor = await viewerWith(t, owner, { INVOICES: 'EDITOR' });
  const approver = await viewerWith(t, owner, { INVOICES: 'APPROVER' });
  const guest = await viewerWith(t, owner, { INVOICES: 'GUEST' });
  return { owner, editor, approver, guest };
}

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

/** Types that are invoice data as a whole: reachable only through a field needing INVOICES. */
const INVOICE_TYPES =
  /^(Invoice|InvoiceLine|InvoiceParty|CreditPurchase|CreditPack|CreditBalance|CreditReservation|CreditUsage|CreditUsageRow|OperationCredits|BillingDetails)(Connection|Edge)?$/;

describe('INVOICES = NONE', () => {
  it('every field leading to invoice data, or named like a price, cost or balance, needs INVOICES >= GUEST', () => {
    const schema = buildSchema();
    const scoped = { ...rootFieldScopes(schema), ...objectFieldScopes(schema) } as Record<
      string,
      { feature?: [string, string]; owner?: boolean } | null
    >;
    const open: string[] = [];
    let guarded = 0;
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('__') || INVOICE_TYPES.test(type.name)) continue;
      for (const field of Object.values(type.getFields())) {
        const leads = INVOICE_TYPES.test(getNamedType(field.type).name);
        if (!leads && !/price|cost|balance|credits|total(Excl|Incl|Vat)/i.test(field.name)) continue;
        const name = `${type.name}.${field.name}`;
        // The owner is APPROVER everywhere, INVOICES included (markInvoicePaid).
        if (scoped[name]?.feature?.[0] === 'INVOICES' || scoped[name]?.owner) guarded++;
        else open.push(name);
      }
    }
    expect(open).toEqual([]);
    // creditPacks, creditPurchases, invoices, invoice, billingDetails, creditUsage, the mutations
    // (markInvoicePaid is owner only, the owner being APPROVER everywhere), Account.credits,
    // Operation.credits.
    expect(guarded).toBeGreaterThanOrEqual(12);
  });

  it('sees no invoice, price, balance or cost anywhere, even at APPROVER everywhere else', async () => {
    const { owner, editor, approver } = await setUp('Hidden');
    await verifiedSender(t, owner.accountId);
    ok(await gql(editor, BILLING, { input: billing }));
    const p = ok(await gql(editor, REQUEST, { packId: 'SMS_1K', quantity: 1 })).requestCreditPurchase;
    const inv = ok(await gql(approver, APPROVE, { id: p.id })).approveCreditPurchase.invoice.id;
    const opId = ok(await ops(t).create(owner, emailing('hidden'))).createOperation.id;
    const none = await viewerWith(t, owner, {
      CONTACTS: 'APPROVER',
      EMAILINGS: 'APPROVER',
      SMS: 'APPROVER',
      FORMS: 'APPROVER',
      USERS: 'APPROVER',
      SETTINGS: 'APPROVER',
      WEBHOOKS: 'APPROVER',
    });
    const reads: [string, Vars][] = [
      ['{ creditPacks { id unitPrice } }', {}],
      ['{ creditPurchases { nodes { id totalExclTax } } }', {}],
      ['{ invoices { nodes { id totalInclTax } } }', {}],
      ['query($id: ID!) { invoice(id: $id) { id totalInclTax } }', { id: inv }],
      ['{ billingDetails { companyName } }', {}],
      ['{ creditUsage(from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z") { rows { used } } }', {}],
      ['{ account { id credits { balance available } } }', {}],
      ['query($id: ID!) { operation(id: $id) { id credits { used reserved } } }', { id: opId }],
    ];
    const writes: [string, Vars][] = [
      ['mutation { requestCreditPurchase(packId: "SMS_1K", quantity: 1) { id } }', {}],
      ['mutation($id: ID!) { approveCreditPurchase(id: $id) { id } }', { id: p.id }],
      ['mutation($id: ID!) { rejectCreditPurchase(id: $id, reason: "x") { id } }', { id: p.id }],
      ['mutation($id: ID!) { issueCreditNote(invoiceId: $id, reason: "x") { id } }', { id: inv }],
      ['mutation($id: ID!) { markInvoicePaid(id: $id) { id } }', { id: inv }],
      ['mutation($i: UpdateBillingDetailsInput!) { updateBillingDetails(input: $i) { id } }', { i: billing }],
    ];
    const before = await count('audit_entry', owner.accountId);
    for (const [query, vars] of [...reads, ...writes]) {
      const r = await gql(none, query, vars);
      expect(code(r), query).toBe('FORBIDDEN');
      expect(JSON.stringify(r.data ?? null), query).not.toMatch(
        /unitPrice|total|balance|available|used|companyName/,
      );
    }
    expect(await count('audit_entry', owner.accountId)).toBe(before);
    // What the same user may read of the account and the operation still answers.
    expect(ok(await gql(none, '{ account { id name } }')).account.id).toBe(owner.accountId);

    // A schedule refused for lack of credits does not tell the balance without INVOICES.
    await t.sql.query(
      `insert into contact (account_id, email, unique_value)
       select $1, 'c' || g || '@hidden.test', 'c' || g || '@hidden.test' from generate_series(1, 400) g`,
      [owner.accountId],
    );
    ok(await ops(t).step(owner, 'submitOperation', opId));
    ok(await ops(t).step(owner, 'validateOperation', opId));
    const at = `, at: "${new Date(Date.now() + 86_400_000).toISOString()}"`;
    const short = await ops(t).step(none, 'scheduleOperation', opId, at);
    expect(code(short)).toBe('CONFLICT');
    expect(short.errors?.[0].extensions).toEqual({
      code: 'CONFLICT',
      reason: 'INSUFFICIENT_CREDITS',
      kind: 'EMAIL',
    });
    expect(short.errors?.[0].message).not.toMatch(/300|400/);
    // With INVOICES the amounts are there.
    const full = await ops(t).step(owner, 'scheduleOperation', opId, at);
    expect(full.errors?.[0].extensions).toMatchObject({
      reason: 'INSUFFICIENT_CREDITS',
      needed: 400,
      available: 300,
    });
  });
});
