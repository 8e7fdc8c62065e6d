/**
 * Lock order between recording a batch's outcomes and deleting its webhook. Deleting locks the
 * webhook's row, then its cascade the deliveries'; recording once took the deliveries' rows first,
 * and the two deadlocked (CI: deleteWebhook answered INTERNAL_SERVER_ERROR right after a delivery).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Actor, ok, signUpOwner, startTestApp, type TestApp } from '../../../test/harness.js';
import { lockWait, waitUntil } from '../../../test/wait.js';
import { activeHook, contactsOf, deliveries } from './testing/hooks.js';
import { type Receiver, startReceiver } from './testing/receiver.js';

let t: TestApp;
let owner: Actor;
let rx: Receiver;

beforeAll(async () => {
  t = await startTestApp({ WEBHOOK_DISPATCH_MS: '100' });
  owner = await signUpOwner(t);
  // Slow enough to take the webhook's row between the delivery's post and its outcome.
  rx = await startReceiver(() => ({ status: 200, delayMs: 1500 }));
});
afterAll(async () => {
  await rx?.close();
  await t?.close();
});

it('records a batch after the webhook row, so a delete running meanwhile goes through', async () => {
  const { id } = await activeHook(t, owner, { url: rx.url, eventTypes: ['EMAIL_OPEN'] });
  const [contact] = await contactsOf(t, owner.accountId, 1);
  await t.sql.query(
    `insert into contact_event (account_id, contact_id, type, occurred_at) values ($1, $2, 0, now())`,
    [owner.accountId, contact],
  );
  await waitUntil(() => rx.maxInFlight() === 1, 'the delivery, posted');
  // While the receiver takes its time, the first step of a delete: the webhook's row, held.
  const deleter = await t.sql.connect();
  try {
    await deleter.query('begin');
    await deleter.query('select 1 from webhook where id = $1 for update', [id]);
    await lockWait(t.sql, '%webhook%', 'the outcome waiting for the webhook row');
    // Nothing of the delivery is held while the outcome waits: the cascade can take it.
    const held = await deleter.query(
      'select id from webhook_delivery where webhook_id = $1 for update nowait',
      [id],
    );
    expect(held.rowCount).toBe(1);
    await deleter.query('delete from webhook where id = $1', [id]);
    await deleter.query('commit');
  } finally {
    // After a failure above, so that the outcome and afterAll are not left waiting on it.
    await deleter.query('rollback');
    deleter.release();
  }
  expect(await deliveries(t, id)).toEqual([]);
  // The job went on (nothing left to record) and the next webhook is served as usual.
  const next = await activeHook(t, owner, { url: rx.url, eventTypes: ['EMAIL_OPEN'] });
  await t.sql.query(
    `insert into contact_event (account_id, contact_id, type, occurred_at) values ($1, $2, 0, now())`,
    [owner.accountId, contact],
  );
  await waitUntil(() => rx.hits.length === 2, 'the next webhook delivery');
  ok(await t.gql(`mutation($id: ID!) { deleteWebhook(id: $id) }`, { id: next.id }, owner.token));
});
