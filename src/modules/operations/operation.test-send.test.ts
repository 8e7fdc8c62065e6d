/**
 * sendTestOperation over the real transports: a real SMTP server (smtp-server) and a real HTTP
 * SMS gateway receive what the app sends. The test checks what arrived, to whom, and that an
 * EDITOR cannot reach anyone but the account's own users.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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
import { type Received, startSmtpSink } from '../../../test/smtp-sink.js';
import { waitUntil } from '../../../test/wait.js';
import { signBody } from '../transport/sms.js';
import { TEST_SENDS_PER_HOUR } from './operation.test-send.js';
import { emailing, FROM, ops, smsOp, verifiedSender } from './testing/helpers.js';

const refused = new Set<string>();
const texts: { headers: IncomingMessage['headers']; body: string }[] = [];
const refusedPhones = new Set<string>();
const GATEWAY_TOKEN = 'gateway-secret';

let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
let inbox: Received[] = [];
let gateway: Server;
let t: TestApp;
let owner: Actor;
let editor: Actor;
let guest: Actor;
let smsEditor: Actor;
let other: Actor;

const tokenFromSmtp = async (email: string) => {
  // Queued with the invitation, sent after its commit (mail.queue.ts).
  await waitUntil(() => inbox.some((m) => m.rcpt.includes(email)), `the invitation of ${email}`);
  const got = inbox.findLast((m) => m.rcpt.includes(email));
  const m = /token=([A-Za-z0-9_%-]+)/.exec(got?.mail.text ?? '');
  if (!m) throw new Error(`no invitation mail for ${email}`);
  return decodeURIComponent(m[1]);
};

beforeAll(async () => {
  smtp = await startSmtpSink({ refuse: (a) => (refused.has(a) ? 550 : null) });
  inbox = smtp.inbox;
  gateway = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      texts.push({ headers: req.headers, body });
      const to = (JSON.parse(body) as { to: string }).to;
      if (refusedPhones.has(to)) res.writeHead(400).end('{"error":"unknown number"}');
      else res.writeHead(202, { 'content-type': 'application/json' }).end(`{"id":"gw-${texts.length}"}`);
    });
  });
  await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', () => r()));
  t = await startTestApp({
    SMTP_URL: smtp.url,
    SMS_GATEWAY_URL: `http://127.0.0.1:${(gateway.address() as AddressInfo).port}/sms`,
    SMS_GATEWAY_TOKEN: GATEWAY_TOKEN,
  });
  owner = await signUpOwner(t, 'Tests');
  other = await signUpOwner(t, 'Elsewhere');
  editor = await viewerWith(t, owner, { EMAILINGS: 'EDITOR' }, tokenFromSmtp);
  guest = await viewerWith(t, owner, { EMAILINGS: 'GUEST', SMS: 'GUEST', CONTACTS: 'GUEST' }, tokenFromSmtp);
  smsEditor = await viewerWith(t, owner, { SMS: 'EDITOR' }, tokenFromSmtp);
  await verifiedSender(t, owner.accountId);
  await t.sql.query(`update app_user set phone = '+33611111111' where id = $1`, [smsEditor.userId]);
  await t.sql.query(`update app_user set phone = '+33622222222' where id = $1`, [owner.userId]);
}, 120_000);

afterAll(async () => {
  await t?.close();
  await smtp?.close();
  await new Promise<void>((r) => gateway.close(() => r()));
});

const SEND = `mutation($id: ID!, $to: [String!]!, $contactId: ID) {
  sendTestOperation(id: $id, to: $to, contactId: $contactId) {
    operation { id } recipients { to status response } remaining } }`;
type Sent = {
  sendTestOperation: {
    operation: { id: string };
    recipients: { to: string; status: string; response: string }[];
    remaining: number;
  };
};
const send = (who: Actor, id: string, to: string[], contactId?: string) =>
  t.gql<Sent, Record<string, unknown>>(SEND, { id, to, contactId }, who.token);

const newEmailing = async (name: string) => ok(await ops(t).create(owner, emailing(name))).createOperation.id;
const newSms = async (name: string) => ok(await ops(t).create(owner, smsOp(name))).createOperation.id;
const auditCount = async (id: string) =>
  Number(
    (
      await t.sql.query(
        `select count(*)::int as n from audit_entry where action = 'sendTestOperation' and object_id = $1`,
        [id],
      )
    ).rows[0].n,
  );

describe('sendTestOperation: Emailing over a real SMTP server', () => {
  it('an EDITOR sends the rendered message, marked as a test, to users of the account; audited', async () => {
    const id = await newEmailing('Test me');
    const before = inbox.length;
    const r = ok(await send(editor, id, [editor.email.toUpperCase(), owner.email]));
    expect(r.sendTestOperation.recipients.map((x) => [x.to, x.status])).toEqual([
      [editor.email, 'SENT'],
      [owner.email, 'SENT'],
    ]);
    expect(r.sendTestOperation.recipients[0].response).toMatch(/^250/);
    expect(r.sendTestOperation.remaining).toBe(TEST_SENDS_PER_HOUR - 2);
    const got = inbox.slice(before);
    expect(got.map((m) => m.rcpt).sort()).toEqual([[editor.email], [owner.email]].sort());
    for (const { mail } of got) {
      // No contact given: the merge tag shows its default.
      expect(mail.subject).toBe('[TEST] Hello there');
      expect(mail.headers.get('x-cible-test')).toBe('1');
      expect(mail.from?.value[0].address).toBe(FROM);
      expect(mail.html).toContain('Spring is <b>here</b>');
      expect(mail.text?.trim()).toBe('Spring is here');
      expect(mail.messageId).toMatch(new RegExp(`^<test\\.${id}\\.`));
    }
    expect(await auditCount(id)).toBe(1);
    const { rows } = await t.sql.query(
      `select user_id, diff from audit_entry where action = 'sendTestOperation' and object_id = $1`,
      [id],
    );
    expect(rows[0].user_id).toBe(editor.userId);
    expect(rows[0].diff.recipients.map((x: { to: string }) => x.to)).toEqual([editor.email, owner.email]);
  });

  it("fills the tags from a contact's data when given one (CONTACTS >= GUEST needed for that)", async () => {
    const id = await newEmailing('With data');
    const contact = ok(
      await t.gql<{ createContact: { id: string } }, Record<string, unknown>>(
        'mutation($input: CreateContactInput!) { createContact(input: $input) { id } }',
        { input: { email: 'ana@x.test', firstName: '<i>Ana</i>' } },
        owner.token,
      ),
    ).createContact.id;
    const before = inbox.length;
    expect(code(await send(editor, id, [editor.email], contact))).toBe('FORBIDDEN');
    expect(inbox.length).toBe(before);
    ok(await send(owner, id, [owner.email], contact));
    expect(inbox.at(-1)!.mail.subject).toBe('[TEST] Hello <i>Ana</i>');
    const foreign = ok(
      await t.gql<{ createContact: { id: string } }, Record<string, unknown>>(
        'mutation($input: CreateContactInput!) { createContact(input: $input) { id } }',
        { input: { email: 'zed@x.test' } },
        other.token,
      ),
    ).createContact.id;
    expect(code(await send(owner, id, [owner.email], foreign))).toBe('NOT_FOUND');
  });

  it('refuses anyone outside the account, more than 5, or nobody; nothing sent, nothing audited', async () => {
    const id = await newEmailing('Strangers');
    const before = inbox.length;
    const r = await send(editor, id, [editor.email, 'friend@gmail.example']);
    expect(code(r)).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0].message).toContain('friend@gmail.example');
    // Another account's user is not a user of this one.
    expect(code(await send(editor, id, [other.email]))).toBe('BAD_USER_INPUT');
    expect(code(await send(editor, id, []))).toBe('BAD_USER_INPUT');
    expect(
      code(
        await send(
          editor,
          id,
          Array.from({ length: 6 }, () => editor.email),
        ),
      ),
    ).toBe('BAD_USER_INPUT');
    expect(code(await send(editor, id, ['not an address']))).toBe('BAD_USER_INPUT');
    expect(inbox.length).toBe(before);
    expect(await auditCount(id)).toBe(0);
  });

  it('rights: GUEST and the other kind are FORBIDDEN, another account NOT_FOUND, anonymous UNAUTHENTICATED', async () => {
    const id = await newEmailing('Rights');
    const before = inbox.length;
    expect(code(await send(guest, id, [guest.email]))).toBe('FORBIDDEN');
    expect(code(await send(smsEditor, id, [smsEditor.email]))).toBe('FORBIDDEN');
    expect(code(await send(other, id, [other.email]))).toBe('NOT_FOUND');
    expect(code(await t.gql(SEND, { id, to: [owner.email] }))).toBe('UNAUTHENTICATED');
    expect(inbox.length).toBe(before);
  });

  it('reports a recipient the SMTP server refuses as REJECTED, the others SENT', async () => {
    const id = await newEmailing('Refused');
    refused.add(owner.email);
    try {
      const r = ok(await send(editor, id, [owner.email, editor.email])).sendTestOperation.recipients;
      expect(r.map((x) => x.status)).toEqual(['REJECTED', 'SENT']);
      expect(r[0].response).toMatch(/550/);
    } finally {
      refused.delete(owner.email);
    }
  });

  it('refuses incomplete content and a from address no longer verified', async () => {
    const draft = ok(
      await ops(t).create(owner, { kind: 'EMAILING', name: 'Empty', email: { subject: 'Hi' } }),
    ).createOperation.id;
    const r = await send(editor, draft, [editor.email]);
    expect(code(r)).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0].extensions?.missing).toEqual(['fromEmail', 'html']);
    const id = await newEmailing('Unverified later');
    await t.sql.query('delete from sender where account_id = $1', [owner.accountId]);
    try {
      const u = await send(editor, id, [editor.email]);
      expect(code(u)).toBe('BAD_USER_INPUT');
      expect(u.errors?.[0].message).toContain(FROM);
    } finally {
      await verifiedSender(t, owner.accountId);
    }
  });

  it(`allows ${TEST_SENDS_PER_HOUR} test messages per operation per hour, then RATE_LIMITED; others unaffected`, async () => {
    const id = await newEmailing('Busy');
    let remaining = TEST_SENDS_PER_HOUR;
    while (remaining >= 2) {
      remaining = ok(await send(editor, id, [editor.email, owner.email])).sendTestOperation.remaining;
    }
    expect(remaining).toBe(0);
    const before = inbox.length;
    const r = await send(owner, id, [owner.email]);
    expect(code(r)).toBe('RATE_LIMITED');
    expect(r.errors?.[0].extensions?.remaining).toBe(0);
    expect(inbox.length).toBe(before);
    // The limit is per operation: another one still sends.
    ok(await send(editor, await newEmailing('Fresh'), [editor.email]));
    // Concurrent calls on a fresh operation cannot pass the limit together (the row is locked).
    const raced = await newEmailing('Raced');
    const all = await Promise.all(
      Array.from({ length: 12 }, () => send(editor, raced, [editor.email, owner.email])),
    );
    expect(all.filter((x) => !x.errors).length).toBe(TEST_SENDS_PER_HOUR / 2);
    expect(all.filter((x) => code(x) === 'RATE_LIMITED').length).toBe(12 - TEST_SENDS_PER_HOUR / 2);
  });
});

describe('sendTestOperation: SMS over a real HTTP gateway', () => {
  it("sends to users' phones through the signed gateway; a refused number is REJECTED", async () => {
    const id = await newSms('Flash test');
    const before = texts.length;
    refusedPhones.add('+33622222222');
    try {
      const r = ok(await send(smsEditor, id, ['+33 6 11 11 11 11', '+33622222222'])).sendTestOperation;
      expect(r.recipients.map((x) => [x.to, x.status])).toEqual([
        ['+33611111111', 'SENT'],
        ['+33622222222', 'REJECTED'],
      ]);
      expect(r.recipients[0].response).toBe(`gw-${before + 1}`);
    } finally {
      refusedPhones.delete('+33622222222');
    }
    const got = texts.slice(before);
    expect(got).toHaveLength(2);
    const body = JSON.parse(got[0].body);
    expect(body).toMatchObject({
      from: 'ACME',
      to: '+33611111111',
      text: '[TEST] Flash sale today! STOP 36111',
    });
    expect(got[0].headers['x-cible-signature']).toBe(signBody(GATEWAY_TOKEN, got[0].body));
    expect(await auditCount(id)).toBe(1);
  });

  it("refuses a phone that is no user's, and an EMAILINGS editor on an SMS", async () => {
    const id = await newSms('Strangers SMS');
    const before = texts.length;
    expect(code(await send(smsEditor, id, ['+33699999999']))).toBe('BAD_USER_INPUT');
    expect(code(await send(editor, id, ['+33611111111']))).toBe('FORBIDDEN');
    // An email is not a phone: refused, not looked up.
    expect(code(await send(smsEditor, id, [smsEditor.email]))).toBe('BAD_USER_INPUT');
    expect(texts.length).toBe(before);
  });
});
