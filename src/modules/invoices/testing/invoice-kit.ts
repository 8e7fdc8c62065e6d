import type { Actor, TestApp } from '../../../../test/harness.js';
import { viewerWith } from '../../../../test/harness.js';

/** What the invoices' GraphQL tests share: documents, a valid buyer, an account with each level. */
export type Vars = Record<string, unknown>;

export const BILLING = `mutation($input: UpdateBillingDetailsInput!) { updateBillingDetails(input: $input) {
  id companyName addressLines postcode city country vatNumber } }`;
export const billing = {
  companyName: 'Boulangerie Martin SARL',
  addressLines: ['12 avenue Foch'],
  postcode: '69006',
  city: 'Lyon',
  country: 'fr',
  vatNumber: 'FR 12 345678901',
};
export const REQUEST = `mutation($packId: String!, $quantity: Int!) { requestCreditPurchase(packId: $packId, quantity: $quantity) {
  id status packId quantity credits unitPrice totalExclTax requestedBy { id } } }`;
export const APPROVE = `mutation($id: ID!) { approveCreditPurchase(id: $id) { id status decidedBy { id }
  invoice { id number status totalExclTax totalVat totalInclTax } } }`;

export function invoiceKit(t: () => TestApp) {
  const gql = (who: Actor | null, query: string, variables: Vars = {}) =>
    // biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field with toMatchObject
    t().gql<Record<string, any>, Vars>(query, variables, who?.token ?? null);
  const count = async (table: string, accountId: string): Promise<number> =>
    (await t().sql.query(`select count(*)::int as n from ${table} where account_id = $1`, [accountId]))
      .rows[0].n;
  /** An account with a user at each INVOICES level (the owner is APPROVER everywhere). */
  async function setUp(owner: Actor) {
    const editor = await viewerWith(t(), owner, { INVOICES: 'EDITOR' });
    const approver = await viewerWith(t(), owner, { INVOICES: 'APPROVER' });
    const guest = await viewerWith(t(), owner, { INVOICES: 'GUEST' });
    return { owner, editor, approver, guest };
  }
  return { gql, count, setUp };
}
