/**
 * What a receiver's answer does (410 disables, Retry-After is honoured, a redirect is a failure
 * and is not followed, a timeout is a failure), that a slow endpoint does not hold up another,
 * that an oversized payload is refused when its delivery is written, and the address checks
 * (https only, public addresses only, checked on the address really connected to).
 */
import dns from 'node:dns/promises';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, ok, signUpOwner, startTestApp, type TestApp } from '../../../test/harness.js';
import { waitUntil } from '../../../test/wait.js';
import { activeHook, clicks, contactsOf, deliveries } from './testing/hooks.js';
import { type Answer, type Receiver, startReceiver } from './testing/receiver.js';
import { createPoster, isPublicAddress, urlProblem } from './webhook.http.js';

const TIMEOUT_MS = 1000;
let t: TestApp;
let owner: Actor;
let rx: Receiver;
let contacts: string[];
/** Per webhook name (the last part of its URL), how the receiver answers it. */
const answers = new Map<string, Answer>();

beforeAll(async () => {
  t = await startTestApp({
    WEBHOOK_DISPATCH_MS: '100',
    WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
    WEBHOOK_LEASE_SECONDS: '2',
  });
  owner = await signUpOwner(t);
  rx = await startReceiver((h) => answers.get(h.path.split('/').pop() ?? '') ?? { status: 200 });
  contacts = await contactsOf(t, owner.accountId, 5);
});
afterAll(async () => {
  await rx?.close();
  await t?.close();
});

const hookRow = async (id: string) =>
  (
    await t.sql.query<{ status: string; status_reason: string | null }>(
      'select status, status_reason from webhook where id = $1',
      [id],
    )
  ).rows[0];

/** A webhook `name` answered by `answer`, and `n` clicks for it; waits for its first attempt. */
async function hookAnswering(name: string, answer: Answer, n = 3, input: Record<string, unknown> = {}) {
  answers.set(name, answer);
  const hook = await activeHook(t, owner, { url: rx.urlFor(name), eventTypes: ['EMAIL_CLICK'], ...input });
  await clicks(t, owner.accountId, contacts, n);
  await waitUntil(async () => (await attempted(hook.id)).length > 0, `${name}'s first attempt`);
  return hook;
}

const attempted = async (hookId: string) =>
  (
    await t.sql.query<{ id: string; ms: number; response_status: number | null; last_error: string | null }>(
      `select id::text, (extract(epoch from next_attempt_at - last_attempt_at) * 1000)::float8 as ms, response_status, last_error
         from webhook_delivery where webhook_id = $1 and last_attempt_at is not null and lease_until is null order by id`,
      [hookId],
    )
  ).rows;

const deleteHook = (id: string) =>
  t.gql(`mutation($id: ID!) { deleteWebhook(id: $id) }`, { id }, owner.token);

describe("the receiver's answer", () => {
  it('410 disables the webhook at once; what follows is kept, not attempted', async () => {
    const hook = await hookAnswering('gone', { status: 410, body: 'no such endpoint' });
    await waitUntil(async () => (await hookRow(hook.id)).status === 'DISABLED', 'DISABLED');
    expect((await hookRow(hook.id)).status_reason).toMatch(/410 Gone/);
    const rows = await deliveries(t, hook.id);
    expect(rows.map((r) => [r.status, r.attempts])).toEqual([
      ['PENDING', 1],
      ['PENDING', 0],
      ['PENDING', 0],
    ]);
    expect(rx.hitsOf('gone')).toHaveLength(1);
    ok(await deleteHook(hook.id));
  });

  it('honours Retry-After (seconds or a date); without it, the first wait is about 5 s', async () => {
    const seconds = await hookAnswering('busy', { status: 503, headers: { 'retry-after': '120' } }, 1);
    expect((await attempted(seconds.id))[0]).toMatchObject({ ms: 120_000, response_status: 503 });
    const date = new Date(Date.now() + 600_000).toUTCString();
    const dated = await hookAnswering('busy-until', { status: 429, headers: { 'retry-after': date } }, 1);
    expect(Math.abs((await attempted(dated.id))[0].ms - 600_000)).toBeLessThan(3000);
    const plain = await hookAnswering('broken', { status: 500 }, 1);
    const [first] = await attempted(plain.id);
    expect(first.ms).toBeGreaterThanOrEqual(4000);
    expect(first.ms).toBeLessThanOrEqual(6000);
    expect(first.last_error).toBe('HTTP 500');
    for (const h of [seconds, dated, plain]) ok(await deleteHook(h.id));
  });

  it('a redirect is a failure and is not followed; a timeout is a failure', async () => {
    const moved = await hookAnswering(
      'moved',
      { status: 302, headers: { location: rx.urlFor('elsewhere') } },
      1,
    );
    expect((await attempted(moved.id))[0]).toMatchObject({ response_status: 302, last_error: 'HTTP 302' });
    expect(rx.hitsOf('elsewhere')).toHaveLength(0);
    const slow = await hookAnswering('asleep', { status: 200, delayMs: TIMEOUT_MS * 3 }, 1);
    expect((await attempted(slow.id))[0]).toMatchObject({
      response_status: null,
      last_error: `no answer within ${TIMEOUT_MS} ms`,
    });
    for (const h of [moved, slow]) ok(await deleteHook(h.id));
  });

  it('one slow endpoint does not delay another', async () => {
    answers.set('slow', { status: 200, delayMs: 450 });
    const slow = await activeHook(t, owner, { url: rx.urlFor('slow'), eventTypes: ['EMAIL_OPEN'] });
    const fast = await activeHook(t, owner, { url: rx.urlFor('fast'), eventTypes: ['EMAIL_OPEN'] });
    await t.sql.query(
      `insert into contact_event (account_id, contact_id, type, occurred_at)
       select $1, $2, 0, now() from generate_series(1, 10)`,
      [owner.accountId, contacts[0]],
    );
    await waitUntil(() => rx.hitsOf('fast').length === 10, 'the fast endpoint');
    // 10 ordered posts of 450 ms each take 4.5 s: the fast one was done before the fifth (a
    // margin of about 1.8 s for a loaded machine, not a speed figure).
    expect(rx.hitsOf('slow').length).toBeLessThan(5);
    await waitUntil(() => rx.hitsOf('slow').length === 10, 'the slow endpoint', 10_000);
    for (const h of [slow, fast]) ok(await deleteHook(h.id));
  });
});

describe('what is refused before any request', () => {
  it('stores a payload over 256 KiB as REFUSED with the reason, and delivers the next one', async () => {
    await t.sql.query(
      `insert into contact_field (account_id, name, label, type) values ($1, 'notes', 'Notes', 'TEXT')`,
      [owner.accountId],
    );
    const hook = await activeHook(t, owner, {
      url: rx.urlFor('big'),
      eventTypes: ['EMAIL_CLICK'],
      fields: ['notes'],
    });
    const [big, small] = contacts;
    await t.sql.query(
      `update contact set fields = jsonb_build_object('notes', repeat('x', 300000)) where id = $1`,
      [big],
    );
    await clicks(t, owner.accountId, [big], 1);
    await clicks(t, owner.accountId, [small], 1);
    await waitUntil(() => rx.hitsOf('big').length === 1, 'the small payload');
    await waitUntil(
      async () => (await deliveries(t, hook.id)).some((d) => d.status === 'SUCCEEDED'),
      'its outcome recorded',
    );
    const { rows } = await t.sql.query<{ status: string; last_error: string | null; size: number }>(
      `select status, last_error, octet_length(payload::text) as size from webhook_delivery where webhook_id = $1 order by id`,
      [hook.id],
    );
    expect(rows[0].status).toBe('REFUSED');
    expect(rows[0].last_error).toMatch(/payload of \d+ bytes, over the 256 KiB limit: not sent/);
    expect(rows[1].status).toBe('SUCCEEDED');
    expect(JSON.parse(rx.hitsOf('big')[0].body).data.contact.id).toBe(small);
    ok(await deleteHook(hook.id));
  });

  it('without WEBHOOKS_ALLOW_PRIVATE: https only, public addresses only, checked at connection', async () => {
    expect(urlProblem('http://example.com/hook', false)).toBe('url must be https');
    expect(urlProblem('https://127.0.0.1/hook', false)).toMatch(/not a public address/);
    expect(urlProblem('https://[::ffff:10.0.0.1]/hook', false)).toMatch(/not a public address/);
    expect(urlProblem('https://169.254.169.254/latest/meta-data', false)).toMatch(/not a public address/);
    expect(urlProblem('https://api.localhost/hook', false)).toBe('url must not name localhost');
    expect(urlProblem('https://user:pw@example.com/', false)).toBe('url must not carry credentials');
    expect(urlProblem('https://example.com/hook', false)).toBeNull();
    expect(urlProblem('http://127.0.0.1:3000/hook', true)).toBeNull();
    expect(isPublicAddress('93.184.216.34')).toBe(true);
    expect(isPublicAddress('100.64.0.1')).toBe(false); // carrier-grade NAT
    // A name that passes the URL check but resolves to a private address (as a rebinding name
    // does when the call is made): this machine's own name, from its hosts file.
    const name = os.hostname();
    const { address } = await dns.lookup(name);
    expect(isPublicAddress(address), `${name} must resolve to a private address here`).toBe(false);
    const poster = createPoster({ allowPrivate: false, timeoutMs: 2000 });
    const r = await poster.post(`https://${name}:${new URL(rx.url).port}/hooks/private`, {}, '{}');
    await poster.close();
    expect(r.status).toBeNull();
    expect(r.error).toBe(`${name} resolves to ${address}, not a public address`);
    expect(rx.hitsOf('private')).toHaveLength(0);
  });
});
