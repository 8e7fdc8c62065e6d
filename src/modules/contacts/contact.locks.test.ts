import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateContactDocument,
  DeleteContactsDocument,
  ImportContactsDocument,
  RecordBounceDocument,
  RecordEventsDocument,
  UpdateAccountSettingsDocument,
} from '../../../test/generated/graphql.js';
import {
  type Actor,
  code,
  type GqlResult,
  ok,
  signUpOwner,
  startTestApp,
  type TestApp,
} from '../../../test/harness.js';
import { CONCURRENT_WRITE_CODES, lockWait, shuffled } from '../../../test/wait.js';
import { viewerFromToken } from '../users/auth.service.js';
import { contactWrite } from './contact.locks.js';

/**
 * The writers outside contact.service.ts (recordEvents, recordBounce) take the lock order of
 * every contact write (the account, then contacts in id order) and are rerun on a deadlock: they
 * used to answer a masked INTERNAL_SERVER_ERROR when they lost one.
 */
let t: TestApp;
let owner: Actor;
beforeAll(async () => {
  t = await startTestApp();
  owner = await signUpOwner(t);
});
afterAll(() => t.close());

const mailboxFull = (to: string) => `452 4.2.2 <${to}>: Mailbox full`;

async function createContact(input: { email: string; phone?: string }, who = owner): Promise<string> {
  return ok(await t.gql(CreateContactDocument, { input }, who.token)).createContact.id;
}

const lockWaitOf = (like: string, what: string) => lockWait(t.sql, like, what);

/**
 * A real deadlock with `write`: another transaction locks `second` FOR UPDATE, waits until the
 * write waits for it (holding `first`), then locks `first`. Its detector waits 10 s, so
 * PostgreSQL aborts the write's side, which must be rerun and answer its data.
 */
async function deadlockWith<R>(
  first: string,
  second: string,
  like: string,
  write: () => Promise<GqlResult<R>>,
): Promise<GqlResult<R>> {
  const other: pg.PoolClient = await t.sql.connect();
  try {
    await other.query('begin');
    await other.query(`set local deadlock_timeout = '10s'`);
    await other.query('select 1 from contact where id = $1 for update', [second]);
    const writing = write();
    await lockWaitOf(like, 'the write to wait for the contact locked elsewhere');
    await other.query('select 1 from contact where id = $1 for update', [first]);
    await other.query('commit');
    return await writing;
  } finally {
    other.release();
  }
}

describe('writers outside contactWrite', () => {
  it('a recordEvents that loses a deadlock is rerun and answers its data', async () => {
    const a = await createContact({ email: 'ev1@locks.test' });
    const b = await createContact({ email: 'ev2@locks.test' });
    const events = [
      { contactId: a, type: 'EMAIL_CLICK' as const },
      { contactId: b, type: 'EMAIL_CLICK' as const },
    ];
    const answer = await deadlockWith(a, b, '%from contact%for key share%', () =>
      t.gql(RecordEventsDocument, { events }, owner.token),
    );
    expect(answer.errors).toBeUndefined();
    expect(ok(answer).recordEvents).toBe(2);
    const { rows } = await t.sql.query(
      'select count(*)::int as n from contact_event where contact_id = any($1::bigint[])',
      [[a, b]],
    );
    expect(rows[0].n).toBe(2);
  });

  it('a recordBounce that loses a deadlock is rerun and answers its data', async () => {
    // Two contacts with one email (the account is keyed by phone): one bounce locks both.
    const phones = await signUpOwner(t, 'Phones');
    ok(await t.gql(UpdateAccountSettingsDocument, { input: { uniqueKey: 'phone' } }, phones.token));
    const a = await createContact({ email: 'shared@locks.test', phone: '+33611111111' }, phones);
    const b = await createContact({ email: 'shared@locks.test', phone: '+33622222222' }, phones);
    const answer = await deadlockWith(a, b, '%for update of c%', () =>
      t.gql(RecordBounceDocument, { input: { message: mailboxFull('shared@locks.test') } }, phones.token),
    );
    expect(answer.errors).toBeUndefined();
    expect(
      ok(answer)
        .recordBounce.map((x) => x.contactId)
        .sort(),
    ).toEqual([a, b].sort());
    const { rows } = await t.sql.query(
      `select count(*)::int as n from contact where id = any($1::bigint[]) and email_status = 'SOFT_BOUNCED'`,
      [[a, b]],
    );
    expect(rows[0].n).toBe(2);
  });

  it('concurrent events, bounces, deletes and merges on the same contacts: data or typed errors', async () => {
    const seeded: { id: string; email: string }[] = [];
    for (let i = 0; i < 40; i++) {
      const email = `m${i}@mixed.test`;
      seeded.push({ id: await createContact({ email }), email });
    }
    // A big analyzed account (its contacts are then scanned in table order, not through the
    // (account_id, id) index) whose table order is the reverse of the id order: each update
    // moves a row to the end.
    const many = Array.from({ length: 3000 }, (_, i) => ({ email: `bulk${i}@mixed.test` }));
    ok(await t.gql(ImportContactsDocument, { input: { rows: many } }, owner.token));
    await t.sql.query('analyze contact');
    for (const c of [...seeded].reverse())
      await t.sql.query(`update contact set city = 'moved' where id = $1`, [c.id]);
    const calls: (() => Promise<GqlResult<unknown>>)[] = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 16; i++) {
        // Overlapping sets given in descending order, some unsubscribing (an UPDATE of contacts).
        const some = seeded.slice(i * 2, i * 2 + 12).reverse();
        const type = i % 2 ? ('UNSUBSCRIBE' as const) : ('EMAIL_OPEN' as const);
        calls.push(() =>
          t.gql(RecordEventsDocument, { events: some.map((c) => ({ contactId: c.id, type })) }, owner.token),
        );
      }
      for (let i = 0; i < 10; i++) {
        const c = seeded[(round * 7 + i * 3) % seeded.length];
        calls.push(() =>
          t.gql(RecordBounceDocument, { input: { message: mailboxFull(c.email) } }, owner.token),
        );
        calls.push(() =>
          t.gql(CreateContactDocument, { input: { email: c.email, city: `r${round}` } }, owner.token),
        );
      }
      for (let i = 0; i < 4; i++) {
        const ids = shuffled(seeded.slice(round * 10 + i * 2, round * 10 + i * 2 + 8), round * 10 + i).map(
          (c) => c.id,
        );
        calls.push(() => t.gql(DeleteContactsDocument, { ids }, owner.token));
      }
    }
    // Interleaved, so every kind of writer runs beside every other.
    const answers = await Promise.all(shuffled(calls, 3).map((call) => call()));
    const untyped = answers.filter((a) => a.errors?.length && !CONCURRENT_WRITE_CODES.has(String(code(a))));
    expect(untyped.map((a) => a.errors)).toEqual([]);
    expect(answers.every((a) => a.status < 500)).toBe(true);
    // Nothing is left behind a deleted contact.
    const { rows } = await t.sql.query(
      `select (select count(*)::int from contact_event e where not exists (select 1 from contact c where c.id = e.contact_id)) as events,
              (select count(*)::int from bounce b where b.contact_id is not null
                  and not exists (select 1 from contact c where c.id = b.contact_id)) as bounces`,
    );
    expect(rows[0]).toEqual({ events: 0, bounces: 0 });
  });
});

/**
 * Whether `write` locks the contacts `low` < `high` in id order: another transaction holds `low`
 * FOR UPDATE; once `write` waits, it tries `high` with NOWAIT, which fails when `write` took
 * `high` first (in its input's or its plan's order) and then waited for `low`. `low` is moved
 * after `high` in the table first, so a scan meets `high` first too.
 */
async function takesIdOrder(low: string, high: string, write: () => Promise<GqlResult<unknown>>) {
  expect(BigInt(low) < BigInt(high)).toBe(true);
  await t.sql.query(`update contact set city = 'moved' where id = $1`, [low]);
  const other: pg.PoolClient = await t.sql.connect();
  let highFree: boolean;
  let answer: GqlResult<unknown>;
  try {
    await other.query('begin');
    await other.query('select 1 from contact where id = $1 for update', [low]);
    const writing = write();
    await lockWaitOf('%contact%', 'the write to wait for the contact locked elsewhere');
    await other.query('savepoint nowait');
    highFree = await other.query('select 1 from contact where id = $1 for update nowait', [high]).then(
      () => true,
      () => false,
    );
    if (!highFree) await other.query('rollback to savepoint nowait');
    await other.query('commit');
    answer = await writing;
  } finally {
    other.release();
  }
  return { highFree, answer };
}

describe('lock order of multi-contact writers', () => {
  it('recordEvents locks its contacts in id order, whatever the order given', async () => {
    const who = await signUpOwner(t, 'EventOrder');
    const low = await createContact({ email: 'low@order.test' }, who);
    const high = await createContact({ email: 'high@order.test' }, who);
    // An account holding most of the table, as measured: the planner then stops reading the
    // account's contacts through its (account_id, id) index, whose order hid the missing sort.
    const many = Array.from({ length: 3000 }, (_, i) => ({ email: `bulk${i}@order.test` }));
    ok(await t.gql(ImportContactsDocument, { input: { rows: many } }, who.token));
    await t.sql.query('analyze contact');
    const events = [high, low].map((contactId) => ({ contactId, type: 'UNSUBSCRIBE' as const }));
    const { highFree, answer } = await takesIdOrder(low, high, () =>
      t.gql(RecordEventsDocument, { events }, who.token),
    );
    expect(answer.errors).toBeUndefined();
    expect(highFree).toBe(true);
  });

  it('a merging import locks the contacts it merges into in id order', async () => {
    const who = await signUpOwner(t, 'MergeOrder');
    // The rows come high first, and high's email sorts first too.
    const low = await createContact({ email: 'z-low@order.test' }, who);
    const high = await createContact({ email: 'a-high@order.test' }, who);
    const rows = [
      { email: 'a-high@order.test', city: 'x' },
      { email: 'z-low@order.test', city: 'y' },
    ];
    const { highFree, answer } = await takesIdOrder(low, high, () =>
      t.gql(ImportContactsDocument, { input: { rows } }, who.token),
    );
    expect(answer.errors).toBeUndefined();
    expect(highFree).toBe(true);
  });
});

describe('contactWrite', () => {
  it('refuses to run inside an outer transaction (a rerun there would meet 25P02)', async () => {
    const viewer = await viewerFromToken(t.app.services.orm.em.fork(), owner.token);
    const em = t.app.services.orm.em.fork();
    await expect(
      em.transactional((tx) =>
        contactWrite({ app: t.app.services, em: tx, viewer: viewer!, ip: null }, async () => 1),
      ),
    ).rejects.toThrow(/cannot be called inside another one/);
  });
});
