/**
 * Credits end to end, against a real SMTP server: the free allowance of a new account, the
 * reservation at schedule (refused when short, with the amounts), its release on cancel, the
 * settlement of what was really sent (SMS per part), a frozen audience grown past the credits,
 * and 50 concurrent schedules sharing one balance.
 */
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
import { startSmtpSink } from '../../../test/smtp-sink.js';
import { waitUntil } from '../../../test/wait.js';
import { emailing, ops, smsOp, verifiedSender } from '../operations/testing/helpers.js';

let t: TestApp;
let sink: Awaited<ReturnType<typeof startSmtpSink>>;
const EMAIL_ALLOWANCE = 500;
const SMS_ALLOWANCE = 40;

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await startTestApp({
    SMTP_URL: sink.url,
    SEND_DISPATCH_SECONDS: '1',
    FREE_EMAIL_CREDITS: String(EMAIL_ALLOWANCE),
    FREE_SMS_CREDITS: String(SMS_ALLOWANCE),
  });
}, 120_000);
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

interface Balance {
  kind: string;
  balance: number;
  reserved: number;
  available: number;
  reservations: { operationId: string; amount: number }[];
}
const CREDITS =
  'query { account { id credits { kind balance reserved available reservations { operationId amount } } } }';
async function credits(who: Actor): Promise<Record<string, Balance>> {
  const r = ok(
    await t.gql<{ account: { credits: Balance[] } }, Record<string, never>>(CREDITS, {}, who.token),
  );
  return Object.fromEntries(r.account.credits.map((b) => [b.kind, b]));
}

/** The ledger's sum, which must always be the balance. */
async function ledger(accountId: string, kind: string): Promise<number> {
  const { rows } = await t.sql.query(
    'select coalesce(sum(amount), 0)::int as n from credit_entry where account_id = $1 and kind = $2',
    [accountId, kind],
  );
  return rows[0].n;
}

/** The invitation's token, from the mail at the SMTP server (quoted-printable undone). */
async function invitationAtSink(email: string): Promise<string> {
  await waitUntil(async () => sink.inbox.some((m) => m.rcpt.includes(email)), 'the invitation mail');
  const raw = (sink.inbox.find((m) => m.rcpt.includes(email)) as { raw: Buffer }).raw
    .toString()
    .replace(/=\r?\n/g, '')
    .replace(/=3D/g, '=');
  const m = /token=([A-Za-z0-9_%-]+)/.exec(raw);
  if (!m) throw new Error(`no token in the invitation to ${email}`);
  return decodeURIComponent(m[1]);
}

async function owner(name: string): Promise<Actor> {
  const o = await signUpOwner(t, name);
  await verifiedSender(t, o.accountId);
  return o;
}

async function contacts(who: Actor, tag: string, n: number, phone = false): Promise<void> {
  await t.sql.query(
    `insert into contact (account_id, email, phone, unique_value)
     select $1, 'c' || g || '@${tag}.test', case when $3 then '+3361234' || lpad(g::text, 4, '0') end, 'c' || g || '@${tag}.test'
       from generate_series(1, $2::int) g`,
    [who.accountId, n, phone],
  );
}

/** A validated operation to every contact of the account (not scheduled). */
async function validated(who: Actor, input: Record<string, unknown>): Promise<string> {
  const o = ops(t);
  const id = ok(await o.create(who, input)).createOperation.id;
  ok(await o.step(who, 'submitOperation', id));
  ok(await o.step(who, 'validateOperation', id));
  return id;
}

const IN_A_DAY = `, at: "${new Date(Date.now() + 86_400_000).toISOString()}"`;
const IN_TWO_DAYS = `, at: "${new Date(Date.now() + 2 * 86_400_000).toISOString()}"`;
const statusOf = async (id: string) =>
  (await t.sql.query('select status, failure_reason from operation where id = $1', [id])).rows[0] as {
    status: string;
    failure_reason: string | null;
  };

describe('credits', () => {
  it('a new account starts with the free allowance, in the ledger; INVOICES = NONE cannot read it', async () => {
    const o = await owner('Allowance');
    const c = await credits(o);
    expect(c.EMAIL).toMatchObject({ balance: EMAIL_ALLOWANCE, reserved: 0, available: EMAIL_ALLOWANCE });
    expect(c.SMS).toMatchObject({ balance: SMS_ALLOWANCE, reserved: 0, available: SMS_ALLOWANCE });
    expect(await ledger(o.accountId, 'EMAIL')).toBe(EMAIL_ALLOWANCE);
    const guest = await viewerWith(t, o, { INVOICES: 'GUEST' }, invitationAtSink);
    expect((await credits(guest)).EMAIL.balance).toBe(EMAIL_ALLOWANCE);
    const none = await viewerWith(t, o, { EMAILINGS: 'APPROVER' }, invitationAtSink);
    const denied = await t.gql(CREDITS, {}, none.token);
    expect(code(denied)).toBe('FORBIDDEN');
    expect(JSON.stringify(denied.data ?? null)).not.toContain(String(EMAIL_ALLOWANCE));
    const name = ok(
      await t.gql<{ account: { id: string } }, Record<string, never>>(
        'query { account { id } }',
        {},
        none.token,
      ),
    );
    expect(name.account.id).toBe(o.accountId);
  });

  it('scheduling reserves the audience, a shortfall is CONFLICT with the amounts, cancel releases', async () => {
    const o = await owner('Reserve');
    await contacts(o, 'reserve', 300);
    const first = await validated(o, emailing('first'));
    ok(await ops(t).step(o, 'scheduleOperation', first, IN_A_DAY));
    let c = await credits(o);
    expect(c.EMAIL).toMatchObject({ balance: 500, reserved: 300, available: 200 });
    expect(c.EMAIL.reservations).toEqual([{ operationId: first, amount: 300 }]);
    // Moving the time keeps the same reservation (it is resized, not taken twice).
    ok(await ops(t).step(o, 'scheduleOperation', first, IN_TWO_DAYS));
    expect((await credits(o)).EMAIL.reserved).toBe(300);

    const second = await validated(o, emailing('second'));
    const refused = await ops(t).step(o, 'scheduleOperation', second, IN_A_DAY);
    expect(code(refused)).toBe('CONFLICT');
    expect(refused.errors?.[0].extensions).toMatchObject({
      reason: 'INSUFFICIENT_CREDITS',
      kind: 'EMAIL',
      needed: 300,
      available: 200,
      missing: 100,
    });
    expect((await statusOf(second)).status).toBe('VALIDATED');
    expect((await credits(o)).EMAIL.reserved).toBe(300);

    ok(await ops(t).step(o, 'cancelOperation', first));
    c = await credits(o);
    expect(c.EMAIL).toMatchObject({ balance: 500, reserved: 0, available: 500, reservations: [] });
    ok(await ops(t).step(o, 'scheduleOperation', second, IN_A_DAY));
    // An edit sends it back to draft: what it held is returned.
    ok(await ops(t).update(o, { id: second, name: 'second, edited' }));
    expect((await credits(o)).EMAIL.reserved).toBe(0);
    expect(await ledger(o.accountId, 'EMAIL')).toBe(500);
  });

  it('a send pays for what was accepted, one entry per batch, and returns the rest', async () => {
    const o = await owner('Settle');
    await contacts(o, 'settle', 120);
    // 20 unsubscribed contacts are neither reserved for nor sent to.
    await t.sql.query(
      `update contact set email_status = 'UNSUBSCRIBED'
        where account_id = $1 and email like 'c1__@settle.test' and email <> 'c100@settle.test'`,
      [o.accountId],
    );
    const id = await validated(o, emailing('settle'));
    ok(await ops(t).step(o, 'scheduleOperation', id, ', now: true'));
    await waitUntil(async () => (await statusOf(id)).status === 'SENT', 'the send to end SENT');
    const delivered = sink.inbox.filter((m) => m.rcpt[0].endsWith('@settle.test')).length;
    expect(delivered).toBe(100);
    const c = await credits(o);
    expect(c.EMAIL).toMatchObject({ balance: 400, reserved: 0, available: 400, reservations: [] });
    expect(await ledger(o.accountId, 'EMAIL')).toBe(400);
    const { rows } = await t.sql.query(
      `select count(*)::int as n, sum(amount)::int as used from credit_entry
        where account_id = $1 and type = 'USAGE' and operation_id = $2`,
      [o.accountId, id],
    );
    expect(rows[0].used).toBe(-100);
    expect(rows[0].n).toBeGreaterThanOrEqual(1);
    const COST = 'query($id: ID!) { operation(id: $id) { id credits { id kind reserved used } } }';
    const cost = ok(
      await t.gql<{ operation: { credits: Record<string, unknown> } }, { id: string }>(COST, { id }, o.token),
    );
    expect(cost.operation.credits).toEqual({ id, kind: 'EMAIL', reserved: 0, used: 100 });
    // An operation's cost is invoice data: its approver without INVOICES does not see it.
    const none = await viewerWith(t, o, { EMAILINGS: 'APPROVER' }, invitationAtSink);
    const denied = await t.gql(COST, { id }, none.token);
    expect(code(denied)).toBe('FORBIDDEN');
    expect(JSON.stringify(denied.data ?? null)).not.toContain('"used"');
  });

  it('SMS credits are parts: a two-part text reserves and uses two per recipient', async () => {
    const o = await owner('Parts');
    await contacts(o, 'parts', 12, true);
    const text = `${'Flash sale today on every item of the spring collection, '.repeat(3)}STOP 36111`;
    expect(text.length).toBeGreaterThan(160);
    const id = await validated(o, { ...smsOp('parts'), sms: { text, senderId: 'ACME' } });
    ok(await ops(t).step(o, 'scheduleOperation', id, IN_A_DAY));
    expect((await credits(o)).SMS).toMatchObject({ reserved: 24, available: SMS_ALLOWANCE - 24 });
    ok(await ops(t).step(o, 'scheduleOperation', id, ', now: true'));
    await waitUntil(async () => (await statusOf(id)).status === 'SENT', 'the SMS send to end SENT');
    expect((await credits(o)).SMS).toMatchObject({ balance: SMS_ALLOWANCE - 24, reserved: 0 });
    const { rows } = await t.sql.query('select parts from operation_send where operation_id = $1', [id]);
    expect(rows[0].parts).toBe(24);
  });

  it('an audience that grew past the credits before its start fails, saying so, and holds nothing', async () => {
    const o = await owner('Grown');
    await contacts(o, 'grown', 400);
    const id = await validated(o, emailing('grown'));
    ok(await ops(t).step(o, 'scheduleOperation', id, IN_A_DAY));
    await t.sql.query(
      `insert into contact (account_id, email, unique_value)
       select $1, 'late' || g || '@grown.test', 'late' || g || '@grown.test' from generate_series(1, 200) g`,
      [o.accountId],
    );
    await t.sql.query(`update operation set scheduled_at = now() where id = $1`, [id]);
    await waitUntil(async () => (await statusOf(id)).status === 'FAILED', 'the start to fail');
    const reason = (await statusOf(id)).failure_reason;
    expect(reason).toMatch(/Not enough EMAIL credits: this send needs 600/);
    // Read at EMAILINGS >= GUEST: it does not tell the balance.
    expect(reason).not.toMatch(/500/);
    expect((await credits(o)).EMAIL).toMatchObject({ balance: 500, reserved: 0 });
    const { rows } = await t.sql.query(
      'select count(*)::int as n from operation_recipient where operation_id = $1',
      [id],
    );
    expect(rows[0].n).toBe(0);
    expect(sink.inbox.some((m) => m.rcpt[0].endsWith('@grown.test'))).toBe(false);
  });

  it('50 concurrent schedules each needing a tenth of the balance: exactly 10 succeed, then they send within it', async () => {
    const o = await owner('Race');
    await contacts(o, 'race', 50);
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) ids.push(await validated(o, emailing(`race ${i}`)));
    const results = await Promise.all(ids.map((id) => ops(t).step(o, 'scheduleOperation', id, IN_A_DAY)));
    const won = ids.filter((_, i) => !results[i].errors);
    const lost = results.filter((r) => r.errors);
    expect(won.length).toBe(10);
    expect(lost.every((r) => r.errors?.[0].extensions?.reason === 'INSUFFICIENT_CREDITS')).toBe(true);
    expect((await credits(o)).EMAIL).toMatchObject({ balance: 500, reserved: 500, available: 0 });
    // Now all ten send at once, concurrent batches settling against one balance.
    await t.sql.query('update operation set scheduled_at = now() where id = any($1::uuid[])', [won]);
    let lowest = Number.POSITIVE_INFINITY;
    await waitUntil(
      async () => {
        const { rows } = await t.sql.query(
          "select balance::int, reserved::int from credit_balance where account_id = $1 and kind = 'EMAIL'",
          [o.accountId],
        );
        lowest = Math.min(lowest, rows[0].balance - rows[0].reserved, rows[0].balance);
        const { rows: s } = await t.sql.query(
          "select count(*)::int as n from operation where id = any($1::uuid[]) and status = 'SENT'",
          [won],
        );
        return s[0].n === 10;
      },
      'the ten sends to end SENT',
      60_000,
    );
    expect(lowest).toBeGreaterThanOrEqual(0);
    expect(sink.inbox.filter((m) => m.rcpt[0].endsWith('@race.test')).length).toBe(500);
    expect((await credits(o)).EMAIL).toMatchObject({ balance: 0, reserved: 0, available: 0 });
    expect(await ledger(o.accountId, 'EMAIL')).toBe(0);
    // Nothing left: the next schedule is refused.
    const next = await ops(t).step(
      o,
      'scheduleOperation',
      ids.find((id) => !won.includes(id)) as string,
      IN_A_DAY,
    );
    expect(next.errors?.[0].extensions).toMatchObject({ reason: 'INSUFFICIENT_CREDITS', available: 0 });
  }, 90_000);
});
