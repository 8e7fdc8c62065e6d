/**
 * Deleting a contact erases what webhook deliveries copied from it (webhook.erasure.ts), on a
 * real server and receiver: its fields leave the deliveries that named it, another contact's
 * stay, and the contact.deleted delivery still tells the receiver whom to erase.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Actor, ok, signUpOwner, startTestApp, type TestApp } from '../../../test/harness.js';
import { waitUntil } from '../../../test/wait.js';
import { activeHook, contactsOf } from './testing/hooks.js';
import { type Receiver, startReceiver } from './testing/receiver.js';

let t: TestApp;
let owner: Actor;
let rx: Receiver;

beforeAll(async () => {
  t = await startTestApp({ WEBHOOK_DISPATCH_MS: '200' });
  owner = await signUpOwner(t);
  rx = await startReceiver();
});
afterAll(async () => {
  await rx?.close();
  await t?.close();
});

const payloads = async (webhookId: string) =>
  (
    await t.sql.query<{ event_type: string; status: string; payload: Record<string, unknown> }>(
      'select event_type, status, payload from webhook_delivery where webhook_id = $1 order by id',
      [webhookId],
    )
  ).rows;

it("erases a deleted contact's fields from the deliveries that copied them, and only its", async () => {
  const { id } = await activeHook(t, owner, {
    url: rx.url,
    eventTypes: ['EMAIL_OPEN', 'CONTACT_DELETED'],
    fields: ['email', 'firstName'],
  });
  const [gone, kept] = await contactsOf(t, owner.accountId, 2);
  await t.sql.query(
    `insert into contact_event (account_id, contact_id, type, occurred_at)
     select $1, c, 0, now() from unnest($2::bigint[]) c`,
    [owner.accountId, [gone, kept, gone]],
  );
  await waitUntil(
    async () => (await payloads(id)).every((d) => d.status === 'SUCCEEDED'),
    'the opens delivered',
  );
  expect((await payloads(id)).map((d) => d.payload.contact)).toHaveLength(3);
  ok(await t.gql('mutation($ids: [ID!]!) { deleteContacts(ids: $ids) }', { ids: [gone] }, owner.token));

  const after = await payloads(id);
  const opens = after.filter((d) => d.event_type === 'event.email_open');
  const ofGone = opens.filter((d) => d.payload.contactId === gone);
  expect(ofGone).toHaveLength(2);
  for (const d of ofGone) {
    expect(d.payload).not.toHaveProperty('contact');
    expect(d.payload).toMatchObject({ contactId: gone, erased: true });
  }
  expect(JSON.stringify(ofGone)).not.toContain('@example.org');
  const [ofKept] = opens.filter((d) => d.payload.contactId === kept);
  expect(ofKept.payload).toMatchObject({
    contact: { id: kept, email: expect.stringMatching(/@example\.org$/) },
  });
  expect(ofKept.payload).not.toHaveProperty('erased');
  // The deletion itself names the fields, so that the receiver can erase its own copy.
  const [deleted] = after.filter((d) => d.event_type === 'contact.deleted');
  expect(deleted.payload).toMatchObject({
    contactId: gone,
    contact: { email: expect.stringMatching(/@example/) },
  });
});
