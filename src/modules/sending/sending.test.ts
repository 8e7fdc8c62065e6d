/**
 * The sending engine end to end: a validated, scheduled Emailing reaches a real SMTP server once
 * per reachable recipient, personalised, with its deterministic Message-ID; exclusions are
 * counted at freeze; refusals, retries, pause, resume, cancel, a late start and content changed
 * behind the API behave as documented. The dispatcher runs every second here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Actor,
  nextResults,
  ok,
  signUpOwner,
  startTestApp,
  type TestApp,
  viewerWith,
} from '../../../test/harness.js';
import { startSmtpSink } from '../../../test/smtp-sink.js';
import { waitUntil } from '../../../test/wait.js';
import { moveHits } from '../events/tracking.repository.js';
import { emailing, ops, smsOp, verifiedSender } from '../operations/testing/helpers.js';

let t: TestApp;
let owner: Actor;
let sink: Awaited<ReturnType<typeof startSmtpSink>>;
const hard = new Set<string>();
const soft = new Set<string>();

beforeAll(async () => {
  sink = await startSmtpSink({
    refuse: (a) => (hard.has(a) ? 550 : soft.has(a) ? 451 : null),
  });
  t = await startTestApp({
    SMTP_URL: sink.url,
    SEND_DISPATCH_SECONDS: '1',
    SEND_BATCH_SIZE: '7',
    SEND_RETRY_SECONDS: '1',
    SEND_LEASE_SECONDS: '30',
  });
  owner = await signUpOwner(t, 'Sender');
  await verifiedSender(t, owner.accountId);
}, 120_000);
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

/** n contacts c<i>@<tag>.test named F<i>, in SQL (what is tested here is the engine). */
async function contacts(tag: string, n: number): Promise<void> {
  await t.sql.query(
    `insert into contact (account_id, email, first_name, unique_value)
     select $1, 'c' || g || '@${tag}.test', 'F' || g, 'c' || g || '@${tag}.test' from generate_series(1, $2::int) g`,
    [owner.accountId, n],
  );
}

/** A segment of the contacts whose email holds @<tag>.test. */
async function segmentOf(tag: string): Promise<string> {
  return ok(
    await t.gql<{ createSegment: { id: string } }, Record<string, unknown>>(
      'mutation($input: CreateSegmentInput!) { createSegment(input: $input) { id } }',
      {
        input: { name: tag, criterion: { field: { name: 'email', op: 'CONTAINS', value: `@${tag}.test` } } },
      },
      owner.token,
    ),
  ).createSegment.id;
}

async function validated(tag: string, scheduleNow = true): Promise<string> {
  const o = ops(t);
  const input = {
    ...emailing(`Send ${tag}`),
    audience: { segmentIds: [await segmentOf(tag)] },
    email: {
      ...emailing().email,
      subject: 'Hi {{ contact.firstName }}',
      html: '<p>Dear {{ contact.firstName }}, see <a href="https://shop.example/sale?a=1&amp;b=2">the sale</a></p>',
    },
  };
  const id = ok(await o.create(owner, input)).createOperation.id;
  ok(await o.step(owner, 'submitOperation', id));
  ok(await o.step(owner, 'validateOperation', id, scheduleNow ? ', scheduleNow: true' : ''));
  return id;
}

const statusOf = async (id: string) =>
  (await t.sql.query('select status, failure_reason from operation where id = $1', [id])).rows[0] as {
    status: string;
    failure_reason: string | null;
  };

async function until(id: string, statuses: string[], ms = 40_000): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const { status } = await statusOf(id);
    if (statuses.includes(status)) return status;
    if (Date.now() > end) throw new Error(`operation ${id} still ${status}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const recipients = async (id: string) =>
  (
    await t.sql.query(
      'select address, status, reason, attempts from operation_recipient where operation_id = $1 order by contact_id',
      [id],
    )
  ).rows as { address: string; status: string; reason: string | null; attempts: number }[];

describe('a validated Emailing scheduled now', () => {
  it('reaches every reachable recipient exactly once, personalised; exclusions counted by reason', async () => {
    await contacts('alpha', 30);
    // Excluded: two unsubscribed, one hard-bounced, one with the address of c1 (another case).
    await t.sql.query(
      `update contact set email_status = 'UNSUBSCRIBED' where account_id = $1 and email in ('c2@alpha.test', 'c3@alpha.test')`,
      [owner.accountId],
    );
    await t.sql.query(
      `update contact set email_status = 'HARD_BOUNCED' where account_id = $1 and email = 'c4@alpha.test'`,
      [owner.accountId],
    );
    await t.sql.query(
      `insert into contact (account_id, email, first_name, unique_value) values ($1, 'C1@alpha.test', 'Twin', 'twin')`,
      [owner.accountId],
    );
    const id = await validated('alpha');
    expect(await until(id, ['SENT', 'FAILED'])).toBe('SENT');
    const counts = sink.counts();
    const mine = [...counts].filter(([a]) => a.endsWith('@alpha.test'));
    // 31 members: c2, c3 unsubscribed, c4 hard-bounced, the twin a duplicate of c1: 27 messages.
    expect(mine.length).toBe(27);
    expect(mine.every(([, n]) => n === 1)).toBe(true);
    for (const gone of ['c2@alpha.test', 'c3@alpha.test', 'c4@alpha.test'])
      expect(counts.get(gone)).toBeUndefined();
    const c7 = sink.inbox.find((m) => m.rcpt.includes('c7@alpha.test'))!.mail;
    expect(c7.subject).toBe('Hi F7');
    expect(c7.html).toContain('Dear F7');
    // The link is a signed click link that redirects to the link as written.
    const click = /<a href="([^"]+\/t\/c\/[^"]+)">the sale<\/a>/.exec(String(c7.html))?.[1];
    expect(click).toBeDefined();
    expect(c7.headers.get('precedence')).toBe('bulk');
    const raw = (name: string) =>
      c7.headerLines
        .find((h) => h.key === name)
        ?.line.replace(/^[^:]+:\s*/, '')
        .replace(/\r?\n\s+/g, '') ?? '';
    expect(raw('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    const unsubscribe = /^<(http:\/\/[^>]+\/u\/[^>]+)>$/.exec(raw('list-unsubscribe'))?.[1];
    expect(unsubscribe, raw('list-unsubscribe')).toBeDefined();
    expect(c7.html).toContain(`href="${unsubscribe}"`);
    expect(c7.text).toContain(`Unsubscribe: ${unsubscribe}`);
    const { rows: ids } = await t.sql.query(
      `select id from contact where account_id = $1 and email = 'c7@alpha.test'`,
      [owner.accountId],
    );
    expect(c7.messageId).toBe(`<${id}.${ids[0].id}@acme.example>`);
    const { rows } = await t.sql.query(
      'select recipients, excluded, sent, failed from operation_send where operation_id = $1',
      [id],
    );
    expect(rows[0]).toEqual({
      recipients: 27,
      excluded: { UNSUBSCRIBED: 2, HARD_BOUNCED: 1, DUPLICATE_ADDRESS: 1 },
      sent: 27,
      failed: 0,
    });
    // The links work on this server: a GET of the unsubscribe link changes nothing, a POST
    // (RFC 8058 one-click) unsubscribes; the open pixel and the click link record with the operation.
    const local = (u: string) => u.replace(/^http:\/\/[^/]+/, new URL(t.url).origin);
    expect((await fetch(local(unsubscribe!))).status).toBe(200);
    const c7Status = async () =>
      (await t.sql.query(`select email_status from contact where id = $1`, [ids[0].id])).rows[0].email_status;
    expect(await c7Status()).toBe('VALID');
    const post = await fetch(local(unsubscribe!), { method: 'POST', body: 'List-Unsubscribe=One-Click' });
    expect(post.status).toBe(200);
    expect(await c7Status()).toBe('UNSUBSCRIBED');
    const pixel = /<img src="([^"]+\/t\/o\/[^"]+)"/.exec(String(c7.html))?.[1];
    expect((await fetch(local(pixel!))).headers.get('content-type')).toBe('image/gif');
    // A hit is answered once staged; moveHits brings what was staged into contact_event now.
    await moveHits(t.sql);
    const { rows: evs } = await t.sql.query(
      'select type from contact_event where operation_id = $1 and contact_id = $2 order by id',
      [id, ids[0].id],
    );
    const hop = await fetch(local(click!), { redirect: 'manual' });
    expect(hop.status).toBe(302);
    expect(hop.headers.get('location')).toBe('https://shop.example/sale?a=1&b=2');
    await moveHits(t.sql);
    const { rows: evs2 } = await t.sql.query(
      'select type from contact_event where operation_id = $1 and contact_id = $2 order by id',
      [id, ids[0].id],
    );
    // EMAIL_SENT, UNSUBSCRIBE, EMAIL_OPEN, EMAIL_CLICK
    expect(evs2.map((e) => e.type)).toEqual([7, 6, 0, 1]);
    expect(evs.length).toBe(3);
    // The EMAIL_SENT events carry the operation: its stats count them.
    type Stats = {
      sent: number;
      send: {
        recipients: number;
        excluded: { reason: string; count: number }[];
        delivered: number;
        failed: number;
        remaining: number;
      };
    };
    const stats = ok(
      await t.gql<{ operation: { stats: Stats } }, Record<string, unknown>>(
        'query($id: ID!) { operation(id: $id) { stats { sent send { recipients excluded { reason count } delivered failed remaining } } } }',
        { id },
        owner.token,
      ),
    );
    expect(stats.operation.stats.send).toEqual({
      recipients: 27,
      excluded: [
        { reason: 'UNSUBSCRIBED', count: 2 },
        { reason: 'DUPLICATE_ADDRESS', count: 1 },
        { reason: 'HARD_BOUNCED', count: 1 },
      ],
      delivered: 27,
      failed: 0,
      remaining: 0,
    });
    expect(stats.operation.stats.sent).toBe(27);
  });

  it('a 5xx at RCPT fails the recipient as a hard bounce; a 4xx is retried, then MAX_ATTEMPTS_REACHED', async () => {
    await contacts('beta', 6);
    hard.add('c1@beta.test');
    soft.add('c2@beta.test');
    try {
      const id = await validated('beta');
      expect(await until(id, ['SENT', 'FAILED'])).toBe('SENT');
      const byAddress = Object.fromEntries((await recipients(id)).map((r) => [r.address, r]));
      expect(byAddress['c1@beta.test']).toMatchObject({
        status: 'FAILED',
        reason: 'HARD_BOUNCE',
        attempts: 1,
      });
      expect(byAddress['c2@beta.test']).toMatchObject({
        status: 'FAILED',
        reason: 'MAX_ATTEMPTS_REACHED',
        attempts: 3,
      });
      for (const a of ['c3', 'c4', 'c5', 'c6']) expect(byAddress[`${a}@beta.test`].status).toBe('SENT');
      const { rows } = await t.sql.query(
        `select count(*)::int as n from contact_event where operation_id = $1 and type = 9`,
        [id],
      );
      // Two BOUNCE events: c1's refusal, and c2's MAX_ATTEMPTS_REACHED bounce.
      expect(rows[0].n).toBe(2);
      const { rows: send } = await t.sql.query(
        'select sent, failed, hard_bounces, deferrals from operation_send where operation_id = $1',
        [id],
      );
      // The refusal went through the bounce classifier: a bounce row, the contact HARD_BOUNCED.
      const { rows: b } = await t.sql.query(
        `select c.email_status, b.hard, b.reason, b.reply_code from contact c join bounce b on b.id = c.last_bounce_id
          where c.account_id = $1 and c.email = 'c1@beta.test'`,
        [owner.accountId],
      );
      expect(b[0]).toMatchObject({ email_status: 'HARD_BOUNCED', hard: true, reply_code: '550' });
      // c2 was deferred twice, then failed at its third attempt.
      expect(send[0]).toEqual({ sent: 4, failed: 2, hard_bounces: 1, deferrals: 2 });
    } finally {
      hard.clear();
      soft.clear();
    }
  }, 60_000);
});

describe('bounces and complaints that come back later', () => {
  it("name their operation through X-Cible-Operation: counted in its stats, never another account's", async () => {
    await contacts('eta', 3);
    const id = await validated('eta');
    expect(await until(id, ['SENT'])).toBe('SENT');
    const original = sink.inbox.find((m) => m.rcpt.includes('c2@eta.test'))!.mail;
    expect(original.headers.get('x-cible-operation')).toBe(id);
    const arf = (operation: string) => `From: <fbl@isp.example>
To: <abuse@acme.example>
Subject: FW: complaint
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="b1"

--b1
Content-Type: text/plain

This is an email abuse report.

--b1
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: FBL/1.0
Version: 1
Original-Rcpt-To: <c2@eta.test>

--b1
Content-Type: message/rfc822

From: news@acme.example
To: c2@eta.test
Subject: Hi F2
X-Cible-Operation: ${operation}

Dear F2
--b1--
`;
    const record = (message: string, token = owner.token) =>
      t.gql<{ recordBounce: { id: string; reason: string }[] }, Record<string, unknown>>(
        'mutation($input: RecordBounceInput!) { recordBounce(input: $input) { id reason } }',
        { input: { message } },
        token,
      );
    expect(ok(await record(arf(id))).recordBounce[0].reason).toBe('feedback');
    type S = { operation: { stats: { bounces: number; send: { complaints: number } } } };
    const stats = async () =>
      ok(
        await t.gql<S, Record<string, unknown>>(
          'query($id: ID!) { operation(id: $id) { stats { bounces send { complaints } } } }',
          { id },
          owner.token,
        ),
      ).operation.stats;
    expect(await stats()).toEqual({ bounces: 1, send: { complaints: 1 } });
    const { rows } = await t.sql.query(
      `select email_status from contact where account_id = $1 and email = 'c2@eta.test'`,
      [owner.accountId],
    );
    expect(rows[0].email_status).toBe('COMPLAINED');
    // Another account naming this operation in a report counts nothing for it.
    const stranger = await signUpOwner(t, 'Stranger');
    await t.sql.query(
      `insert into contact (account_id, email, unique_value) values ($1, 'c2@eta.test', 'c2@eta.test')`,
      [stranger.accountId],
    );
    ok(await record(arf(id), stranger.token));
    expect(await stats()).toEqual({ bounces: 1, send: { complaints: 1 } });
    const { rows: theirs } = await t.sql.query('select operation_id from bounce where account_id = $1', [
      stranger.accountId,
    ]);
    expect(theirs).toEqual([{ operation_id: null }]);
  });
});

describe('an SMS operation', () => {
  it('reaches every contact with a phone once, personalised, through the SMS outbox; parts counted', async () => {
    await t.sql.query(
      `insert into contact (account_id, email, phone, first_name, unique_value)
       select $1, 's' || g || '@zeta.test', case when g <= 4 then '+3361000000' || g end, 'S' || g, 's' || g || '@zeta.test'
         from generate_series(1, 5) g`,
      [owner.accountId],
    );
    const o = ops(t);
    // 150 characters of text plus the name: over 160, so two GSM-7 parts each.
    const text = `Hi {{ contact.firstName }}, ${'x'.repeat(150)} STOP 36111`;
    const id = ok(
      await o.create(owner, {
        ...smsOp('zeta'),
        audience: { segmentIds: [await segmentOf('zeta')] },
        sms: { text, senderId: 'ACME' },
      }),
    ).createOperation.id;
    ok(await o.step(owner, 'submitOperation', id));
    ok(await o.step(owner, 'validateOperation', id, ', scheduleNow: true'));
    expect(await until(id, ['SENT', 'FAILED'])).toBe('SENT');
    const { rows } = await t.sql.query(
      `select "to", sender_id, text, kind from sms_outbox_message where account_id = $1 and "to" like '+336100%' order by "to"`,
      [owner.accountId],
    );
    expect(rows.map((r) => r.to)).toEqual(['+33610000001', '+33610000002', '+33610000003', '+33610000004']);
    expect(rows[0]).toMatchObject({ sender_id: 'ACME', kind: 'OPERATION' });
    expect(rows[0].text.startsWith('Hi S1, xxx')).toBe(true);
    const send = ok(
      await t.gql<
        {
          operation: {
            stats: { sent: number; send: { recipients: number; excluded: unknown[]; parts: number } };
          };
        },
        Record<string, unknown>
      >(
        'query($id: ID!) { operation(id: $id) { stats { sent send { recipients excluded { reason count } parts } } } }',
        { id },
        owner.token,
      ),
    ).operation.stats;
    expect(send).toEqual({
      sent: 4,
      send: { recipients: 4, excluded: [{ reason: 'NO_ADDRESS', count: 1 }], parts: 8 },
    });
  });
});

describe('operationProgress', () => {
  it('streams null before the send, then the figures once frozen; FORBIDDEN across kinds', async () => {
    await contacts('eps', 40);
    const id = await validated('eps', false);
    const q =
      'subscription($id: ID!) { operationProgress(id: $id) { id recipients delivered failed remaining } }';
    type P = {
      operationProgress: { id: string; recipients: number; delivered: number; remaining: number } | null;
    };
    const ws = t.ws(owner.token);
    try {
      // Two messages for sure (before, then once frozen); how many batches a poll sees is timing.
      const sub = nextResults<P>(ws, q, 2, { id });
      await new Promise((r) => setTimeout(r, 500));
      ok(await ops(t).step(owner, 'scheduleOperation', id, ', now: true'));
      const [first, second] = await sub.results;
      sub.stop();
      expect(first.data?.operationProgress).toBeNull();
      expect(second.data?.operationProgress).toMatchObject({ id, recipients: 40 });
      const p = second.data!.operationProgress!;
      expect(p.delivered + p.remaining).toBe(40);
    } finally {
      await ws.dispose();
    }
    expect(await until(id, ['SENT'])).toBe('SENT');
    const smsOnly = await viewerWith(t, owner, { SMS: 'GUEST' }, async (email) => {
      await waitUntil(() => sink.inbox.some((m) => m.rcpt.includes(email)), 'the invitation');
      const got = sink.inbox.findLast((m) => m.rcpt.includes(email));
      const m = /token=([A-Za-z0-9_%-]+)/.exec(got?.mail.text ?? '');
      if (!m) throw new Error(`no invitation for ${email}`);
      return decodeURIComponent(m[1]);
    });
    const ws2 = t.ws(smsOnly.token);
    try {
      const [r] = await nextResults(ws2, q, 1, { id }).results;
      expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    } finally {
      await ws2.dispose();
    }
  });
});

describe('what the dispatcher refuses to send', () => {
  it('content changed behind the API after validation: FAILED with the reason, nothing sent', async () => {
    await contacts('gamma', 3);
    const id = await validated('gamma', false);
    await t.sql.query(
      `update operation set content = jsonb_set(content, '{subject}', '"Changed"') where id = $1`,
      [id],
    );
    ok(await ops(t).step(owner, 'scheduleOperation', id, ', now: true'));
    expect(await until(id, ['SENT', 'FAILED'])).toBe('FAILED');
    expect((await statusOf(id)).failure_reason).toMatch(/hash mismatch/);
    expect([...sink.counts().keys()].some((a) => a.endsWith('@gamma.test'))).toBe(false);
  });

  it('a schedule passed by more than lateSendCutoffHours while no server ran: FAILED "late"', async () => {
    await contacts('delta', 3);
    const id = await validated('delta', false);
    ok(await ops(t).step(owner, 'scheduleOperation', id, ', now: true'));
    // As if the server had been down since seven hours before now.
    await t.sql.query(`update operation set scheduled_at = now() - interval '7 hours' where id = $1`, [id]);
    expect(await until(id, ['SENT', 'FAILED'])).toBe('FAILED');
    expect((await statusOf(id)).failure_reason).toMatch(/^late: /);
    expect([...sink.counts().keys()].some((a) => a.endsWith('@delta.test'))).toBe(false);
  });
});
