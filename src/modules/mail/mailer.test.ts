import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AcceptInvitationDocument,
  InviteUserDocument,
  MailQueueDocument,
  OutboxDocument,
} from '../../../test/generated/graphql.js';
import {
  type Actor,
  code,
  ok,
  PASSWORD,
  signUpOwner,
  startTestApp,
  type TestApp,
  uniqueEmail,
  viewerWith,
} from '../../../test/harness.js';
import { sleep, waitUntil } from '../../../test/wait.js';
import { queuedMessageId } from './mail.queue.js';

interface Received {
  to: string[];
  subject: string;
  text: string;
  messageId: string;
}

let smtp: SMTPServer;
let port: number;
const inbox: Received[] = [];
let refuse = false;
/** Answers RCPT TO with a temporary failure, as a server in trouble does. */
let busy = false;
/** Refuses the sender (550 at MAIL FROM), as a server does with a blocked account or address. */
let senderRefused = false;
/** Takes this long before accepting a message's data. */
let dataDelayMs = 0;

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onMailFrom(_address, _session, cb) {
      if (senderRefused)
        return cb(Object.assign(new Error('5.7.1 sender not allowed'), { responseCode: 550 }));
      cb();
    },
    onRcptTo(_address, _session, cb) {
      if (refuse) return cb(new Error('550 5.1.1 mailbox unavailable'));
      if (busy) return cb(Object.assign(new Error('4.3.0 try again later'), { responseCode: 451 }));
      cb();
    },
    onData(stream, session, cb) {
      simpleParser(stream)
        .then((mail) => {
          inbox.push({
            to: session.envelope.rcptTo.map((r) => r.address),
            subject: mail.subject ?? '',
            text: mail.text ?? '',
            messageId: mail.messageId ?? '',
          });
          setTimeout(() => cb(), dataDelayMs);
        })
        .catch(cb);
    },
  });
  // A client that goes away mid-session (an app closing its pooled connections, a send given up
  // at its deadline) resets the socket: not this server's failure.
  smtp.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'ECONNRESET') throw err;
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', () => resolve()));
  port = (smtp.server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => smtp.close(() => resolve())));

const queued = async (t: TestApp, to: string) =>
  (
    await t.sql.query<{ id: string; status: string; attempts: number; last_error: string | null }>(
      'select id::text, status, attempts, last_error from mail_queue where "to" = $1',
      [to],
    )
  ).rows;

describe('workflow mail through a real SMTP server', () => {
  let t: TestApp;
  let owner: Actor;
  beforeAll(async () => {
    t = await startTestApp({
      SMTP_URL: `smtp://127.0.0.1:${port}`,
      PUBLIC_URL: 'https://cible.example.com',
      MAIL_DISPATCH_MS: '50',
    });
    owner = await signUpOwner(t);
  });
  afterAll(() => t.close());

  it('delivers the activation link after the commit, once, with the Message-ID of its row', async () => {
    const email = uniqueEmail('smtp');
    ok(await t.gql(InviteUserDocument, { input: { email, name: 'By Mail' } }, owner.token));
    await waitUntil(() => inbox.some((m) => m.to.includes(email)), 'the invitation');
    const mail = inbox.find((m) => m.to.includes(email));
    expect(mail?.subject).toMatch(/invited/i);
    const [row] = await queued(t, email);
    await waitUntil(async () => (await queued(t, email))[0].status === 'SENT', 'the row marked SENT');
    expect(mail?.messageId).toBe(queuedMessageId(row.id));
    const link = /https:\/\/cible\.example\.com\/accept-invitation\?token=(\S+)/.exec(mail?.text ?? '');
    expect(link).not.toBeNull();
    const token = decodeURIComponent(link![1]);
    ok(await t.gql(AcceptInvitationDocument, { input: { token, password: PASSWORD } }));
    // With SMTP configured, nothing goes to the local outbox.
    expect(ok(await t.gql(OutboxDocument, {}, owner.token)).outbox.nodes).toEqual([]);
    await sleep(300);
    expect(inbox.filter((m) => m.to.includes(email))).toHaveLength(1);
  });

  it('mails nothing for a change that rolls back', async () => {
    const to = uniqueEmail('rolled-back');
    const em = t.app.services.orm.em.fork();
    await expect(
      em.transactional(async (tx) => {
        await t.app.services.mailer.send(tx, { accountId: owner.accountId, to, subject: 'never', text: 'x' });
        throw new Error('the change fails after its mail');
      }),
    ).rejects.toThrow('the change fails');
    await sleep(300);
    expect(await queued(t, to)).toEqual([]);
    expect(inbox.some((m) => m.to.includes(to))).toBe(false);
  });

  it('keeps the change when SMTP fails for now, and delivers the mail once it works again', async () => {
    busy = true;
    const email = uniqueEmail('later');
    try {
      ok(await t.gql(InviteUserDocument, { input: { email, name: 'Later' } }, owner.token));
      await waitUntil(async () => (await queued(t, email))[0]?.attempts === 1, 'a first attempt');
      await waitUntil(async () => (await queued(t, email))[0].last_error !== null, 'its failure recorded');
      expect((await queued(t, email))[0]).toMatchObject({
        status: 'PENDING',
        last_error: expect.stringContaining('451'),
      });
    } finally {
      busy = false;
    }
    const { rows } = await t.sql.query('select count(*)::int as n from app_user where email = $1', [email]);
    expect(rows[0].n).toBe(1);
    // The 30 s back-off, passed.
    await t.sql.query(`update mail_queue set next_attempt_at = now() where "to" = $1`, [email]);
    await waitUntil(() => inbox.some((m) => m.to.includes(email)), 'the invitation, on the second attempt');
    expect((await queued(t, email))[0]).toMatchObject({ attempts: 2 });
    expect(inbox.filter((m) => m.to.includes(email))).toHaveLength(1);
  });

  it('marks a mail the server refuses FAILED with its answer, tries it once, and keeps the user', async () => {
    refuse = true;
    const email = uniqueEmail('refused');
    try {
      ok(await t.gql(InviteUserDocument, { input: { email, name: 'Nobody' } }, owner.token));
      await waitUntil(async () => (await queued(t, email))[0]?.status === 'FAILED', 'the refusal recorded');
      await t.sql.query(`update mail_queue set next_attempt_at = now() - interval '1 day' where "to" = $1`, [
        email,
      ]);
      await sleep(300);
      expect((await queued(t, email))[0]).toMatchObject({
        attempts: 1,
        last_error: expect.stringContaining('550'),
      });
    } finally {
      refuse = false;
    }
    const { rows } = await t.sql.query('select count(*)::int as n from app_user where email = $1', [email]);
    expect(rows[0].n).toBe(1);
    // The owner sees why, without the text (it holds the one-time link); nobody else does.
    const failed = ok(await t.gql(MailQueueDocument, { status: 'FAILED' }, owner.token)).mailQueue.nodes;
    expect(failed).toEqual([
      expect.objectContaining({
        to: email,
        status: 'FAILED',
        attempts: 1,
        lastError: expect.stringContaining('550'),
      }),
    ]);
    expect(JSON.stringify(failed)).not.toMatch(/token=/);
    const sent = ok(await t.gql(MailQueueDocument, { status: 'SENT' }, owner.token)).mailQueue.nodes;
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.every((m) => m.status === 'SENT' && m.sentAt)).toBe(true);
    const approver = await viewerWith(
      t,
      owner,
      { CONTACTS: 'APPROVER', INVOICES: 'APPROVER' },
      async (to) => {
        await waitUntil(() => inbox.some((m) => m.to.includes(to)), 'the invitation');
        const m = /token=([A-Za-z0-9_%-]+)/.exec(inbox.findLast((x) => x.to.includes(to))?.text ?? '');
        return decodeURIComponent(m?.[1] ?? '');
      },
    );
    expect(code(await t.gql(MailQueueDocument, {}, approver.token))).toBe('FORBIDDEN');
  });
});

describe("what the queue does not take for the mail's fault", () => {
  let t: TestApp;
  let owner: Actor;
  beforeAll(async () => {
    // A 2 s lease: a send must end within 1 s.
    t = await startTestApp({
      SMTP_URL: `smtp://127.0.0.1:${port}`,
      MAIL_DISPATCH_MS: '50',
      MAIL_LEASE_SECONDS: '2',
    });
    owner = await signUpOwner(t);
  });
  afterAll(() => t.close());

  it('retries a 5xx to the sender (the set-up, not this mail) instead of failing the mail for good', async () => {
    senderRefused = true;
    const email = uniqueEmail('sender-refused');
    try {
      ok(await t.gql(InviteUserDocument, { input: { email, name: 'Later' } }, owner.token));
      await waitUntil(async () => (await queued(t, email))[0]?.last_error !== null, 'the refusal recorded');
      expect((await queued(t, email))[0]).toMatchObject({ status: 'PENDING', attempts: 1 });
    } finally {
      senderRefused = false;
    }
    await t.sql.query(`update mail_queue set next_attempt_at = now() where "to" = $1`, [email]);
    await waitUntil(
      async () => (await queued(t, email))[0].status === 'SENT',
      'sent once the sender is allowed',
    );
  });

  it('counts a send still unanswered at half the lease as failed, and never records it SENT later', async () => {
    dataDelayMs = 1500;
    const email = uniqueEmail('slow');
    try {
      ok(await t.gql(InviteUserDocument, { input: { email, name: 'Slow' } }, owner.token));
      await waitUntil(async () => (await queued(t, email))[0]?.last_error !== null, 'the timeout recorded');
      // The server accepts it after all (0.5 s later): the abandoned send records nothing.
      await waitUntil(() => inbox.some((m) => m.to.includes(email)), 'the late acceptance');
      await sleep(300);
      expect((await queued(t, email))[0]).toMatchObject({
        status: 'PENDING',
        attempts: 1,
        last_error: expect.stringContaining('no answer from the SMTP server within 1000 ms'),
      });
    } finally {
      dataDelayMs = 0;
    }
  });
});
