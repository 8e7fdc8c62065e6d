import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, signUpOwner, startTestApp, type TestApp } from '../../../test/harness.js';
import { waitUntil } from '../../../test/wait.js';
import { eventCode } from './event.entity.js';
import { moveHits } from './tracking.repository.js';
import { signTrackingToken, trackingKey } from './tracking.token.js';
import { HitWriter, MOVE_EVERY_MS } from './tracking.writer.js';

/**
 * Hits are committed to tracking_hit before their answer and moved into contact_event behind it
 * (tracking.writer.ts): what the answer waits for, when the move comes, and what a move keeps.
 */
let t: TestApp;
let owner: Actor;
let other: Actor;
let key: Buffer;
let origin: string;
let contacts: string[];
const OPERATION = '3c9d2e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f';
const SAFARI = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Safari/604.1';
const OPEN = eventCode('EMAIL_OPEN');
const CLICK = eventCode('EMAIL_CLICK');
const SENT = eventCode('EMAIL_SENT');

beforeAll(async () => {
  t = await startTestApp({ TRACKING_SECRET: 'test-tracking-secret-stage-0123456789' });
  origin = new URL(t.url).origin;
  key = await trackingKey(t.app.services.config);
  owner = await signUpOwner(t);
  other = await signUpOwner(t, 'Other');
  const made = await t.sql.query<{ id: string }>(
    `insert into contact (account_id, email) select $1, 's' || i || '@stage.test' from generate_series(1, 6) i returning id::text`,
    [owner.accountId],
  );
  contacts = made.rows.map((r) => r.id);
});
afterAll(() => t.close());

const staged = async () =>
  (await t.sql.query<{ n: number }>('select count(*)::int as n from tracking_hit')).rows[0].n;
const recorded = async (c: string) =>
  (
    await t.sql.query<{ type: number; machine: boolean; at: Date }>(
      'select type, machine, occurred_at as at from contact_event where contact_id = $1 and type in (0, 1) order by id',
      [c],
    )
  ).rows;

describe('staged tracking hits', () => {
  it('an answered hit is already committed, and reaches contact_event and the statistics within MOVE_EVERY_MS unasked', async () => {
    const c = contacts[0];
    const res = await fetch(
      `${origin}/t/o/${signTrackingToken(key, { a: owner.accountId, c, o: OPERATION, k: 'o' })}.gif`,
      {
        headers: { 'user-agent': SAFARI },
      },
    );
    expect(res.status).toBe(200);
    const answered = Date.now();
    // Committed before the answer: in the staging table, or already moved.
    expect((await staged()) + (await recorded(c)).length).toBe(1);
    await waitUntil(async () => (await recorded(c)).length === 1, 'the writer to move the hit');
    const lag = Date.now() - answered;
    expect(lag).toBeLessThan(MOVE_EVERY_MS + 2_000); // the bound, with room for a loaded test box
    expect(await staged()).toBe(0);
    const stat = await t.sql.query<{ total: string }>(
      `select sum(total)::text as total from operation_stat where operation_id = $1 and type = $2
          and url_key = '00000000-0000-0000-0000-000000000000'`,
      [OPERATION, OPEN],
    );
    expect(stat.rows[0].total).toBe('1');
  });

  it('hits left staged by a process that stopped before moving them are moved by the next writer to start', async () => {
    const [kept, deleted] = contacts.slice(1);
    const at = new Date(Date.now() - 60_000);
    await t.sql.query(
      `insert into tracking_hit (account_id, contact_id, type, occurred_at, operation_id, url, machine)
       values ($1, $2, $4, $5, $6, null, false), ($1, $3, $4, $5, $6, null, false), ($7, $2, $4, $5, $6, null, false)`,
      [owner.accountId, kept, deleted, OPEN, at, OPERATION, other.accountId],
    );
    // Deleted while its hit waits: its events are gone, and the move must not bring one back.
    await t.sql.query('delete from contact where id = $1', [deleted]);
    const writer = new HitWriter(t.app.services);
    try {
      await waitUntil(async () => (await staged()) === 0, 'the starting writer to move what was staged');
    } finally {
      await writer.close();
    }
    // The hit keeps its own time; the row of a contact another account names is dropped.
    expect(await recorded(kept)).toEqual([{ type: OPEN, machine: false, at }]);
    expect(await recorded(deleted)).toEqual([]);
  });

  it('the timing rules judge a hit by its own time, not by when it was moved', async () => {
    const [, , , early, late] = contacts;
    const now = Date.now();
    // Both clicks were made 10 s ago; early's message was sent 2 s before its click, late's 20 s.
    await t.sql.query(
      `insert into contact_event (account_id, contact_id, type, occurred_at, operation_id)
       values ($1, $2, $4, $5, $7), ($1, $3, $4, $6, $7)`,
      [owner.accountId, early, late, SENT, new Date(now - 12_000), new Date(now - 20_000), OPERATION],
    );
    await t.sql.query(
      `insert into tracking_hit (account_id, contact_id, type, occurred_at, operation_id, url, machine)
       select $1, c, $4, $5, $6, 'https://shop.example/a', false from unnest(array[$2, $3]::bigint[]) c`,
      [owner.accountId, early, late, CLICK, new Date(now - 10_000), OPERATION],
    );
    expect(await moveHits(t.sql)).toBe(2);
    expect((await recorded(early)).map((r) => r.machine)).toEqual([true]);
    expect((await recorded(late)).map((r) => r.machine)).toEqual([false]);
  });
});
