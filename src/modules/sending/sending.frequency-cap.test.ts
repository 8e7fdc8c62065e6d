/**
 * The account's frequency cap, set through updateAccountSettings and applied by the freeze of a
 * real SMS send on real PostgreSQL: a contact with `messages` messages of the channel in the
 * window (sent, or still to send by another operation) is EXCLUDED as FREQUENCY_CAP and counted
 * by reason in Operation.stats.send; older sends, the other channel's and fewer than the cap do
 * not count. The send history is written in SQL (what is tested is the freeze, not old sends).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, code, ok, signUpOwner, startTestApp, type TestApp } from '../../../test/harness.js';
import { sendSmsTo } from '../operations/testing/helpers.js';

let t: TestApp;
let a: Actor;
const c: Record<string, string> = {};

beforeAll(async () => {
  t = await startTestApp({ SEND_DISPATCH_SECONDS: '1' });
  a = await signUpOwner(t, 'Capped');
  for (const [i, name] of ['recent', 'old', 'emailed', 'inflight', 'once', 'fresh'].entries()) {
    const { rows } = await t.sql.query(
      `insert into contact (account_id, email, phone, unique_value) values ($1, $2, $3, $2) returning id::text`,
      [a.accountId, `${name}@fc.test`, `+3361234580${i}`],
    );
    c[name] = rows[0].id;
  }
  // Past sends: [kind, operation status, contact, recipient status, days ago (null: not sent yet)].
  const history: [string, string, string, string, number | null][] = [
    ['SMS', 'SENT', 'recent', 'SENT', 1],
    ['SMS', 'SENT', 'recent', 'SENT', 6.5],
    ['SMS', 'SENT', 'old', 'SENT', 8],
    ['SMS', 'SENT', 'old', 'SENT', 9],
    ['EMAILING', 'SENT', 'emailed', 'SENT', 1],
    ['EMAILING', 'SENT', 'emailed', 'SENT', 2],
    ['SMS', 'SENT', 'inflight', 'SENT', 3],
    ['SMS', 'PAUSED', 'inflight', 'PENDING', null],
    ['SMS', 'SENT', 'once', 'SENT', 1],
    ['SMS', 'SENT', 'once', 'FAILED', 1],
  ];
  for (const [kind, opStatus, who, status, days] of history) {
    const { rows } = await t.sql.query(
      `insert into operation (account_id, kind, name, status, audience, content, content_hash)
       values ($1, $2, 'history', $3, '{"segmentIds":[],"excludedSegmentIds":[],"allContacts":true}', '{}', 'h') returning id`,
      [a.accountId, kind, opStatus],
    );
    await t.sql.query(
      `insert into operation_recipient (operation_id, contact_id, account_id, address, status, attempts, sent_at, due_at)
       values ($1, $2, $3, 'x', $4, 1, now() - make_interval(secs => $5::float8 * 86400), case when $4 = 'PENDING' then now() end)`,
      [rows[0].id, c[who], a.accountId, status, days],
    );
  }
}, 120_000);
afterAll(async () => {
  await t?.close();
});

const setCap = (frequencyCap: Record<string, unknown>) =>
  t.gql<
    { updateAccountSettings: { frequencyCap: { messages: number; days: number } | null } },
    Record<string, unknown>
  >(
    'mutation($input: UpdateAccountSettingsInput!) { updateAccountSettings(input: $input) { frequencyCap { messages days } } }',
    { input: { frequencyCap } },
    a.token,
  );

const recipients = async (op: string) =>
  Object.fromEntries(
    (
      await t.sql.query(
        'select contact_id::text as id, status, reason from operation_recipient where operation_id = $1',
        [op],
      )
    ).rows.map((r) => [
      Object.keys(c).find((k) => c[k] === r.id),
      `${r.status}${r.reason ? ` ${r.reason}` : ''}`,
    ]),
  );

const excluded = async (op: string) =>
  ok(
    await t.gql<
      {
        operation: { stats: { send: { recipients: number; excluded: { reason: string; count: number }[] } } };
      },
      { id: string }
    >(
      'query($id: ID!) { operation(id: $id) { stats { send { recipients excluded { reason count } } } } }',
      { id: op },
      a.token,
    ),
  ).operation.stats.send;

describe('settings.frequencyCap', () => {
  it('is null by default, refuses nonsense with BAD_USER_INPUT, and is read back as set', async () => {
    const read = await t.gql<{ accountSettings: { frequencyCap: unknown } }, Record<string, never>>(
      '{ accountSettings { frequencyCap { messages days } } }',
      {},
      a.token,
    );
    expect(ok(read).accountSettings.frequencyCap).toBeNull();
    for (const bad of [
      { messages: -1 },
      { messages: 1001 },
      { messages: 2, days: 0 },
      { messages: 2, days: 91 },
    ]) {
      const r = await setCap(bad);
      expect(code(r), JSON.stringify(bad)).toBe('BAD_USER_INPUT');
      expect(r.errors?.[0].message).toMatch(/frequencyCap\.(messages|days) must be between/);
    }
    expect(ok(await setCap({ messages: 0 })).updateAccountSettings.frequencyCap).toBeNull();
    expect(ok(await setCap({ messages: 2 })).updateAccountSettings.frequencyCap).toEqual({
      messages: 2,
      days: 7,
    });
  });
});

describe('the freeze with a cap of 2 messages in 7 days', () => {
  it('excludes who had 2 SMS in the window, sent or still to send, and counts them by reason', async () => {
    const op = await sendSmsTo(t, a, '@fc.test', 'Capped send');
    expect(await recipients(op)).toEqual({
      recent: 'EXCLUDED FREQUENCY_CAP', // 1 and 6.5 days ago
      old: 'SENT', // 8 and 9 days ago: out of the window
      emailed: 'SENT', // two emails: the other channel
      inflight: 'EXCLUDED FREQUENCY_CAP', // one sent, one still PENDING in a paused SMS operation
      once: 'SENT', // one SMS sent, one FAILED: one received
      fresh: 'SENT',
    });
    expect(await excluded(op)).toEqual({ recipients: 4, excluded: [{ reason: 'FREQUENCY_CAP', count: 2 }] });
  });

  it('without the cap (messages 0) nobody is left out for it', async () => {
    ok(await setCap({ messages: 0 }));
    const op = await sendSmsTo(t, a, '@fc.test', 'Uncapped send');
    expect(Object.values(await recipients(op))).toEqual(Array(6).fill('SENT'));
    expect(await excluded(op)).toEqual({ recipients: 6, excluded: [] });
  });
});
