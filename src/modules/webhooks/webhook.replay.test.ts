/**
 * Observing and recovering deliveries: webhookDeliveryFailed streams each failed attempt over
 * graphql-ws to the account's readers only; a delivery that used its whole schedule is FAILED
 * and redeliver sends it again with the same webhook-id; replayWebhook(since) sends again, in
 * order, what was sent or given up since a time; webhookDeliveries filters and pages; old
 * successful deliveries are pruned after the retention while failed ones are kept.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Actor,
  ok,
  signUpOwner,
  startTestApp,
  type TestApp,
  viewerWith,
} from '../../../test/harness.js';
import { type Message, type Stream, wsStream } from '../../../test/live-streams.js';
import { sleep, waitUntil } from '../../../test/wait.js';
import { activeHook, clicks, contactsOf, deliveries } from './testing/hooks.js';
import { type Receiver, startReceiver } from './testing/receiver.js';
import { webhookClock } from './webhook.clock.js';
import { MAX_ATTEMPTS } from './webhook.deliver.js';

let t: TestApp;
let owner: Actor;
let rx: Receiver;
let status = 500;
const streams: Stream[] = [];

beforeAll(async () => {
  t = await startTestApp({ WEBHOOK_DISPATCH_MS: '100' });
  owner = await signUpOwner(t);
  rx = await startReceiver(() => ({ status, body: status === 200 ? 'ok' : 'try later' }));
});
afterAll(async () => {
  for (const s of streams) s.close();
  webhookClock.offsetMs = 0;
  await rx?.close();
  await t?.close();
});

const FAILED_SUB = `subscription { webhookDeliveryFailed { deliveryId webhookId eventType attempts responseStatus error nextAttemptAt final } }`;
type Failure = {
  deliveryId: string;
  attempts: number;
  responseStatus: number;
  final: boolean;
  nextAttemptAt: string | null;
};
const failureOf = (m: Message) =>
  (typeof m === 'object' ? m.data?.webhookDeliveryFailed : null) as Failure | null;

function subscribe(token: string): Stream {
  const s = wsStream(t.url, token, FAILED_SUB);
  streams.push(s);
  return s;
}

const idsAt = (name: string) => rx.hitsOf(name).map((h) => h.id);

/** The webhook of every test here, and its first delivery. */
let hookId: string;
let first: string;

describe('failures, redeliver and replay', () => {
  it('streams each failed attempt to the readers of the account, and only to them', async () => {
    const guest = await viewerWith(t, owner, { WEBHOOKS: 'GUEST' });
    const stranger = await signUpOwner(t, 'Other');
    const mine = subscribe(guest.token);
    const theirs = subscribe(stranger.token);
    await sleep(300); // both subscribed before the first failure
    hookId = (await activeHook(t, owner, { url: rx.urlFor('replay'), eventTypes: ['EMAIL_CLICK'] })).id;
    const contacts = await contactsOf(t, owner.accountId, 3);
    await clicks(t, owner.accountId, contacts, 3);
    const failure = failureOf(await mine.next());
    [first] = (await deliveries(t, hookId)).map((d) => d.id);
    expect(failure).toMatchObject({ deliveryId: first, attempts: 1, responseStatus: 500, final: false });
    expect(Date.parse(failure!.nextAttemptAt!)).toBeGreaterThan(Date.now());
    let leaked: Message | null = null;
    void theirs.next().then((m) => {
      leaked = m;
    });
    await sleep(300);
    expect(leaked).toBeNull();
  });

  it('marks a delivery FAILED after its last attempt; redeliver sends it again with the same webhook-id', async () => {
    const mine = subscribe(owner.token);
    await sleep(300);
    // The head is one attempt from the end of its schedule, and due.
    await t.sql.query(
      `update webhook_delivery set attempts = $2, next_attempt_at = now() - interval '1 second' where id = $1`,
      [first, MAX_ATTEMPTS - 1],
    );
    let last: Failure | null = null;
    while (!last?.final) last = failureOf(await mine.next());
    expect(last).toMatchObject({
      deliveryId: first,
      attempts: MAX_ATTEMPTS,
      final: true,
      nextAttemptAt: null,
    });
    await waitUntil(async () => (await deliveries(t, hookId))[0].status === 'FAILED', 'FAILED');
    status = 200;
    // The rest were waiting behind the head; they go on now that it gave up.
    await waitUntil(
      async () => (await deliveries(t, hookId)).slice(1).every((d) => d.status === 'SUCCEEDED'),
      'the rest',
    );
    const page = await t.gql<
      { webhookDeliveries: { nodes: { id: string; status: string }[] } },
      { id: string }
    >(
      `query($id: ID!) { webhookDeliveries(webhookId: $id, filter: { status: FAILED }) { nodes { id status } } }`,
      { id: hookId },
      owner.token,
    );
    expect(ok(page).webhookDeliveries.nodes).toEqual([{ id: first, status: 'FAILED' }]);
    const before = idsAt('replay').length;
    const again = await t.gql<{ redeliver: { status: string } }, { id: string }>(
      `mutation($id: ID!) { redeliver(id: $id) { status } }`,
      { id: first },
      owner.token,
    );
    expect(ok(again).redeliver.status).toBe('PENDING');
    await waitUntil(() => idsAt('replay').length > before, 'the redelivery');
    expect(idsAt('replay').slice(before)).toEqual([`msg_${first}`]);
    await waitUntil(async () => (await deliveries(t, hookId))[0].status === 'SUCCEEDED', 'SUCCEEDED');
  });

  it('replayWebhook sends again, in order, what was sent since a time; webhookDeliveries pages', async () => {
    const since = new Date(Date.now() - 60_000).toISOString();
    const before = idsAt('replay').length;
    const r = await t.gql<{ replayWebhook: number }, Record<string, unknown>>(
      `mutation($id: ID!, $since: DateTime!) { replayWebhook(id: $id, since: $since) }`,
      { id: hookId, since },
      owner.token,
    );
    expect(ok(r).replayWebhook).toBe(3);
    await waitUntil(() => idsAt('replay').length === before + 3, 'the replay');
    const ids = (await deliveries(t, hookId)).map((d) => `msg_${d.id}`);
    expect(idsAt('replay').slice(before)).toEqual(ids);
    // A replay from later than everything sends nothing.
    const none = await t.gql<{ replayWebhook: number }, Record<string, unknown>>(
      `mutation($id: ID!, $since: DateTime!) { replayWebhook(id: $id, since: $since) }`,
      { id: hookId, since: new Date(Date.now() + 60_000).toISOString() },
      owner.token,
    );
    expect(ok(none).replayWebhook).toBe(0);
    type Page = {
      webhookDeliveries: { nodes: { id: string }[]; pageInfo: { endCursor: string; hasNextPage: boolean } };
    };
    const PAGE = `query($id: ID!, $after: String) { webhookDeliveries(webhookId: $id, first: 2, after: $after) { nodes { id } pageInfo { endCursor hasNextPage } } }`;
    const p1 = ok(
      await t.gql<Page, Record<string, unknown>>(PAGE, { id: hookId }, owner.token),
    ).webhookDeliveries;
    const p2 = ok(
      await t.gql<Page, Record<string, unknown>>(
        PAGE,
        { id: hookId, after: p1.pageInfo.endCursor },
        owner.token,
      ),
    ).webhookDeliveries;
    expect(p1.pageInfo.hasNextPage).toBe(true);
    expect(p2.pageInfo.hasNextPage).toBe(false);
    expect([...p1.nodes, ...p2.nodes].map((n) => n.id).sort()).toEqual(ids.map((i) => i.slice(4)).sort());
  });
});

describe('retention', () => {
  it('prunes successful deliveries older than WEBHOOK_RETENTION_DAYS and keeps failed ones', async () => {
    const { rows } = await t.sql.query<{ id: string }>(
      `update webhook_delivery set status = 'FAILED' where id = (select min(id) from webhook_delivery where webhook_id = $1) returning id::text`,
      [hookId],
    );
    const kept = rows[0].id;
    expect((await deliveries(t, hookId)).filter((d) => d.status === 'SUCCEEDED')).toHaveLength(2);
    webhookClock.advance(31 * 86_400_000);
    await waitUntil(async () => (await deliveries(t, hookId)).length === 1, 'the pruning', 10_000);
    expect((await deliveries(t, hookId)).map((d) => [d.id, d.status])).toEqual([[kept, 'FAILED']]);
  });
});
