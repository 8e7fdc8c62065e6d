import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AcceptInvitationDocument,
  InviteUserDocument,
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
} from '../../../test/harness.js';

interface Received {
  to: string[];
  subject: string;
  text: string;
}

let smtp: SMTPServer;
let port: number;
const inbox: Received[] = [];
let refuse = false;

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onRcptTo(_address, _session, cb) {
      if (refuse) return cb(new Error('550 5.1.1 mailbox unavailable'));
      cb();
    },
    onData(stream, session, cb) {
      simpleParser(stream)
        .then((mail) => {
          inbox.push({
            to: session.envelope.rcptTo.map((r) => r.address),
            subject: mail.subject ?? '',
            text: mail.text ?? '',
          });
          cb();
        })
        .catch(cb);
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', () => resolve()));
  port = (smtp.server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => smtp.close(() => resolve())));

describe('invitations through a real SMTP server', () => {
  let t: TestApp;
  let owner: Actor;
  beforeAll(async () => {
    t = await startTestApp({ SMTP_URL: `smtp://127.0.0.1:${port}`, PUBLIC_URL: 'https://cible.example.com' });
    owner = await signUpOwner(t);
  });
  afterAll(() => t.close());

  it('delivers the activation link by SMTP, and the link works', async () => {
    const email = uniqueEmail('smtp');
    ok(await t.gql(InviteUserDocument, { input: { email, name: 'By Mail' } }, owner.token));
    const mail = inbox.find((m) => m.to.includes(email));
    expect(mail?.subject).toMatch(/invited/i);
    const link = /https:\/\/cible\.example\.com\/accept-invitation\?token=(\S+)/.exec(mail?.text ?? '');
    expect(link).not.toBeNull();
    const token = decodeURIComponent(link![1]);
    ok(await t.gql(AcceptInvitationDocument, { input: { token, password: PASSWORD } }));
    // With SMTP configured, nothing goes to the local outbox.
    expect(ok(await t.gql(OutboxDocument, {}, owner.token)).outbox.nodes).toEqual([]);
  });

  it('creates no user when the mail cannot be handed over', async () => {
    refuse = true;
    try {
      const email = uniqueEmail('refused');
      const r = await t.gql(InviteUserDocument, { input: { email, name: 'Nobody' } }, owner.token);
      expect(code(r)).toBe('BAD_USER_INPUT');
      expect(r.errors?.[0]?.message).toContain('550');
      const { rows } = await t.sql.query('select count(*)::int as n from app_user where email = $1', [email]);
      expect(rows[0].n).toBe(0);
    } finally {
      refuse = false;
    }
  });
});
