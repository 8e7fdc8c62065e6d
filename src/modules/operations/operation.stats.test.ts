import type pg from 'pg';
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
import { eventCode } from '../events/event.entity.js';
import { foldStats, RECOUNT_SQL } from './operation.stats.js';
import { emailing, ops, smsOp, verifiedSender } from './testing/helpers.js';

/** The aggregates kept by the triggers against a recount of the raw events, through every write path. */
let t: TestApp;
let owner: Actor;
let other: Actor;
let opId: string;
let smsId: string;
let contacts: string[];

const AGG_SQL = `select type, url_key::text, min(url) as url, sum(total)::text as total, sum(uniques)::text as uniques
  from operation_stat where account_id = $1 and operation_id = $2 group by type, url_key`;
type Row = { type: number; url_key: string; url: string | null; total: string; uniques: string };
const keyed = (rows: Row[]) =>
  Object.fromEntries(
    rows.filter((r) => r.total !== '0').map((r) => [`${r.type}/${r.url ?? '-'}`, `${r.total}/${r.uniques}`]),
  );

async function agreeing(opIdOf = opId, accountId = owner.accountId) {
  const agg = (await t.sql.query<Row>(AGG_SQL, [accountId, opIdOf])).rows;
  const raw = (await t.sql.query<Row>(RECOUNT_SQL, [accountId, opIdOf])).rows;
  expect(keyed(agg)).toEqual(keyed(raw));
  // No per-contact row is left at 0 or below, and every one is a (key, contact) the events have.
  const stale = await t.sql.query(
    'select count(*)::int as n from operation_contact_stat where operation_id = $1 and n <= 0',
    [opIdOf],
  );
  expect(stale.rows[0].n).toBe(0);
  return { agg, raw };
}

const TYPES = ['EMAIL_SENT', 'EMAIL_OPEN', 'EMAIL_CLICK', 'UNSUBSCRIBE', 'BOUNCE', 'SITE_VISIT'] as const;
const LINKS = [
  'https://acme.example/a',
  'https://acme.example/b',
  `https://acme.example/${'x'.repeat(4000)}`,
];

/** n random events of the operation (and some of none), as one INSERT statement on `db`. */
function insertRandom(
  db: pg.Pool | pg.PoolClient,
  n: number,
  on = contacts,
  operationId = opId,
  account = owner.accountId,
) {
  const rows = Array.from({ length: n }, () => {
    const type = TYPES[Math.floor(Math.random() * TYPES.length)];
    return {
      contact_id: on[Math.floor(Math.random() * on.length)],
      type: eventCode(type),
      operation_id: Math.random() < 0.9 ? operationId : null,
      url: type === 'EMAIL_CLICK' ? LINKS[Math.floor(Math.random() * LINKS.length)] : null,
      // Machine opens and clicks (tracking.machine.ts) are counted apart.
      machine: (type === 'EMAIL_OPEN' || type === 'EMAIL_CLICK') && Math.random() < 0.3,
    };
  });
  return db.query(
    `insert into contact_event (account_id, contact_id, type, occurred_at, operation_id, url, machine)
     select $1, x.contact_id, x.type, now(), x.operation_id, x.url, x.machine
       from jsonb_to_recordset($2::jsonb) as x(contact_id bigint, type smallint, operation_id uuid, url text, machine boolean)`,
    [account, JSON.stringify(rows)],
  );
}

beforeAll(async () => {
  t = await startTestApp();
  owner = await signUpOwner(t);
  other = await signUpOwner(t, 'Other');
  await verifiedSender(t, owner.accountId);
  const o = ops(t);
  opId = ok(await o.create(owner, emailing())).createOperation.id;
  smsId = ok(await o.create(owner, smsOp())).createOperation.id;
  const made = await t.sql.query<{ id: string }>(
    `insert into contact (account_id, email, country) select $1, 's' || i || '@example.com', 'FR' from generate_series(1, 40) i returning id::text`,
    [owner.accountId],
  );
  contacts = made.rows.map((r) => r.id);
});
afterAll(() => t.close());

describe('operation_stat triggers', () => {
  it('agree with a recount after inserts, event deletes and contact deletes', async () => {
    for (let i = 0; i < 6; i++) await insertRandom(t.sql, 200);
    const { raw } = await agreeing();
    expect(raw.length).toBeGreaterThan(5);
    // Deleting some events one at a time and in bulk.
    await t.sql.query(
      'delete from contact_event where id in (select id from contact_event where operation_id = $1 order by random() limit 300)',
      [opId],
    );
    await t.sql.query('delete from contact_event where operation_id = $1 and contact_id = $2', [
      opId,
      contacts[0],
    ]);
    await agreeing();
    // Through the API: deleteContacts deletes their events.
    const del = await t.gql(
      'mutation($ids: [ID!]!) { deleteContacts(ids: $ids) }',
      { ids: contacts.slice(1, 6) },
      owner.token,
    );
    expect(del.errors).toBeUndefined();
    await agreeing();
    contacts = contacts.slice(6);
    await insertRandom(t.sql, 300);
    await agreeing();
    // Tracking flags a scanner's earlier clicks machine-made (an UPDATE): they move from the
    // human counts to the machine ones, and back.
    const flip = (to: boolean, n: number) =>
      t.sql.query(
        `update contact_event set machine = $2 where id in (select id from contact_event
          where operation_id = $1 and type in (0, 1) and machine <> $2 order by random() limit $3)`,
        [opId, to, n],
      );
    expect((await flip(true, 80)).rowCount).toBe(80);
    await agreeing();
    await flip(false, 30);
    await t.sql.query('update contact_event set url = url where operation_id = $1', [opId]); // no flag changed
    await agreeing();
  });

  it('agree under concurrent inserts and deletes from two sessions', async () => {
    const a = await t.sql.connect();
    const b = await t.sql.connect();
    try {
      for (let round = 0; round < 5; round++) {
        // A holds its rows; B writes the same keys and waits on A's locks, then sees A's rows.
        await a.query('begin');
        await b.query('begin');
        await insertRandom(a, 150);
        const pending = insertRandom(b, 150);
        await new Promise((r) => setTimeout(r, 50));
        await a.query('commit');
        await pending;
        await b.query('commit');
        // A deletes a contact's events while B inserts events of the same contacts.
        await a.query('begin');
        await a.query(
          'delete from contact_event where operation_id = $1 and contact_id = any($2::bigint[])',
          [opId, contacts.slice(0, 10)],
        );
        const racing = insertRandom(b, 100, contacts.slice(0, 10));
        await new Promise((r) => setTimeout(r, 50));
        await a.query('commit');
        await racing;
        // And both in parallel, autocommit, many small statements.
        await Promise.all([
          ...Array.from({ length: 5 }, () => insertRandom(a, 20)),
          ...Array.from({ length: 5 }, () => insertRandom(b, 20)),
        ]);
      }
    } finally {
      a.release();
      b.release();
    }
    await agreeing();
  });

  it("another account's events naming the operation never count for it", async () => {
    const before = keyed((await t.sql.query<Row>(AGG_SQL, [owner.accountId, opId])).rows);
    const theirs = await t.sql.query<{ id: string }>(
      `insert into contact (account_id, email, country) values ($1, 'z@example.com', 'FR') returning id::text`,
      [other.accountId],
    );
    await insertRandom(t.sql, 50, [theirs.rows[0].id], opId, other.accountId);
    expect(keyed((await t.sql.query<Row>(AGG_SQL, [owner.accountId, opId])).rows)).toEqual(before);
  });

  it('Operation.stats reads them: the recount folded the same way, per kind', async () => {
    const q = `query($id: ID!) { operation(id: $id) { stats { id sent opens { total unique } clicks { total unique } machineOpens { total unique } machineClicks { total unique } openRate clickRate links clicksPerLink { url total unique } unsubscribes bounces } } }`;
    const got = ok(
      await t.gql<{ operation: { stats: unknown } }, { id: string }>(q, { id: opId }, owner.token),
    );
    const raw = (await t.sql.query<Row>(RECOUNT_SQL, [owner.accountId, opId])).rows;
    const want = foldStats(opId, 'EMAILING', raw);
    const { operationId, kind, ...fields } = want;
    expect(got.operation.stats).toEqual({ id: operationId, ...fields });
    expect(want.sent).toBeGreaterThan(0);
    expect(want.clicksPerLink.map((l) => l.url).sort()).toEqual([...LINKS].sort());
    expect(want.opens?.unique).toBeLessThanOrEqual(contacts.length + 6);
    expect(want.machineOpens?.total).toBeGreaterThan(0);
    expect(want.machineClicks.total).toBeGreaterThan(0);
    expect(want.openRate).toBe((want.opens?.unique ?? 0) / want.sent);

    // An SMS counts SMS_SENT and SMS_CLICK, not email types, and has no opens.
    await t.sql.query(
      `insert into contact_event (account_id, contact_id, type, occurred_at, operation_id, url)
       values ($1, $2, $3, now(), $4, null), ($1, $2, $3, now(), $4, null), ($1, $2, $5, now(), $4, 'https://s.example/1'), ($1, $2, $6, now(), $4, null)`,
      [
        owner.accountId,
        contacts[0],
        eventCode('SMS_SENT'),
        smsId,
        eventCode('SMS_CLICK'),
        eventCode('EMAIL_OPEN'),
      ],
    );
    const sms = ok(
      await t.gql<{ operation: { stats: unknown } }, { id: string }>(q, { id: smsId }, owner.token),
    );
    expect(sms.operation.stats).toEqual({
      id: smsId,
      sent: 2,
      opens: null,
      clicks: { total: 1, unique: 1 },
      machineOpens: null,
      machineClicks: { total: 0, unique: 0 },
      openRate: null,
      clickRate: 0.5,
      links: 1,
      clicksPerLink: [{ url: 'https://s.example/1', total: 1, unique: 1 }],
      unsubscribes: 0,
      bounces: 0,
    });
    await agreeing(smsId);
  });

  it('operationStatsUpdated: the stats now, then again after a burst of changes; FORBIDDEN across kinds', async () => {
    const q = 'subscription($id: ID!) { operationStatsUpdated(id: $id) { id sent } }';
    const ws = t.ws(owner.token);
    try {
      const sub = nextResults<{ operationStatsUpdated: { id: string; sent: number } }>(ws, q, 2, {
        id: smsId,
      });
      await new Promise((r) => setTimeout(r, 300));
      // A burst of five statements: the next message carries at least one of them.
      for (let i = 0; i < 5; i++)
        await t.sql.query(
          'insert into contact_event (account_id, contact_id, type, occurred_at, operation_id) values ($1, $2, $3, now(), $4)',
          [owner.accountId, contacts[1], eventCode('SMS_SENT'), smsId],
        );
      const [first, second] = await sub.results;
      sub.stop();
      expect(first.data?.operationStatsUpdated).toEqual({ id: smsId, sent: 2 });
      expect(second.data?.operationStatsUpdated.sent).toBeGreaterThan(2);
    } finally {
      await ws.dispose();
    }
    const emailOnly = await viewerWith(t, owner, { EMAILINGS: 'GUEST' });
    const ws2 = t.ws(emailOnly.token);
    try {
      const [r] = await nextResults(ws2, q, 1, { id: smsId }).results;
      expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    } finally {
      await ws2.dispose();
    }
  });

  it('a truncate of the events clears them', async () => {
    // Last: it empties the table for this database only (one database per test file).
    await t.sql.query('truncate contact_event');
    const n = await t.sql.query(
      'select (select count(*) from operation_stat) + (select count(*) from operation_contact_stat) as n',
    );
    expect(Number(n.rows[0].n)).toBe(0);
  });
});
