/**
 * INVOICES = NONE, at APPROVER in every other feature, sees no invoice, price, balance or cost
 * anywhere: a schema sweep of every field leading to invoice data, then each such field and
 * mutation called, and a schedule short of credits that must not tell the balance.
 */
import { getNamedType, isObjectType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { code, ok, signUpOwner, startTestApp, type TestApp, viewerWith } from '../../../test/harness.js';
import { buildSchema } from '../../schema.js';
import { objectFieldScopes, rootFieldScopes } from '../access/scope-map.js';
import { emailing, ops, verifiedSender } from '../operations/testing/helpers.js';
import { APPROVE, BILLING, billing, invoiceKit, REQUEST, type Vars } from './testing/invoice-kit.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ FREE_EMAIL_CREDITS: '300' });
}, 120_000);
afterAll(async () => {
  await t?.close();
});

const { gql, count, setUp: levels } = invoiceKit(() => t);
const setUp = async (name: string) => levels(await signUpOwner(t, name));

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
