/**
 * Bounces that come back later, matched to their exact send by the VERP return path: through
 * recordBounce (GraphQL) and POST /bounces/inbound (raw message, signed), against a real send to a
 * real smtp-server. Tokens are checked to be tamper-evident and account-bound: a forged token or
 * another account's touches nothing.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, ok, signUpOwner, startTestApp, type TestApp } from '../../../test/harness.js';
import { startSmtpSink } from '../../../test/smtp-sink.js';
import { loadConfig } from '../../config.js';
import { trackingKey } from '../events/tracking.token.js';
import { verifiedSender } from '../operations/testing/helpers.js';
import { contactsInSql, validatedNow } from '../sending/testing/server-fixture.js';
import { verifyVerpToken, verpAddress, verpTargetsIn } from './bounce.verp.js';

const SECRET = 'a tracking secret of the verp test, forty chars+';
const INBOUND = 'inbound token of the bounce domain MTA';
let key: Buffer;

describe('VERP tokens', () => {
  beforeAll(async () => {
    key = await trackingKey(loadConfig({ TRACKING_SECRET: SECRET }));
  });
  const target = { operationId: randomUUID(), contactId: '9007199254740993' };

  it('name the operation and the contact, within 64 characters, whatever the case', () => {
    const address = verpAddress(key, target, 'b.example');
    const [local] = address.split('@');
    expect(local.length).toBe(60);
    expect(verifyVerpToken(key, local.slice(8))).toEqual(target);
    expect(verifyVerpToken(key, local.slice(8).toUpperCase())).toEqual(target);
    expect(verpTargetsIn(key, [`To: <${address.toUpperCase()}>`, `Return-Path: <${address}>`])).toEqual([
      target,
    ]);
  });

  it('are refused when altered, signed with another key, or not canonical', async () => {
    const token = verpAddress(key, target, 'b.example').split('@')[0].slice(8);
    for (let i = 0; i < token.length; i += 7) {
      const c = token[i] === 'a' ? 'b' : 'a';
      expect(verifyVerpToken(key, token.slice(0, i) + c + token.slice(i + 1))).toBeNull();
    }
    const other = await trackingKey(loadConfig({ TRACKING_SECRET: `${SECRET} but another` }));
    expect(verifyVerpToken(other, token)).toBeNull();
    expect(verifyVerpToken(key, `${token.slice(0, -1)}${token.endsWith('a') ? 'b' : 'a'}`)).toBeNull();
    expect(verifyVerpToken(key, token.slice(0, -1))).toBeNull();
    expect(verpTargetsIn(key, [`bounces+${token.replace(/^./, token[0] === 'a' ? 'b' : 'a')}@x`])).toEqual(
      [],
    );
  });
});

describe('a DSN received after the send', () => {
  let t: TestApp;
  let owner: Actor;
  let stranger: Actor;
  let sink: Awaited<ReturnType<typeof startSmtpSink>>;
  let operationId: string;
  const contact = new Map<string, string>();
  const verp = new Map<string, string>();

  beforeAll(async () => {
    sink = await startSmtpSink();
    t = await startTestApp({
      SMTP_URL: sink.url,
      SEND_DISPATCH_SECONDS: '1',
      TRACKING_SECRET: SECRET,
      BOUNCE_INBOUND_TOKEN: INBOUND,
    });
    owner = await signUpOwner(t, 'Verp');
    stranger = await signUpOwner(t, 'Stranger');
    await verifiedSender(t, owner.accountId);
    await contactsInSql(t, owner.accountId, 'late', 5);
    // The stranger has a contact with the same address as ours.
    await contactsInSql(t, stranger.accountId, 'late', 1);
    operationId = await validatedNow(t, owner, 'late');
    for (let i = 0; ; i++) {
      const { rows } = await t.sql.query('select status from operation where id = $1', [operationId]);
      if (rows[0].status === 'SENT') break;
      if (i > 200) throw new Error('not sent');
      await new Promise((r) => setTimeout(r, 200));
    }
    const { rows } = await t.sql.query('select id::text, email from contact where account_id = $1', [
      owner.accountId,
    ]);
    for (const r of rows) contact.set(r.email, r.id);
    for (const m of sink.inbox) verp.set(m.rcpt[0], m.from);
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    await sink?.close();
  });

  /** A DSN as an MTA writes it: to the return path, about `finalRecipient`, with the original's headers. */
  const dsn = (to: string, finalRecipient: string, status = '5.1.1', diag = '550 5.1.1 No such user') =>
    [
      'From: MAILER-DAEMON@mx.example.net',
      `To: <${to}>`,
      'Subject: Undelivered Mail Returned to Sender',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="B"',
      '',
      '--B',
      'Content-Type: text/plain',
      '',
      'Your message could not be delivered.',
      '--B',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.example.net',
      '',
      `Final-Recipient: rfc822; ${finalRecipient}`,
      `Action: ${status.startsWith('5') ? 'failed' : 'delayed'}`,
      `Status: ${status}`,
      `Diagnostic-Code: smtp; ${diag}`,
      '--B',
      'Content-Type: text/rfc822-headers',
      '',
      `Return-Path: <${to}>`,
      'From: news@acme.example',
      'Subject: Hi',
      '--B--',
      '',
    ].join('\r\n');

  const record = (message: string, token: string) =>
    t.gql<{ recordBounce: { id: string; contactId: string | null }[] }, Record<string, unknown>>(
      'mutation($input: RecordBounceInput!) { recordBounce(input: $input) { id contactId } }',
      { input: { message } },
      token,
    );
  const inbound = (body: string, headers: Record<string, string> = {}, token = INBOUND) =>
    fetch(new URL('/bounces/inbound', t.url), {
      method: 'POST',
      headers: {
        'content-type': 'message/rfc822',
        'x-cible-signature': createHmac('sha256', token).update(body).digest('hex'),
        ...headers,
      },
      body,
    });
  const recipient = async (email: string) =>
    (
      await t.sql.query(
        'select status, reason, last_error from operation_recipient where operation_id = $1 and contact_id = $2',
        [operationId, contact.get(email)],
      )
    ).rows[0];
  const hardBounces = async () =>
    (await t.sql.query('select hard_bounces from operation_send where operation_id = $1', [operationId]))
      .rows[0].hard_bounces as number;
  const bouncesOf = async (accountId: string) =>
    (
      await t.sql.query(
        'select contact_id::text, recipient, operation_id, hard from bounce where account_id = $1 order by id',
        [accountId],
      )
    ).rows;

  it('through recordBounce: the exact contact and operation, even for a forwarded address', async () => {
    // c1 forwarded to an address we never sent to; the DSN names only that one.
    const [b] = ok(
      await record(dsn(verp.get('c1@late.test')!, 'gone@forward.example'), owner.token),
    ).recordBounce;
    expect(b.contactId).toBe(contact.get('c1@late.test'));
    expect((await bouncesOf(owner.accountId)).at(-1)).toEqual({
      contact_id: contact.get('c1@late.test'),
      recipient: 'gone@forward.example',
      operation_id: operationId,
      hard: true,
    });
    expect(await recipient('c1@late.test')).toMatchObject({ status: 'SENT', reason: 'HARD_BOUNCE' });
    expect(await hardBounces()).toBe(1);
    const { rows } = await t.sql.query('select email_status from contact where id = $1', [
      contact.get('c1@late.test'),
    ]);
    expect(rows[0].email_status).toBe('HARD_BOUNCED');
    // The BOUNCE event carries the operation: Operation.stats counts it.
    const stats = ok(
      await t.gql<{ operation: { stats: { bounces: number } } }, Record<string, unknown>>(
        'query($id: ID!) { operation(id: $id) { stats { bounces } } }',
        { id: operationId },
        owner.token,
      ),
    );
    expect(stats.operation.stats.bounces).toBe(1);
    // The same DSN again: another bounce row, but the recipient's hard bounce counts once.
    ok(await record(dsn(verp.get('c1@late.test')!, 'gone@forward.example'), owner.token));
    expect(await hardBounces()).toBe(1);
  });

  it('a soft DSN marks SOFT_BOUNCE, a hard one later overtakes it and counts once', async () => {
    const to = verp.get('c2@late.test')!;
    ok(await record(dsn(to, 'c2@late.test', '4.2.2', '452 4.2.2 Mailbox full'), owner.token));
    expect(await recipient('c2@late.test')).toMatchObject({ status: 'SENT', reason: 'SOFT_BOUNCE' });
    expect(await hardBounces()).toBe(1);
    ok(await record(dsn(to, 'c2@late.test'), owner.token));
    expect(await recipient('c2@late.test')).toMatchObject({ reason: 'HARD_BOUNCE' });
    expect(await hardBounces()).toBe(2);
    ok(await record(dsn(to, 'c2@late.test', '4.2.2', '452 4.2.2 Mailbox full'), owner.token));
    expect(await recipient('c2@late.test')).toMatchObject({ reason: 'HARD_BOUNCE' });
  });

  it("another account's recordBounce with our return path touches none of our data", async () => {
    const before = await bouncesOf(owner.accountId);
    const [b] = ok(await record(dsn(verp.get('c3@late.test')!, 'c3@late.test'), stranger.token)).recordBounce;
    // Matched the stranger's own contact by address, as without VERP; no operation of ours.
    const theirs = await bouncesOf(stranger.accountId);
    expect(theirs).toEqual([
      { contact_id: b.contactId, recipient: 'c3@late.test', operation_id: null, hard: true },
    ]);
    expect(b.contactId).not.toBe(contact.get('c3@late.test'));
    expect(await bouncesOf(owner.accountId)).toEqual(before);
    expect(await recipient('c3@late.test')).toMatchObject({ status: 'SENT', reason: null });
    const { rows } = await t.sql.query('select email_status from contact where id = $1', [
      contact.get('c3@late.test'),
    ]);
    expect(rows[0].email_status).toBe('VALID');
  });

  it('POST /bounces/inbound: signed raw DSNs matched by the envelope recipient or the message', async () => {
    const c4 = verp.get('c4@late.test')!;
    // By the envelope recipient the MTA passes, the DSN itself naming no return path.
    const bare = dsn('postmaster@acme.example', 'c4@late.test').replace(/^Return-Path: .*\r\n/m, '');
    const r1 = await inbound(bare, { 'x-cible-envelope-to': c4 });
    expect(r1.status).toBe(200);
    expect(await r1.json()).toEqual({ matched: true, bounces: 1 });
    expect(await recipient('c4@late.test')).toMatchObject({ reason: 'HARD_BOUNCE' });
    const { rows: audit } = await t.sql.query(
      `select account_id, user_id from audit_entry where action = 'receiveBounce'`,
    );
    expect(audit).toEqual([{ account_id: owner.accountId, user_id: null }]);
    // By the message (To and the quoted Return-Path).
    const r2 = await inbound(dsn(verp.get('c5@late.test')!, 'c5@late.test'));
    expect(await r2.json()).toEqual({ matched: true, bounces: 1 });
    expect(await recipient('c5@late.test')).toMatchObject({ reason: 'HARD_BOUNCE' });
    expect(await hardBounces()).toBe(4);
  });

  it('POST /bounces/inbound refuses unsigned calls and believes no forged or unsigned naming', async () => {
    const before = (await bouncesOf(owner.accountId)).length;
    const body = dsn(verp.get('c3@late.test')!, 'c3@late.test');
    expect((await fetch(new URL('/bounces/inbound', t.url), { method: 'POST', body })).status).toBe(401);
    expect((await inbound(body, {}, 'another token of the same length!!')).status).toBe(401);
    expect((await fetch(new URL('/bounces/inbound', t.url))).status).toBe(405);
    // A token with one character changed: matches nothing, stores nothing.
    const forged = body.replace(/bounces\+(.)/g, (_m, ch: string) => `bounces+${ch === 'a' ? 'b' : 'a'}`);
    const r = await inbound(forged);
    expect(await r.json()).toEqual({ matched: false, bounces: 0 });
    // X-Cible-Operation alone is unsigned: the endpoint believes nobody's header.
    const named = dsn('postmaster@acme.example', 'c3@late.test')
      .replace(/^Return-Path: .*\r\n/m, '')
      .replace('Subject: Hi', `Subject: Hi\r\nX-Cible-Operation: ${operationId}`);
    expect(await (await inbound(named)).json()).toEqual({ matched: false, bounces: 0 });
    // Signed, matched, but not a bounce: 400 with the reason.
    const notBounce = `To: <${verp.get('c3@late.test')}>\r\nSubject: hello\r\n\r\nJust saying hi.\r\n`;
    const bad = await inbound(notBounce);
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatch(/neither a bounce/);
    expect((await bouncesOf(owner.accountId)).length).toBe(before);
    expect(await recipient('c3@late.test')).toMatchObject({ reason: null });
  });
});
