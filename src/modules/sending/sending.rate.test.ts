/**
 * The send rate limits. The limiters directly (the pacer on a virtual clock, the account's bucket
 * on the real database at given instants, concurrent takers included), then one send of each
 * through the engine to a real smtp-server, checked with counts: the messages the sink has by a
 * time T can never exceed what the limiter let out by T, measured from before the send started
 * (a message can arrive late, never early), so the check holds however loaded the machine is, and
 * fails without the limit (everything arrives within a second or two).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, code, ok, signUpOwner, startTestApp, type TestApp } from '../../../test/harness.js';
import { startSmtpSink } from '../../../test/smtp-sink.js';
import { verifiedSender } from '../operations/testing/helpers.js';
import { bucketSize, Pacer, takeAllowance } from './sending.rate.js';
import { contactsInSql, validatedNow } from './testing/server-fixture.js';

type Sink = Awaited<ReturnType<typeof startSmtpSink>>;

/** For one describe: an app sending to its own smtp-server sink, and an owner with a verified sender. */
function sendingApp(name: string, env: Record<string, string>) {
  const app = {} as { t: TestApp; owner: Actor; sink: Sink };
  beforeAll(async () => {
    app.sink = await startSmtpSink();
    app.t = await startTestApp({ SMTP_URL: app.sink.url, SEND_DISPATCH_SECONDS: '1', ...env });
    app.owner = await signUpOwner(app.t, name);
    await verifiedSender(app.t, app.owner.accountId);
  }, 120_000);
  afterAll(async () => {
    await app.t?.close();
    await app.sink?.close();
  });
  return app;
}

describe('Pacer (SEND_RATE_PER_SECOND)', () => {
  it('spaces messages 1/rate apart in call order, without delaying the first', async () => {
    let now = 1_000;
    const slept: number[] = [];
    const pacer = new Pacer(
      4,
      () => now,
      async (ms) => {
        slept.push(ms);
      },
    );
    await Promise.all(Array.from({ length: 6 }, () => pacer.take()));
    // All six asked at t=1000: they were given 0, 250, ... 1250 ms.
    expect(slept).toEqual([250, 500, 750, 1000, 1250]);
    now = 5_000; // idle for a while: no burst saved up
    await pacer.take();
    await pacer.take();
    expect(slept.slice(5)).toEqual([250]);
  });
});

describe('an account with settings.sendRatePerMinute', () => {
  const app = sendingApp('Limited', { SEND_BATCH_SIZE: '20', SEND_WORKERS: '2', SEND_PROCESS_SLOTS: '1' });
  let t: TestApp;
  let owner: Actor;
  let other: Actor;
  let sink: Sink;
  beforeAll(async () => {
    ({ t, owner, sink } = app);
    other = await signUpOwner(t, 'Other');
  });

  const setRate = (accountId: string, perMinute: unknown) =>
    t.sql.query(
      `update account set settings = settings || jsonb_build_object('sendRatePerMinute', $2::jsonb) where id = $1`,
      [accountId, JSON.stringify(perMinute)],
    );

  it('takes from a bucket of five seconds of the rate that refills continuously', async () => {
    await setRate(other.accountId, 60); // one a second, a bucket of 5
    expect(bucketSize(60)).toBe(5);
    const t0 = new Date('2030-01-01T00:00:00Z');
    const at = (s: number) => new Date(t0.getTime() + s * 1000);
    const take = (wanted: number, s: number) => takeAllowance(t.sql, other.accountId, wanted, at(s));
    expect(await take(100, 0)).toMatchObject({ granted: 5, ratePerMinute: 60 });
    const empty = await take(100, 0);
    expect(empty.granted).toBe(0);
    // Back when half the bucket (3 messages) has come in.
    expect(empty.waitMs).toBe(3000);
    expect((await take(100, 1.5)).granted).toBe(1);
    expect((await take(2, 3.5)).granted).toBe(2);
    expect((await take(100, 60)).granted).toBe(5); // never more than the bucket
    // Twenty concurrent takers at one instant share what is there, never more.
    const all = await Promise.all(Array.from({ length: 20 }, () => take(1, 70)));
    expect(all.reduce((n, a) => n + a.granted, 0)).toBe(5);
    // No limit, or nonsense in the JSON: everything asked is granted, nothing stored.
    await setRate(other.accountId, 'fast');
    expect(await take(100, 80)).toEqual({ granted: 100, ratePerMinute: null, waitMs: 0 });
    await setRate(owner.accountId, 0);
    expect((await takeAllowance(t.sql, owner.accountId, 7)).granted).toBe(7);
  });

  it('a send of 180 at 600 a minute: by any time T at most the bucket + 10 a second since the start', async () => {
    // Through the API: 10 a second, a bucket of 50; out of range is refused, 0 removes it.
    type S = { updateAccountSettings: { sendRatePerMinute: number | null } };
    const update = (rate: number) =>
      t.gql<S, Record<string, unknown>>(
        'mutation($input: UpdateAccountSettingsInput!) { updateAccountSettings(input: $input) { sendRatePerMinute } }',
        { input: { sendRatePerMinute: rate } },
        owner.token,
      );
    expect(code(await update(-1))).toBe('BAD_USER_INPUT');
    expect(code(await update(1_000_001))).toBe('BAD_USER_INPUT');
    expect(ok(await update(0)).updateAccountSettings.sendRatePerMinute).toBeNull();
    expect(ok(await update(600)).updateAccountSettings.sendRatePerMinute).toBe(600);
    await contactsInSql(t, owner.accountId, 'slow', 180);
    const mine = () => sink.inbox.filter((m) => m.rcpt[0]?.endsWith('@slow.test')).length;
    const start = Date.now();
    await validatedNow(t, owner, 'slow');
    const seen: [number, number][] = [];
    while (mine() < 180) {
      const n = mine();
      const elapsed = (Date.now() - start) / 1000;
      seen.push([elapsed, n]);
      expect(n, `${n} messages after ${elapsed.toFixed(2)} s`).toBeLessThanOrEqual(
        50 + Math.ceil(10 * elapsed),
      );
      if (elapsed > 60) throw new Error(`only ${n} of 180 after a minute: ${JSON.stringify(seen.slice(-5))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // 130 past the bucket at 10 a second: the send cannot have taken less than 13 s.
    expect((Date.now() - start) / 1000).toBeGreaterThanOrEqual(13);
    expect(
      new Set(sink.inbox.filter((m) => m.rcpt[0]?.endsWith('@slow.test')).map((m) => m.rcpt[0])).size,
    ).toBe(180);
  }, 90_000);
});

describe('a process with SEND_RATE_PER_SECOND', () => {
  // A 2 s lease: at 10 a second a claim must hold at most 5 (a quarter of the lease's worth), so
  // even a batch claimed ahead of the one going out is sent within its lease.
  const app = sendingApp('Paced', {
    SEND_RATE_PER_SECOND: '10',
    SEND_LEASE_SECONDS: '2',
    SEND_PROCESS_SLOTS: '1',
  });
  let t: TestApp;
  let owner: Actor;
  let sink: Sink;
  beforeAll(() => {
    ({ t, owner, sink } = app);
  });

  it('hands at most 1 + 10 a second to the SMTP server, claims no more than it can send within the lease', async () => {
    await contactsInSql(t, owner.accountId, 'paced', 60);
    const mine = () => sink.inbox.filter((m) => m.rcpt[0]?.endsWith('@paced.test')).length;
    const start = Date.now();
    const id = await validatedNow(t, owner, 'paced');
    let claimed = 0;
    while (mine() < 60) {
      const { rows } = await t.sql.query(
        `select count(*)::int as n from operation_recipient where operation_id = $1 and status = 'CLAIMED'`,
        [id],
      );
      claimed = Math.max(claimed, rows[0].n);
      const n = mine();
      const elapsed = (Date.now() - start) / 1000;
      expect(n, `${n} messages after ${elapsed.toFixed(2)} s`).toBeLessThanOrEqual(
        1 + Math.ceil(10 * elapsed),
      );
      if (elapsed > 60) throw new Error(`only ${n} of 60 after a minute`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((Date.now() - start) / 1000).toBeGreaterThanOrEqual(59 / 10);
    expect(claimed).toBeGreaterThan(0);
    // 5 per claim: the batch going out, and the next one a worker may claim ahead while it does.
    expect(claimed).toBeLessThanOrEqual(10);
    expect(new Set(sink.inbox.map((m) => m.rcpt[0]).filter((a) => a.endsWith('@paced.test'))).size).toBe(60);
  }, 90_000);
});

describe('one account sending from two server processes', () => {
  let a: TestApp & { databaseUrl: string };
  let b: TestApp;
  let owner: Actor;
  const sinks: Sink[] = [];

  beforeAll(async () => {
    sinks.push(await startSmtpSink(), await startSmtpSink());
    const env = {
      SEND_DISPATCH_SECONDS: '1',
      SEND_BATCH_SIZE: '10',
      SEND_WORKERS: '2',
      SEND_PROCESS_SLOTS: '1',
    };
    a = await startTestApp({ ...env, SMTP_URL: sinks[0].url });
    b = await startTestApp({ ...env, SMTP_URL: sinks[1].url }, { databaseUrl: a.databaseUrl });
    owner = await signUpOwner(a, 'Shared');
    await verifiedSender(a, owner.accountId);
  }, 120_000);
  afterAll(async () => {
    await b?.close();
    await a?.close();
    for (const s of sinks) await s.close();
  });

  it('shares the bucket: both sinks together never exceed it, every address once', async () => {
    await a.sql.query(
      `update account set settings = settings || '{"sendRatePerMinute": 300}'::jsonb where id = $1`,
      [owner.accountId],
    );
    await contactsInSql(a, owner.accountId, 'two', 100);
    const mine = () => sinks.map((s) => s.inbox.filter((m) => m.rcpt[0]?.endsWith('@two.test')).length);
    const start = Date.now();
    await validatedNow(a, owner, 'two');
    // 5 a second with a bucket of 25, whichever process claims.
    for (let n = 0; n < 100; ) {
      n = mine().reduce((x, y) => x + y, 0);
      const elapsed = (Date.now() - start) / 1000;
      expect(n, `${mine().join(' + ')} after ${elapsed.toFixed(2)} s`).toBeLessThanOrEqual(
        25 + Math.ceil(5 * elapsed),
      );
      if (elapsed > 60) throw new Error(`only ${n} of 100 after a minute`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const all = sinks.flatMap((s) => s.inbox.map((m) => m.rcpt[0])).filter((x) => x.endsWith('@two.test'));
    expect(all.length).toBe(100);
    expect(new Set(all).size).toBe(100);
    console.info(`two processes, one bucket: ${mine().join(' + ')} messages`);
  }, 90_000);
});
