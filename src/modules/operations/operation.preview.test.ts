/**
 * renderOperationPreview: the message exactly as one contact receives it, through the renderer the
 * test sends and the engine share; it shows contact data, so it needs CONTACTS >= GUEST besides
 * GUEST in the operation's kind (both declared on the field, `$all`).
 */
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
import { emailing, ops, smsOp, verifiedSender } from './testing/helpers.js';

let t: TestApp;
let owner: Actor;
let other: Actor;
let contactId = '';
let otherContact = '';

const PREVIEW = `query($id: ID!, $contactId: ID!) { renderOperationPreview(id: $id, contactId: $contactId) {
  kind email { subject preheader html text fromEmail replyTo } sms { text senderId encoding parts } } }`;
type Preview = {
  renderOperationPreview: {
    kind: string;
    email: { subject: string; html: string; text: string; fromEmail: string } | null;
    sms: { text: string; encoding: string; parts: number } | null;
  };
};

const newContact = async (who: Actor, input: Record<string, unknown>) =>
  ok(
    await t.gql<{ createContact: { id: string } }, Record<string, unknown>>(
      'mutation($input: CreateContactInput!) { createContact(input: $input) { id } }',
      { input },
      who.token,
    ),
  ).createContact.id;

beforeAll(async () => {
  t = await startTestApp();
  owner = await signUpOwner(t, 'Preview');
  other = await signUpOwner(t, 'Other');
  await verifiedSender(t, owner.accountId);
  ok(
    await t.gql(
      'mutation { defineContactField(input: { name: "tier", type: TEXT }) { name } }',
      {},
      owner.token,
    ),
  );
  contactId = await newContact(owner, {
    email: 'ana@x.test',
    firstName: '<script>x</script>Ana',
    fields: [{ name: 'tier', value: 'gold' }],
  });
  otherContact = await newContact(other, { email: 'zed@x.test', firstName: 'Zed' });
});
afterAll(() => t.close());

describe('renderOperationPreview', () => {
  it("fills the merge tags with the contact's fields, escaping them in the HTML part only", async () => {
    const op = ok(
      await ops(t).create(owner, {
        ...emailing('Preview'),
        email: {
          ...emailing().email,
          subject: 'Hi {{ contact.firstName }}',
          html: '<p>Tier {{ contact.tier | default: "none" }}, {{ contact.firstName }}</p>',
        },
      }),
    ).createOperation;
    const p = ok(
      await t.gql<Preview, Record<string, unknown>>(PREVIEW, { id: op.id, contactId }, owner.token),
    ).renderOperationPreview;
    expect(p.kind).toBe('EMAILING');
    expect(p.email?.subject).toBe('Hi <script>x</script>Ana');
    expect(p.email?.html).toBe('<p>Tier gold, &lt;script&gt;x&lt;/script&gt;Ana</p>');
    expect(p.email?.text).toContain('Tier gold');
    expect(p.sms).toBeNull();
  });

  it('renders an SMS with the encoding and parts of the filled text', async () => {
    const op = ok(
      await ops(t).create(owner, {
        ...smsOp(),
        sms: { text: 'Hi {{ contact.firstName }} € STOP 36111', senderId: 'ACME' },
      }),
    ).createOperation;
    const p = ok(
      await t.gql<Preview, Record<string, unknown>>(PREVIEW, { id: op.id, contactId }, owner.token),
    ).renderOperationPreview;
    expect(p.sms).toMatchObject({
      text: 'Hi <script>x</script>Ana € STOP 36111',
      encoding: 'GSM_7',
      parts: 1,
    });
  });

  it("needs CONTACTS >= GUEST too, and answers NOT_FOUND for another account's contact", async () => {
    const op = ok(await ops(t).create(owner, emailing('Rights'))).createOperation;
    const noContacts = await viewerWith(t, owner, { EMAILINGS: 'APPROVER' });
    const noEmailings = await viewerWith(t, owner, { CONTACTS: 'APPROVER', SMS: 'APPROVER' });
    const both = await viewerWith(t, owner, { EMAILINGS: 'GUEST', CONTACTS: 'GUEST' });
    expect(code(await t.gql(PREVIEW, { id: op.id, contactId }, noContacts.token))).toBe('FORBIDDEN');
    // SMS rights pass the field's scope; the operation's own kind (EMAILING) refuses.
    expect(code(await t.gql(PREVIEW, { id: op.id, contactId }, noEmailings.token))).toBe('FORBIDDEN');
    expect(code(await t.gql(PREVIEW, { id: op.id, contactId }, both.token))).toBeNull();
    expect(code(await t.gql(PREVIEW, { id: op.id, contactId: otherContact }, owner.token))).toBe('NOT_FOUND');
    expect(code(await t.gql(PREVIEW, { id: op.id, contactId: 'nope' }, owner.token))).toBe('NOT_FOUND');
    expect(code(await t.gql(PREVIEW, { id: op.id, contactId }, null))).toBe('UNAUTHENTICATED');
  });
});
