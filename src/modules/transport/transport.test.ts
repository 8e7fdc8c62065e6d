import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EntityManager } from '@mikro-orm/postgresql';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmailTransport } from './email.js';
import { createSmsTransport, SmsGatewayError, signBody } from './sms.js';

// The SMTP and gateway paths never touch the database.
const noEm = null as unknown as EntityManager;

interface Received {
  rcpt: string[];
  raw: Awaited<ReturnType<typeof simpleParser>>;
}
const inbox: Received[] = [];
let smtp: SMTPServer;
let smtpPort: number;

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onRcptTo(address, _s, cb) {
      if (address.address.startsWith('nobody@'))
        return cb(Object.assign(new Error('No such user'), { responseCode: 550 }));
      cb();
    },
    onData(stream, session, cb) {
      simpleParser(stream)
        .then((raw) => {
          inbox.push({ rcpt: session.envelope.rcptTo.map((r) => r.address), raw });
          cb();
        })
        .catch(cb);
    },
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', () => r()));
  smtpPort = (smtp.server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => smtp.close(() => r())));

const message = (to: string) => ({
  accountId: null,
  from: { name: 'Acme News', address: 'news@acme.example' },
  replyTo: 'help@acme.example',
  to,
  subject: '[TEST] Hello Ada',
  html: '<p>Hello <b>Ada</b></p>',
  text: 'Hello Ada',
  headers: { 'X-Cible-Test': '1' },
  messageId: `<op-1.contact-2.${to.replace(/\W/g, '')}@cible.test>`,
  kind: 'TEST' as const,
});

describe('EmailTransport over a real SMTP server', () => {
  it('delivers from, reply-to, both parts, the headers and the given Message-ID, over one pool', async () => {
    const t = createEmailTransport(`smtp://127.0.0.1:${smtpPort}`);
    try {
      const to = ['ada@example.com', 'bob@example.com'];
      const results = await Promise.all(to.map((a) => t.send(noEm, message(a))));
      expect(results.map((r) => r.rejected)).toEqual([[], []]);
      for (const a of to) {
        const got = inbox.find((m) => m.rcpt.includes(a));
        expect(got, a).toBeDefined();
        const mail = got!.raw;
        expect(mail.from?.value).toEqual([{ name: 'Acme News', address: 'news@acme.example' }]);
        expect(mail.replyTo?.value[0].address).toBe('help@acme.example');
        expect(mail.subject).toBe('[TEST] Hello Ada');
        expect(mail.html).toContain('<b>Ada</b>');
        expect(mail.text?.trim()).toBe('Hello Ada');
        expect(mail.headers.get('x-cible-test')).toBe('1');
        expect(mail.messageId).toBe(message(a).messageId);
      }
    } finally {
      t.close();
    }
  });

  it('returns a recipient refused at RCPT (5xx) as rejected, without throwing', async () => {
    const t = createEmailTransport(`smtp://127.0.0.1:${smtpPort}`);
    try {
      const before = inbox.length;
      const r = await t.send(noEm, message('nobody@example.com'));
      expect(r.rejected).toEqual(['nobody@example.com']);
      expect(inbox.length).toBe(before);
    } finally {
      t.close();
    }
  });
});

describe('SmsTransport over a real HTTP gateway', () => {
  let gateway: Server;
  let url: string;
  const seen: { headers: IncomingMessage['headers']; body: string }[] = [];
  let answer = { status: 202, body: '{"id":"gw-42"}' };
  const delayMs = 0;
  beforeAll(async () => {
    gateway = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        seen.push({ headers: req.headers, body });
        setTimeout(
          () => res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body),
          delayMs,
        );
      });
    });
    await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}/send`;
  });
  afterAll(() => new Promise<void>((r) => gateway.close(() => r())));

  const sms = {
    accountId: null,
    from: 'ACME',
    to: '+33612345678',
    text: 'Hi Ada STOP 36111',
    messageId: 'op-1.c-2',
    kind: 'TEST' as const,
  };

  it('POSTs JSON with the bearer token and the body signature; a 2xx is accepted with the gateway id', async () => {
    answer = { status: 202, body: '{"id":"gw-42"}' };
    const r = await createSmsTransport(url, 'secret-token').send(noEm, sms);
    expect(r.gatewayId).toBe('gw-42');
    const last = seen.at(-1)!;
    expect(JSON.parse(last.body)).toEqual({
      from: 'ACME',
      to: '+33612345678',
      text: 'Hi Ada STOP 36111',
      reference: 'op-1.c-2',
    });
    expect(last.headers.authorization).toBe('Bearer secret-token');
    expect(last.headers['x-cible-signature']).toBe(signBody('secret-token', last.body));
    expect(last.headers['content-type']).toBe('application/json');
  });

  it('any other status is a SmsGatewayError carrying it', async () => {
    answer = { status: 503, body: '{"error":"busy"}' };
    const err = await createSmsTransport(url, 'secret-token')
      .send(noEm, sms)
      .catch((e) => e);
    expect(err).toBeInstanceOf(SmsGatewayError);
    expect((err as SmsGatewayError).status).toBe(503);
  });

  it('an unreachable gateway is a SmsGatewayError with status 0', async () => {
    const err = await createSmsTransport('http://127.0.0.1:1/send', null)
      .send(noEm, sms)
      .catch((e) => e);
    expect(err).toBeInstanceOf(SmsGatewayError);
    expect((err as SmsGatewayError).status).toBe(0);
  });
});
