/**
 * One graphql-ws connection runs at most MAX_SUBSCRIPTIONS_PER_SOCKET subscriptions at once: each
 * costs memory and a rights re-check per event, and one socket had opened 20,000.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MAX_SUBSCRIPTIONS_PER_SOCKET } from '../src/realtime/ws.js';
import { type Actor, ok, signUpOwner, startTestApp, type TestApp } from './harness.js';

let t: TestApp;
let owner: Actor;
beforeAll(async () => {
  t = await startTestApp();
  owner = await signUpOwner(t);
});
afterAll(() => t.close());

it('refuses subscriptions past the limit with RATE_LIMITED, and takes one again once another ends', async () => {
  const client = t.ws(owner.token);
  const refused: number[] = [];
  let refusal: () => void = () => {};
  const firstRefusal = new Promise<void>((r) => {
    refusal = r;
  });
  const received = new Map<number, (name: string) => void>();
  const open = (i: number) =>
    client.subscribe(
      { query: 'subscription { auditEntryAdded { action } }' },
      {
        next: (v) =>
          received.get(i)?.(String((v.data?.auditEntryAdded as { action?: string } | undefined)?.action)),
        error: (e) => {
          expect(JSON.stringify(e)).toContain('RATE_LIMITED');
          refused.push(i);
          refusal();
        },
        complete: () => {},
      },
    );
  // One more than the limit, sent at once: exactly one is refused (which one depends on timing).
  const stops = Array.from({ length: MAX_SUBSCRIPTIONS_PER_SOCKET + 1 }, (_, i) => open(i));
  await firstRefusal;
  expect(refused).toHaveLength(1);
  // One that runs ends (the client completes it): a new one is taken and receives events.
  const ended = refused[0] === 0 ? 1 : 0;
  stops[ended]();
  const fresh = MAX_SUBSCRIPTIONS_PER_SOCKET + 1;
  const got = new Promise<string>((r) => received.set(fresh, r));
  open(fresh);
  // Its subscribe is answered before the next mutation's entry is published: poll with entries.
  let action = '';
  const wait = got.then((a) => {
    action = a;
  });
  for (let n = 0; !action && n < 50; n++) {
    ok(
      await t.gql(
        'mutation ($e: String) { createContact(input: { email: $e }) { id } }',
        { e: `ws${n}@limits.test` },
        owner.token,
      ),
    );
    await Promise.race([wait, new Promise((r) => setTimeout(r, 100))]);
  }
  expect(action).toBe('createContact');
  expect(refused).toHaveLength(1);
  client.dispose();
});
