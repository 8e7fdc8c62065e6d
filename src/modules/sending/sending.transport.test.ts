/**
 * What the SMTP transport does to an operation's messages, read at a real smtp-server: the
 * envelope sender is the VERP return path of that operation and contact, each message carries a
 * DKIM signature that mailauth verifies against the public key (served by a resolver stub, the
 * only thing not real: DNS), the RCPT-time bounces reach bounceReceived once their batch is
 * committed, and a recipient refused 4xx three times gets a MAX_ATTEMPTS_REACHED bounce row.
 */
import { generateKeyPairSync } from 'node:crypto';
import { dkimVerify } from 'mailauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, nextResults, signUpOwner, startTestApp, type TestApp } from '../../../test/harness.js';
import { startSmtpSink } from '../../../test/smtp-sink.js';
import { loadConfig } from '../../config.js';
import { verifyVerpToken, verpAddress } from '../bounces/bounce.verp.js';
import { trackingKey } from '../events/tracking.token.js';
import { verifiedSender } from '../operations/testing/helpers.js';
import { contactsInSql, validatedNow } from './testing/server-fixture.js';

const SECRET = 'a tracking secret of the transport test, 40+ chars';
const BOUNCE_DOMAIN = 'bounces.cible.example';
const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const publicKey = keys.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');

let t: TestApp;
let owner: Actor;
let sink: Awaited<ReturnType<typeof startSmtpSink>>;
const hard = new Set<string>();
const soft = new Set<string>();

beforeAll(async () => {
  sink = await startSmtpSink({ refuse: (a) => (hard.has(a) ? 550 : soft.has(a) ? 451 : null) });
  t = await startTestApp({
    SMTP_URL: sink.url,
    SEND_DISPATCH_SECONDS: '1',
    SEND_RETRY_SECONDS: '1',
    TRACKING_SECRET: SECRET,
    BOUNCE_DOMAIN,
    DKIM_DOMAIN: 'acme.example',
    DKIM_SELECTOR: 'cible2026',
    DKIM_PRIVATE_KEY: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  });
  owner = await signUpOwner(t, 'Transport');
  await verifiedSender(t, owner.accountId);
}, 120_000);
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

/** DNS as a verifier would query it, for our one selector only. */
const resolver = async (name: string, type: string) => {
  if (name === 'cible2026._domainkey.acme.example' && type === 'TXT')
    return [[`v=DKIM1; k=rsa; p=${publicKey}`]];
  throw Object.assign(new Error(`no ${type} for ${name}`), { code: 'ENOTFOUND' });
};

async function until(id: string, status: string, ms = 40_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const { rows } = await t.sql.query('select status from operation where id = $1', [id]);
    if (rows[0]?.status === status) return;
    if (Date.now() > end) throw new Error(`operation ${id} still ${rows[0]?.status}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const contactIds = async (tag: string) =>
  new Map(
    (
      await t.sql.query<{ id: string; email: string }>(
        'select id::text, email from contact where account_id = $1 and email like $2',
        [owner.accountId, `%@${tag}.test`],
      )
    ).rows.map((r) => [r.email, r.id]),
  );

describe('an operation sent through SMTP', () => {
  it('goes out from a VERP return path naming the operation and the contact, DKIM-signed', async () => {
    await contactsInSql(t, owner.accountId, 'verp', 3);
    const id = await validatedNow(t, owner, 'verp');
    await until(id, 'SENT');
    const key = await trackingKey(loadConfig({ TRACKING_SECRET: SECRET }));
    const ids = await contactIds('verp');
    const got = sink.inbox.filter((m) => m.rcpt[0]?.endsWith('@verp.test'));
    expect(got).toHaveLength(3);
    for (const m of got) {
      const contactId = ids.get(m.rcpt[0]) as string;
      expect(m.from).toBe(verpAddress(key, { operationId: id, contactId }, BOUNCE_DOMAIN));
      const [local, domain] = m.from.split('@');
      expect(domain).toBe(BOUNCE_DOMAIN);
      expect(local.length).toBeLessThanOrEqual(64);
      expect(verifyVerpToken(key, local.slice('bounces+'.length))).toEqual({ operationId: id, contactId });

      const verified = await dkimVerify(m.raw as Buffer, { resolver });
      expect(verified.results).toHaveLength(1);
      expect(verified.results[0]).toMatchObject({ signingDomain: 'acme.example', selector: 'cible2026' });
      expect(verified.results[0].status.result).toBe('pass');
    }
    // The signature covers the one-click unsubscribe headers (RFC 8058 requires it): the verifier
    // fails the same message with its subject, or its List-Unsubscribe-Post, changed.
    const original = (got[0].raw as Buffer).toString('latin1');
    const signed = /^DKIM-Signature:[\s\S]*?\bh=([^;]+);/im
      .exec(original)?.[1]
      .replace(/\s+/g, '')
      .toLowerCase();
    expect(signed?.split(':')).toEqual(
      expect.arrayContaining([
        'list-unsubscribe',
        'list-unsubscribe-post',
        'from',
        'subject',
        'x-cible-operation',
      ]),
    );
    for (const [from, to] of [
      [/^Subject: Hi /m, 'Subject: Ho '],
      [
        /^List-Unsubscribe-Post: List-Unsubscribe=One-Click/m,
        'List-Unsubscribe-Post: List-Unsubscribe=Two-Clicks',
      ],
    ] as const) {
      const forged = await dkimVerify(Buffer.from(original.replace(from, to), 'latin1'), { resolver });
      expect(forged.results[0].status.result).toBe('fail');
    }
  });

  it('publishes RCPT-time bounces on bounceReceived after the commit; three 4xx make a MAX_ATTEMPTS_REACHED bounce', async () => {
    await contactsInSql(t, owner.accountId, 'rcpt', 4);
    hard.add('c1@rcpt.test');
    soft.add('c2@rcpt.test');
    const ws = t.ws(owner.token);
    try {
      type B = {
        bounceReceived: { id: string; recipient: string; reason: string; type: string; hard: boolean };
      };
      const sub = nextResults<B>(
        ws,
        'subscription { bounceReceived { id recipient reason type hard contactId } }',
        2,
      );
      await new Promise((r) => setTimeout(r, 300));
      const id = await validatedNow(t, owner, 'rcpt');
      await until(id, 'SENT');
      const heard = (await sub.results).map((r) => r.data?.bounceReceived);
      sub.stop();
      const ids = await contactIds('rcpt');
      const { rows } = await t.sql.query(
        `select id::text, contact_id::text, recipient, reason, type, hard, operation_id from bounce
          where account_id = $1 and operation_id = $2 order by id`,
        [owner.accountId, id],
      );
      expect(rows.map((r) => [r.contact_id, r.type, r.hard])).toEqual([
        [ids.get('c1@rcpt.test'), 'DELIVERY_FAILED', true],
        [ids.get('c2@rcpt.test'), 'MAX_ATTEMPTS_REACHED', false],
      ]);
      // What subscribers heard is what was stored, in order: the 550 at once, the 451 on its third try.
      expect(heard.map((b) => b?.id)).toEqual(rows.map((r) => r.id));
      expect(heard[0]).toMatchObject({ recipient: 'c1@rcpt.test', reason: 'userunknown', hard: true });
      expect(heard[1]).toMatchObject({
        recipient: 'c2@rcpt.test',
        type: 'MAX_ATTEMPTS_REACHED',
        hard: false,
      });
      // The soft contact is SOFT_BOUNCED; both bounces have their BOUNCE event with the operation.
      const { rows: c } = await t.sql.query(
        `select email, email_status from contact where account_id = $1 and email in ('c1@rcpt.test', 'c2@rcpt.test') order by email`,
        [owner.accountId],
      );
      expect(c.map((r) => r.email_status)).toEqual(['HARD_BOUNCED', 'SOFT_BOUNCED']);
      const { rows: ev } = await t.sql.query(
        'select count(*)::int as n from contact_event where operation_id = $1 and type = 9',
        [id],
      );
      expect(ev[0].n).toBe(2);
      const { rows: r2 } = await t.sql.query(
        `select status, reason, attempts from operation_recipient where operation_id = $1 and address = 'c2@rcpt.test'`,
        [id],
      );
      expect(r2[0]).toEqual({ status: 'FAILED', reason: 'MAX_ATTEMPTS_REACHED', attempts: 3 });
      // Read from the server's own last reply, whose words are vague: its codes, reason expired.
      const { rows: b2 } = await t.sql.query(
        `select reason, status, reply_code, diagnostic from bounce where operation_id = $1 and type = 'MAX_ATTEMPTS_REACHED'`,
        [id],
      );
      expect(b2).toEqual([
        { reason: 'expired', status: '4.2.0', reply_code: '451', diagnostic: '451 4.2.0 Try again later' },
      ]);
    } finally {
      hard.clear();
      soft.clear();
      await ws.dispose();
    }
  }, 60_000);
});
