/**
 * Delivery reports on POST /sms/status, over real HTTP to the test server, on real PostgreSQL,
 * for SMS really sent through a gateway this file runs on port 0 (SMS_GATEWAY_URL): the
 * references the reports name are the ones the gateway received. Signature, bad bodies, unknown
 * references, the effects of each status, idempotence (repeated and concurrent), the figures in
 * Operation.stats.send, and the INVALID number left out of the next SMS operation.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, ok, signUpOwner, startTestApp, type TestApp } from '../../../test/harness.js';
import { eventCode } from '../events/event.entity.js';
import { sendSmsTo } from '../operations/testing/helpers.js';
import { signBody } from '../transport/sms.js';

const TOKEN = 'gateway-secret-for-report-tests';
const DELIVERED = eventCode('SMS_DELIVERED');
const BOUNCE = eventCode('BOUNCE');

/** What the gateway received: each message's JSON, checked against its signature. */
const received: { to: string; reference: string; signed: boolean }[] = [];
let gateway: Server;
let t: TestApp;
let a: Actor;
let b: Actor;
let opA: string;
let opB: string;
/** A's contacts by name; each got the first SMS. */
const c: Record<string, { id: string; phone: string }> = {};

beforeAll(async () => {
  gateway = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString();
      const m = JSON.parse(raw) as { to: string; reference: string };
      received.push({
        to: m.to,
        reference: m.reference,
        signed: req.headers['x-cible-signature'] === signBody(TOKEN, raw),
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: `gw-${received.length}` }));
    });
  });
  await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}/send`;
  t = await startTestApp({ SMS_GATEWAY_URL: url, SMS_GATEWAY_TOKEN: TOKEN, SEND_DISPATCH_SECONDS: '1' });
  a = await signUpOwner(t, 'Reporter');
  b = await signUpOwner(t, 'Other');
  for (const [i, name] of ['delivered', 'twice', 'failed', 'expired', 'rejected'].entries())
    c[name] = await contact(a, `${name}@rep.test`, `+3361234570${i}`);
  c.bee = await contact(b, 'bee@rep.test', '+33612345799');
  opA = await sendSmsTo(t, a, '@rep.test', 'A text');
  opB = await sendSmsTo(t, b, '@rep.test', 'B text');
}, 120_000);
afterAll(async () => {
  await t?.close();
  await new Promise((r) => gateway?.close(r));
});

async function contact(who: Actor, email: string, phone: string) {
  const { rows } = await t.sql.query(
    `insert into contact (account_id, email, phone, unique_value) values ($1, $2, $3, $2) returning id::text`,
    [who.accountId, email, phone],
  );
  return { id: rows[0].id as string, phone };
}

/** The reference the gateway received for this contact's SMS of this operation. */
const ref = (op: string, who: { id: string }) => {
  const m = received.find((r) => r.reference === `${op}.${who.id}`);
  if (!m) throw new Error(`the gateway got no SMS ${op}.${who.id}`);
  return m.reference;
};

async function report(body: unknown, signature: string | null | undefined = undefined, method = 'POST') {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const sig = signature === undefined ? signBody(TOKEN, raw) : signature;
  const res = await fetch(new URL('/sms/status', t.url), {
    method,
    headers: { 'content-type': 'application/json', ...(sig ? { 'x-cible-signature': sig } : {}) },
    body: method === 'POST' ? raw : undefined,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const recipient = async (op: string, who: { id: string }) =>
  (
    await t.sql.query(
      'select status, reason, delivery, last_error from operation_recipient where operation_id = $1 and contact_id = $2',
      [op, who.id],
    )
  ).rows[0];
const events = async (who: { id: string }, type: number) =>
  (
    await t.sql.query('select operation_id from contact_event where contact_id = $1 and type = $2', [
      who.id,
      type,
    ])
  ).rows;
const smsStatusOf = async (who: { id: string }) =>
  (await t.sql.query('select sms_status from contact where id = $1', [who.id])).rows[0].sms_status as string;
/** Everything a report can write, for "nothing written". */
const snapshot = async () =>
  (
    await t.sql.query(
      `select (select json_agg(json_build_array(delivery, last_error) order by operation_id, contact_id) from operation_recipient) as rows,
              (select json_agg(json_build_array(sms_delivered, sms_failed) order by operation_id) from operation_send) as counters,
              (select count(*) from contact_event where type in ($1, $2))::int as events,
              (select json_agg(sms_status order by id) from contact) as statuses`,
      [DELIVERED, BOUNCE],
    )
  ).rows[0];
const figures = async (who: Actor, id: string) =>
  ok(
    await t.gql<
      { operation: { stats: { send: { delivered: number; smsDelivered: number; smsFailed: number } } } },
      { id: string }
    >(
      'query($id: ID!) { operation(id: $id) { stats { send { delivered smsDelivered smsFailed } } } }',
      { id },
      who.token,
    ),
  ).operation.stats.send;

describe('the SMS really sent', () => {
  it('reached the gateway signed, each with its reference <operation>.<contact>', () => {
    expect(received).toHaveLength(6);
    expect(received.every((r) => r.signed)).toBe(true);
    for (const who of ['delivered', 'twice', 'failed', 'expired', 'rejected'])
      expect(received.find((r) => r.reference === ref(opA, c[who]))?.to).toBe(c[who].phone);
  });
});

describe('refused reports write nothing', () => {
  it('401 without the signature, with a wrong one or one of another body; 405 for GET', async () => {
    const before = await snapshot();
    const body = JSON.stringify({ reference: ref(opA, c.delivered), status: 'DELIVERED' });
    expect((await report(body, null)).status).toBe(401);
    expect((await report(body, signBody('another-token', body))).status).toBe(401);
    expect((await report(body, signBody(TOKEN, `${body} `))).status).toBe(401);
    expect((await report(body, null, 'GET')).status).toBe(405);
    expect(await snapshot()).toEqual(before);
  });

  it('400 with what is wrong for a signed body that is not a report', async () => {
    const before = await snapshot();
    const reference = ref(opA, c.delivered);
    const cases: [unknown, RegExp][] = [
      ['not json', /expected JSON \{ reference, status/],
      [[1, 2], /expected JSON/],
      [{ status: 'DELIVERED' }, /reference must be/],
      [{ reference }, /status must be one of DELIVERED, FAILED, EXPIRED, REJECTED/],
      [{ reference, status: 'ARRIVED' }, /status must be one of/],
      [{ reference, status: 'DELIVERED', parts: 0 }, /parts must be an integer from 1 to 255/],
      [{ reference, status: 'DELIVERED', timestamp: 'yesterday' }, /timestamp must be an ISO 8601/],
      [{ reference, status: 'FAILED', errorCode: { x: 1 } }, /errorCode must be/],
      [{ reference, status: 'FAILED', to: 33612345700 }, /to must be a string/],
    ];
    for (const [body, message] of cases) {
      const res = await report(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error).toMatch(message);
    }
    expect(await snapshot()).toEqual(before);
  });

  it('404, the same answer, for a reference that names no SMS of ours or another number than `to`', async () => {
    const before = await snapshot();
    for (const reference of [
      'nonsense',
      `00000000-0000-4000-8000-000000000000.${c.delivered.id}`,
      `${opA}.${c.bee.id}`, // B's contact in A's operation
      `${opB}.${c.delivered.id}`, // A's contact in B's operation
      `${opA}.${c.delivered.id}.1`,
    ]) {
      const res = await report({ reference, status: 'FAILED' });
      expect(res, reference).toEqual({ status: 404, body: { error: 'unknown message' } });
    }
    const wrongNumber = await report({
      reference: ref(opA, c.failed),
      status: 'FAILED',
      to: c.delivered.phone,
    });
    expect(wrongNumber).toEqual({ status: 404, body: { error: 'unknown message' } });
    expect(await snapshot()).toEqual(before);
  });
});

describe('recorded reports', () => {
  it('DELIVERED: an SMS_DELIVERED event with the operation, counted once; the row stays SENT', async () => {
    const reference = ref(opA, c.delivered);
    const body = {
      reference,
      status: 'delivered',
      parts: 1,
      timestamp: '2026-01-02T03:04:05Z',
      to: '+33 6 12 34 57 00',
    };
    expect(await report(body)).toEqual({ status: 200, body: { recorded: true } });
    expect(await recipient(opA, c.delivered)).toMatchObject({
      status: 'SENT',
      reason: null,
      delivery: 'DELIVERED',
    });
    const { rows } = await t.sql.query(
      'select operation_id, occurred_at from contact_event where contact_id = $1 and type = $2',
      [c.delivered.id, DELIVERED],
    );
    expect(rows).toEqual([{ operation_id: opA, occurred_at: new Date('2026-01-02T03:04:05Z') }]);
    // The same report again, and one saying otherwise: the first one stands.
    expect(await report(body)).toEqual({ status: 200, body: { recorded: false } });
    expect(await report({ reference, status: 'FAILED' })).toEqual({ status: 200, body: { recorded: false } });
    // E.164 without its '+' is the same number.
    expect(await report({ ...body, to: '33612345700' })).toEqual({ status: 200, body: { recorded: false } });
    expect(await events(c.delivered, DELIVERED)).toHaveLength(1);
    expect(await events(c.delivered, BOUNCE)).toHaveLength(0);
    expect(await figures(a, opA)).toEqual({ delivered: 5, smsDelivered: 1, smsFailed: 0 });
  });

  it('eight concurrent copies of one report record it once', async () => {
    const body = { reference: ref(opA, c.twice), status: 'DELIVERED' };
    const answers = await Promise.all(Array.from({ length: 8 }, () => report(body)));
    expect(answers.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(answers.filter((r) => r.body.recorded === true)).toHaveLength(1);
    expect(await events(c.twice, DELIVERED)).toEqual([{ operation_id: opA }]);
    expect((await figures(a, opA)).smsDelivered).toBe(2);
  });

  it('FAILED: a BOUNCE event with the operation, the error code kept, the number INVALID', async () => {
    const res = await report({ reference: ref(opA, c.failed), status: 'FAILED', errorCode: 'UNDELIV-1' });
    expect(res).toEqual({ status: 200, body: { recorded: true } });
    expect(await recipient(opA, c.failed)).toEqual({
      status: 'SENT',
      reason: null,
      delivery: 'FAILED',
      last_error: 'delivery report: FAILED (error UNDELIV-1)',
    });
    expect(await events(c.failed, BOUNCE)).toEqual([{ operation_id: opA }]);
    expect(await smsStatusOf(c.failed)).toBe('INVALID');
    const seen = ok(
      await t.gql<{ contact: { smsStatus: string } }, { id: string }>(
        'query($id: ID!) { contact(id: $id) { smsStatus } }',
        { id: c.failed.id },
        a.token,
      ),
    );
    expect(seen.contact.smsStatus).toBe('INVALID');
  });

  it('EXPIRED and REJECTED count as not delivered but leave the number SUBSCRIBED', async () => {
    expect((await report({ reference: ref(opA, c.expired), status: 'EXPIRED', errorCode: 27 })).body).toEqual(
      {
        recorded: true,
      },
    );
    expect((await report({ reference: ref(opA, c.rejected), status: 'REJECTED' })).body).toEqual({
      recorded: true,
    });
    expect(await recipient(opA, c.expired)).toMatchObject({
      delivery: 'EXPIRED',
      last_error: 'delivery report: EXPIRED (error 27)',
    });
    expect(await smsStatusOf(c.expired)).toBe('SUBSCRIBED');
    expect(await smsStatusOf(c.rejected)).toBe('SUBSCRIBED');
    expect(await events(c.rejected, BOUNCE)).toEqual([{ operation_id: opA }]);
    expect(await figures(a, opA)).toEqual({ delivered: 5, smsDelivered: 2, smsFailed: 3 });
  });

  it('a row still CLAIMED (the report beat the batch record) is recorded; one never handed over is not ours', async () => {
    const { rows } = await t.sql.query(
      `insert into operation (account_id, kind, name, status, audience, content, content_hash)
       values ($1, 'SMS', 'in flight', 'SENDING', '{"segmentIds":[],"excludedSegmentIds":[],"allContacts":true}', '{}', 'h')
       returning id`,
      [a.accountId],
    );
    const op = rows[0].id as string;
    await t.sql.query(
      `insert into operation_send (operation_id, account_id, frozen_at, recipients, excluded) values ($1, $2, now(), 2, '{}')`,
      [op, a.accountId],
    );
    await t.sql.query(
      `insert into operation_recipient (operation_id, contact_id, account_id, address, status, attempts, due_at)
       values ($1, $2, $3, $4, 'CLAIMED', 1, now() + interval '1 minute'), ($1, $5, $3, $6, 'PENDING', 0, now() + interval '1 hour')`,
      [op, c.delivered.id, a.accountId, c.delivered.phone, c.twice.id, c.twice.phone],
    );
    expect((await report({ reference: `${op}.${c.delivered.id}`, status: 'DELIVERED' })).body).toEqual({
      recorded: true,
    });
    expect(await report({ reference: `${op}.${c.twice.id}`, status: 'DELIVERED' })).toEqual({
      status: 404,
      body: { error: 'unknown message' },
    });
    expect(await recipient(op, c.delivered)).toMatchObject({ status: 'CLAIMED', delivery: 'DELIVERED' });
    expect(await figures(a, op)).toMatchObject({ smsDelivered: 1, smsFailed: 0 });
    await t.sql.query(`update operation set status = 'CANCELLED' where id = $1`, [op]);
  });

  it("a report on B's message moves B's figures only", async () => {
    expect((await report({ reference: ref(opB, c.bee), status: 'FAILED' })).body).toEqual({ recorded: true });
    expect(await figures(b, opB)).toEqual({ delivered: 1, smsDelivered: 0, smsFailed: 1 });
    expect(await figures(a, opA)).toEqual({ delivered: 5, smsDelivered: 2, smsFailed: 3 });
    expect(await smsStatusOf(c.bee)).toBe('INVALID');
  });

  it('the INVALID number is EXCLUDED as HARD_BOUNCED from the next SMS operation, the others are sent', async () => {
    const next = await sendSmsTo(t, a, '@rep.test', 'Second text');
    const { rows } = await t.sql.query(
      'select contact_id::text as id, status, reason from operation_recipient where operation_id = $1 order by contact_id',
      [next],
    );
    expect(rows).toEqual(
      ['delivered', 'twice', 'failed', 'expired', 'rejected'].map((n) =>
        n === 'failed'
          ? { id: c[n].id, status: 'EXCLUDED', reason: 'HARD_BOUNCED' }
          : { id: c[n].id, status: 'SENT', reason: null },
      ),
    );
  });
});
