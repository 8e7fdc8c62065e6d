/**
 * STOP and START replies on POST /sms/inbound, over real HTTP to the test server, on real
 * PostgreSQL: the signature is required, a STOP opts the number out (with one UNSUBSCRIBE event
 * naming the SMS operation that reached the contact), START opts it back in, anything else writes
 * nothing, an account that never texted the number is untouched, and the opt-out keeps the
 * contact out of the SMS audience count and of the next SMS operation's freeze.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, ok, signUpOwner, startTestApp, type TestApp } from '../../../test/harness.js';
import { eventCode } from '../events/event.entity.js';
import { ops, smsOp } from '../operations/testing/helpers.js';
import { signBody } from '../transport/sms.js';
import { keywordOf } from './sms-replies.service.js';

const TOKEN = 'gateway-secret-for-tests';
const UNSUBSCRIBE = eventCode('UNSUBSCRIBE');
const PHONE = '+33612345601';

let t: TestApp & { databaseUrl: string };
let a: Actor; // sent PHONE an SMS operation
let b: Actor; // has a contact with PHONE, texted another number only
let opId: string;
let held: string; // validated, never sent: for its live audienceCount
/** A's contacts: `first` got the SMS; `twin` has the same phone, excluded as a duplicate; `other` another phone. */
const c: Record<'first' | 'twin' | 'other' | 'stranger', string> = {
  first: '',
  twin: '',
  other: '',
  stranger: '',
};

beforeAll(async () => {
  t = await startTestApp({ SMS_GATEWAY_TOKEN: TOKEN, SEND_DISPATCH_SECONDS: '1' });
  a = await signUpOwner(t, 'Texter');
  b = await signUpOwner(t, 'Bystander');
  c.first = await contact(a, 'first@sr.test', PHONE);
  c.twin = await contact(a, 'twin@sr.test', PHONE);
  c.other = await contact(a, 'other@sr.test', '+33612345602');
  // B texts another number (so it has SMS recipients), never PHONE: its segment is @sr.test.
  c.stranger = await contact(b, 'stranger@elsewhere.test', PHONE);
  await contact(b, 'bee@sr.test', '+33612345699');
  opId = await sendSms(a, 'First text');
  await sendSms(b, 'B text');
}, 120_000);
afterAll(async () => {
  await t?.close();
});

async function contact(who: Actor, email: string, phone: string): Promise<string> {
  const { rows } = await t.sql.query(
    `insert into contact (account_id, email, phone, unique_value) values ($1, $2, $3, $2) returning id::text`,
    [who.accountId, email, phone],
  );
  return rows[0].id;
}

async function segment(who: Actor): Promise<string> {
  return ok(
    await t.gql<{ createSegment: { id: string } }, Record<string, unknown>>(
      'mutation($input: CreateSegmentInput!) { createSegment(input: $input) { id } }',
      {
        input: {
          name: `sr ${Math.random()}`,
          criterion: { field: { name: 'email', op: 'CONTAINS', value: '@sr.test' } },
        },
      },
      who.token,
    ),
  ).createSegment.id;
}

/** An SMS operation to the account's @sr.test contacts, validated; sent through the SMS outbox unless `hold`. */
async function sendSms(who: Actor, name: string, hold = false): Promise<string> {
  const o = ops(t);
  const id = ok(await o.create(who, { ...smsOp(name), audience: { segmentIds: [await segment(who)] } }))
    .createOperation.id;
  ok(await o.step(who, 'submitOperation', id));
  ok(await o.step(who, 'validateOperation', id, hold ? '' : ', scheduleNow: true'));
  if (hold) return id;
  const end = Date.now() + 40_000;
  for (;;) {
    const { rows } = await t.sql.query('select status from operation where id = $1', [id]);
    if (rows[0].status === 'SENT') return id;
    if (rows[0].status === 'FAILED' || Date.now() > end)
      throw new Error(`operation ${id}: ${rows[0].status}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function inbound(body: string, signature: string | null = signBody(TOKEN, body), url = t.url) {
  const res = await fetch(new URL('/sms/inbound', url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(signature ? { 'x-cible-signature': signature } : {}) },
    body,
  });
  return { status: res.status, body: await res.text() };
}

const count = async () =>
  ok(
    await t.gql<{ operation: { audienceCount: number } }, { id: string }>(
      'query($id: ID!) { operation(id: $id) { audienceCount } }',
      { id: held },
      a.token,
    ),
  ).operation.audienceCount;

const reply = (text: string, from = PHONE) => JSON.stringify({ from, to: '36111', text });

const smsStatus = async (id: string) =>
  (await t.sql.query('select sms_status from contact where id = $1', [id])).rows[0].sms_status as string;
const eventsOf = async (id: string) =>
  (
    await t.sql.query('select type, operation_id from contact_event where contact_id = $1 and type = $2', [
      id,
      UNSUBSCRIBE,
    ])
  ).rows;
const auditOf = async (id: string) =>
  (
    await t.sql.query(
      `select account_id, user_id, action, diff from audit_entry where object_type = 'Contact' and object_id = $1 order by id`,
      [id],
    )
  ).rows;
/** Everything a reply could write, for "nothing written". */
const snapshot = async () =>
  (
    await t.sql.query(
      `select (select json_agg(sms_status order by id) from contact) as statuses,
              (select count(*) from contact_event where type = $1)::int as events,
              (select count(*) from audit_entry where action like 'sms%')::int as audits`,
      [UNSUBSCRIBE],
    )
  ).rows[0];

describe('keywordOf', () => {
  it('reads the single-word opt-out and opt-in replies, trimmed, any case, accents folded', () => {
    for (const w of [
      'STOP',
      ' stop\n',
      'StopAll',
      'unsubscribe',
      'Cancel',
      'END',
      'quit',
      'ARRET',
      'Arrêt',
      'arrêt',
    ])
      expect(keywordOf(w), w).toBe('STOP');
    expect(keywordOf(' Start ')).toBe('START');
    for (const w of ['stop please', 'STOP!', 'S T O P', 'started', '', 'arrête'])
      expect(keywordOf(w), w).toBeNull();
  });
});

describe('the signature', () => {
  it('is required: none, a wrong one, one of another body: 401, nothing written', async () => {
    const before = await snapshot();
    const body = reply('STOP');
    expect((await inbound(body, null)).status).toBe(401);
    expect((await inbound(body, signBody('another-token', body))).status).toBe(401);
    expect((await inbound(body, signBody(TOKEN, reply('START')))).status).toBe(401);
    expect((await inbound(body, signBody(TOKEN, `${body} `))).status).toBe(401);
    expect(await snapshot()).toEqual(before);
    expect(await smsStatus(c.first)).toBe('SUBSCRIBED');
  });

  it('a body over 16 KiB is refused (413); signed but not the JSON expected: 400; nothing written', async () => {
    const before = await snapshot();
    const big = JSON.stringify({ from: PHONE, to: '36111', text: 'STOP', pad: 'x'.repeat(17 * 1024) });
    expect((await inbound(big)).status).toBe(413);
    expect((await inbound('not json')).status).toBe(400);
    expect((await inbound(JSON.stringify({ from: PHONE, text: 'STOP' }))).status).toBe(400);
    expect(await snapshot()).toEqual(before);
  });
});

describe('STOP and START', () => {
  it('"stop please" and an unknown number write nothing (200)', async () => {
    const before = await snapshot();
    expect(await inbound(reply('stop please'))).toMatchObject({ status: 200 });
    expect((await inbound(reply('STOP', '+33699999999'))).status).toBe(200);
    expect((await inbound(reply('STOP', 'not a number'))).status).toBe(200);
    expect(await snapshot()).toEqual(before);
  });

  it('STOP opts out every contact of the texting account with the number, once, with the operation', async () => {
    const res = await inbound(reply(' Arrêt\n', '+33 6 12 34 56 01'));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ action: 'OPTED_OUT', contacts: 2 });
    expect(await smsStatus(c.first)).toBe('OPTED_OUT');
    expect(await smsStatus(c.twin)).toBe('OPTED_OUT');
    expect(await smsStatus(c.other)).toBe('SUBSCRIBED');
    // What a client reads of it.
    const seen = await t.gql<{ contact: { smsStatus: string } }, Record<string, unknown>>(
      'query($id: ID!) { contact(id: $id) { smsStatus } }',
      { id: c.first },
      a.token,
    );
    expect(seen.data?.contact.smsStatus).toBe('OPTED_OUT');
    // first got the SMS: its event names the operation; twin was excluded as a duplicate: none.
    expect(await eventsOf(c.first)).toEqual([{ type: UNSUBSCRIBE, operation_id: opId }]);
    expect(await eventsOf(c.twin)).toEqual([{ type: UNSUBSCRIBE, operation_id: null }]);
    const audit = await auditOf(c.first);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ account_id: a.accountId, user_id: null, action: 'smsOptOut' });
    expect(audit[0].diff).toEqual({
      smsStatus: { from: 'SUBSCRIBED', to: 'OPTED_OUT' },
      operationId: { from: null, to: opId },
    });
    // A second STOP (another word) changes nothing and records nothing.
    const again = await inbound(reply('stopall'));
    expect(JSON.parse(again.body)).toEqual({ action: 'OPTED_OUT', contacts: 0 });
    expect(await eventsOf(c.first)).toHaveLength(1);
    expect(await auditOf(c.first)).toHaveLength(1);
  });

  it("another account's contact with the same phone, never texted by it, is untouched", async () => {
    expect(await smsStatus(c.stranger)).toBe('SUBSCRIBED');
    expect(await eventsOf(c.stranger)).toEqual([]);
    expect(await auditOf(c.stranger)).toEqual([]);
  });

  it('an opted-out contact leaves the SMS audience count and is EXCLUDED as UNSUBSCRIBED at the next freeze', async () => {
    held = await sendSms(a, 'Count only', true);
    expect(await count()).toBe(1); // only `other`'s phone is left
    const next = await sendSms(a, 'Second text');
    const { rows } = await t.sql.query(
      'select contact_id::text, status, reason from operation_recipient where operation_id = $1 order by contact_id',
      [next],
    );
    expect(rows).toEqual([
      { contact_id: c.first, status: 'EXCLUDED', reason: 'UNSUBSCRIBED' },
      { contact_id: c.twin, status: 'EXCLUDED', reason: 'UNSUBSCRIBED' },
      { contact_id: c.other, status: 'SENT', reason: null },
    ]);
  });

  it('START opts back in, with an audit entry and no event; the count includes the number again', async () => {
    const res = await inbound(reply('start'));
    expect(JSON.parse(res.body)).toEqual({ action: 'SUBSCRIBED', contacts: 2 });
    expect(await smsStatus(c.first)).toBe('SUBSCRIBED');
    expect(await smsStatus(c.twin)).toBe('SUBSCRIBED');
    expect(await eventsOf(c.first)).toHaveLength(1);
    const audit = await auditOf(c.first);
    expect(audit.map((e) => e.action)).toEqual(['smsOptOut', 'smsOptIn']);
    expect(audit[1].diff).toEqual({ smsStatus: { from: 'OPTED_OUT', to: 'SUBSCRIBED' } });
    expect(await count()).toBe(2);
  });
  it('six concurrent STOPs opt out once: one new event per contact, the changes counted once', async () => {
    const answers = await Promise.all(Array.from({ length: 6 }, () => inbound(reply('STOP'))));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    const changed = answers.map((r) => JSON.parse(r.body).contacts as number);
    expect(changed.reduce((x, y) => x + y, 0)).toBe(2);
    expect(await eventsOf(c.first)).toHaveLength(2); // the first STOP's, and this one
    expect(await eventsOf(c.twin)).toHaveLength(2);
    expect((await auditOf(c.first)).map((e) => e.action)).toEqual(['smsOptOut', 'smsOptIn', 'smsOptOut']);
  });
});

// Last: a second server on this database leaves the shared dispatch job locked when it closes
// (src/jobs/jobs.ts drains, and Agenda keeps the lock it took for the next run until its lock
// lifetime, 5 min), which would stall the sends of the tests above.
describe('without SMS_GATEWAY_TOKEN', () => {
  it('nothing can be signed: 401, nothing written', async () => {
    const before = await snapshot();
    const bare = await startTestApp({ SEND_DISPATCH_SECONDS: '1' }, { databaseUrl: t.databaseUrl });
    try {
      const body = reply('STOP');
      expect((await inbound(body, signBody(TOKEN, body), bare.url)).status).toBe(401);
      expect((await inbound(body, null, bare.url)).status).toBe(401);
    } finally {
      await bare.close();
    }
    expect(await snapshot()).toEqual(before);
  });
});
