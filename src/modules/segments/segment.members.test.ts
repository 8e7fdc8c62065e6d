import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateSegmentDocument,
  type Criterion,
  PreviewSegmentDocument,
} from '../../../test/generated/graphql.js';
import { type Actor, code, ok, signUpOwner, startTestApp, type TestApp } from '../../../test/harness.js';
import { events } from '../scores/testing/helpers.js';

let t: TestApp;
let owner: Actor;
let segmentId: string;
let scoreId: string;

const ORDERS = ['ID', 'EMAIL', 'LAST_NAME', 'CREATED_AT'] as const;
type Order = (typeof ORDERS)[number];
/** The order each ContactOrderField names, in SQL: NULL as empty text, ties by id (the API's documented order). */
const SQL_ORDER: Record<Order, string> = {
  ID: 'c.id',
  EMAIL: "coalesce(c.email, '')",
  LAST_NAME: "coalesce(c.last_name, '')",
  CREATED_AT: 'c.created_at',
};

interface Conn {
  nodes: { id: string }[];
  edges: { cursor: string }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

const CONTACTS = `query($first: Int, $after: String, $orderBy: ContactOrder) {
  contacts(first: $first, after: $after, orderBy: $orderBy) {
    nodes { id } edges { cursor } pageInfo { hasNextPage endCursor } } }`;
const MEMBERS = `query($id: ID!, $first: Int, $after: String, $orderBy: ContactOrder) {
  segment(id: $id) { contacts(first: $first, after: $after, orderBy: $orderBy) {
    nodes { id } edges { cursor } pageInfo { hasNextPage endCursor } } } }`;

/** Every id of a connection, page after page, from its endCursor. */
async function walk(page: (after: string | null) => Promise<Conn>): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  for (let i = 0; i < 100; i++) {
    const p = await page(after);
    expect(p.edges.length).toBe(p.nodes.length);
    ids.push(...p.nodes.map((n) => n.id));
    if (!p.pageInfo.hasNextPage) return ids;
    after = p.pageInfo.endCursor;
  }
  throw new Error('more than 100 pages');
}

const orderBy = (field: Order, desc: boolean) => ({ field, desc });

const membersWalk = (field: Order, desc: boolean, first: number, id = segmentId) =>
  walk(
    async (after) =>
      ok(
        await t.gql<{ segment: { contacts: Conn } }, Record<string, unknown>>(
          MEMBERS,
          { id, first, after, orderBy: orderBy(field, desc) },
          owner.token,
        ),
      ).segment.contacts,
  );

const contactsWalk = (field: Order, desc: boolean, first: number) =>
  walk(
    async (after) =>
      ok(
        await t.gql<{ contacts: Conn }, Record<string, unknown>>(
          CONTACTS,
          { first, after, orderBy: orderBy(field, desc) },
          owner.token,
        ),
      ).contacts,
  );

/**
 * The members by hand-written SQL over the raw tables (no criterion compiler). The click leaf is
 * the contacts given a click in beforeAll (just now, so within the 7 days), by id.
 */
const MEMBER_SQL = `c.account_id = $1 and (
    (c.country = 'FR' and coalesce(c.email, '') <> '')
    or exists (select 1 from contact_score cs where cs.contact_id = c.id and cs.score_id = $2 and cs.value > 3)
    or c.id = any($3::bigint[])
  ) and c.last_name is distinct from 'Dupont'`;
let clicked: string[] = [];
let zeroId: string;
let visitId: string;
let visited: string[] = [];
/**
 * A third: an event with a url reads the raw events, correlated on the contact, so its set form
 * binds no account (a page in another order than id once failed on that unused, untyped $n).
 */
const VISIT_SQL = `c.account_id = $1 and c.id = any($3::bigint[]) and $2::uuid is not null`;
/**
 * A second segment whose set form takes the other shapes: a score test that contacts without a
 * row (0) pass (NOT IN), and a negated event.
 */
const ZERO_SQL = `c.account_id = $1
    and coalesce((select cs.value from contact_score cs where cs.contact_id = c.id and cs.score_id = $2), 0) <= 2
    and not (c.id = any($3::bigint[]))`;

async function expectedMembers(
  field: Order,
  desc: boolean,
  where = MEMBER_SQL,
  ids: string[] = clicked,
): Promise<string[]> {
  const dir = desc ? 'desc' : 'asc';
  const { rows } = await t.sql.query<{ id: string }>(
    `select c.id::text as id from contact c where ${where} order by ${SQL_ORDER[field]} ${dir}, c.id ${dir}`,
    [owner.accountId, scoreId, ids],
  );
  return rows.map((r) => r.id);
}

beforeAll(async () => {
  t = await startTestApp();
  owner = await signUpOwner(t);
  const a = owner.accountId;
  // 48 contacts with ties and nulls in every order: 6 last names (null and '' among them, cases
  // and accents), emails missing on some, 4 creation times shared by 12 contacts each.
  await t.sql.query(
    `insert into contact (account_id, email, last_name, country, created_at)
     select $1, case when i % 7 = 0 then null else 'c' || (i % 13) || '.' || i || '@x.test' end,
            (array[null, 'Martin', 'martin', 'Dupont', '', 'Éric'])[i % 6 + 1],
            case when i % 3 = 0 then 'DE' else 'FR' end,
            timestamptz '2026-01-01 10:00:00.123456+00' + (i % 4) * interval '1 minute'
       from generate_series(1, 48) i`,
    [a],
  );
  scoreId = (
    await t.sql.query<{ id: string }>(
      `insert into score (account_id, name) values ($1, 'Heat') returning id::text as id`,
      [a],
    )
  ).rows[0].id;
  await t.sql.query(
    `insert into contact_score (score_id, contact_id, account_id, value)
     select $2, id, $1, id % 8 from contact where account_id = $1 and id % 2 = 0`,
    [a, scoreId],
  );
  const ids = (
    await t.sql.query<{ id: string }>(
      `select id::text as id from contact where account_id = $1 and country = 'DE' order by id limit 4`,
      [a],
    )
  ).rows.map((r) => r.id);
  clicked = ids;
  await events(
    t,
    owner,
    ids.map((contactId) => ({ contactId, type: 'EMAIL_CLICK' as const })),
  );
  const criterion: Criterion = {
    all: [
      {
        any: [
          { all: [{ field: { name: 'country', op: 'EQ', value: 'FR' } }, { hasEmail: true }] },
          { score: { scoreId, op: 'GT', value: '3' } },
          { event: { type: 'EMAIL_CLICK', withinDays: 7 } },
        ],
      },
      { not: { field: { name: 'lastName', op: 'EQ', value: 'Dupont' } } },
    ],
  };
  segmentId = ok(await t.gql(CreateSegmentDocument, { input: { name: 'Mixed', criterion } }, owner.token))
    .createSegment.id;
  const zero: Criterion = {
    all: [{ score: { scoreId, op: 'LTE', value: '2' } }, { not: { event: { type: 'EMAIL_CLICK' } } }],
  };
  zeroId = ok(await t.gql(CreateSegmentDocument, { input: { name: 'Zero', criterion: zero } }, owner.token))
    .createSegment.id;
  visited = (
    await t.sql.query<{ id: string }>(
      `select id::text as id from contact where account_id = $1 and id % 5 = 1 order by id`,
      [a],
    )
  ).rows.map((r) => r.id);
  await events(
    t,
    owner,
    visited.map((contactId) => ({
      contactId,
      type: 'SITE_VISIT' as const,
      url: 'https://Shop.example/sale/shoes',
    })),
  );
  // And one visit elsewhere that must not count.
  await events(t, owner, [{ contactId: clicked[0], type: 'SITE_VISIT', url: 'https://shop.example/about' }]);
  const visit: Criterion = {
    event: { type: 'SITE_VISIT', url: 'https://shop.example/sale/', urlMatch: 'PREFIX' },
  };
  visitId = ok(
    await t.gql(CreateSegmentDocument, { input: { name: 'Visited', criterion: visit } }, owner.token),
  ).createSegment.id;
});
afterAll(async () => {
  await t?.close();
});

describe('Segment.contacts', () => {
  it('the fixture has members and non-members, ties and nulls in each order', async () => {
    const members = await expectedMembers('ID', false);
    expect(members.length).toBeGreaterThan(20);
    expect(members.length).toBeLessThan(44);
    const { rows } = await t.sql.query(
      `select count(*) filter (where c.last_name is null) as nulls, count(*) filter (where c.email is null) as no_email,
              count(distinct c.created_at) as times, count(*) filter (where c.id = any($3::bigint[])) as clicked
         from contact c where ${MEMBER_SQL}`,
      [owner.accountId, scoreId, clicked],
    );
    expect(Number(rows[0].nulls)).toBeGreaterThan(1);
    expect(Number(rows[0].no_email)).toBeGreaterThan(1);
    expect(Number(rows[0].times)).toBe(4);
    expect(Number(rows[0].clicked)).toBeGreaterThan(0);
  });

  for (const field of ORDERS)
    for (const desc of [false, true])
      it(`${field} ${desc ? 'desc' : 'asc'}: the pages hold exactly the members, in the order of contacts`, async () => {
        const all = await contactsWalk(field, desc, 7);
        for (const [id, where] of [
          [segmentId, MEMBER_SQL],
          [zeroId, ZERO_SQL],
          [visitId, VISIT_SQL],
        ]) {
          const expected = await expectedMembers(field, desc, where, id === visitId ? visited : clicked);
          expect(expected.length).toBeGreaterThan(5);
          const members = await membersWalk(field, desc, 4, id);
          expect(members).toEqual(expected);
          const set = new Set(expected);
          expect(all.filter((c) => set.has(c))).toEqual(members);
        }
      });

  it('a cursor is only valid in its own order', async () => {
    const first = ok(
      await t.gql<{ segment: { contacts: Conn } }, Record<string, unknown>>(
        MEMBERS,
        { id: segmentId, first: 3, orderBy: orderBy('LAST_NAME', false) },
        owner.token,
      ),
    ).segment.contacts;
    const other = await t.gql(
      MEMBERS,
      { id: segmentId, first: 3, after: first.pageInfo.endCursor, orderBy: orderBy('EMAIL', false) },
      owner.token,
    );
    expect(code(other)).toBe('BAD_USER_INPUT');
  });
});

describe('previewSegment', () => {
  const criterion: Criterion = { field: { name: 'country', op: 'EQ', value: 'FR' } };
  const fr = async () =>
    (
      await t.sql.query<{ id: string }>(
        `select c.id::text as id from contact c where c.account_id = $1 and c.country = 'FR' order by c.id`,
        [owner.accountId],
      )
    ).rows.map((r) => r.id);

  it('counts and lists the first 20 by id by default, up to 50', async () => {
    const expected = await fr();
    expect(expected.length).toBeGreaterThan(20);
    const p = ok(await t.gql(PreviewSegmentDocument, { criterion }, owner.token)).previewSegment;
    expect(p.count).toBe(expected.length);
    expect(p.contacts.map((c) => c.id)).toEqual(expected.slice(0, 20));
    const big = ok(await t.gql(PreviewSegmentDocument, { criterion, first: 50 }, owner.token)).previewSegment;
    expect(big.contacts.map((c) => c.id)).toEqual(expected.slice(0, 50));
  });

  it('refuses first past 50 or below 1 (BAD_USER_INPUT), and a bad criterion', async () => {
    for (const first of [51, 0, -1])
      expect(
        code(await t.gql(PreviewSegmentDocument, { criterion, first }, owner.token)),
        String(first),
      ).toBe('BAD_USER_INPUT');
    const bad = { field: { name: 'nope', op: 'EQ', value: 'x' } } as Criterion;
    expect(code(await t.gql(PreviewSegmentDocument, { criterion: bad }, owner.token))).toBe('BAD_USER_INPUT');
  });
});

/**
 * Counts the statements sent to PostgreSQL while `fn` runs, on every pool of this process (the
 * ORM's, the bounded-read pool's): pg.Client.prototype.query is what all of them call. Only
 * those on contacts and segments: Agenda's polling of its own table may interleave.
 */
async function statementsDuring(fn: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    const q = args[0];
    const text = typeof q === 'string' ? q : ((q as { text?: string } | null)?.text ?? '');
    if (/\bcontact\b|\bsegment\b|contact_field/.test(text)) seen.push(text);
    return original.apply(this, args);
  };
  try {
    await fn();
  } finally {
    proto.query = original;
  }
  return seen;
}

/** loadTargetEnv's statement (target-env.ts): its union reads the account's time zone. */
const isEnvLoad = (sql: string) => sql.includes("'tz'");

describe('Segment.count over a page of segments', () => {
  it('reads the targeting environment once for the page, and counts each exactly', async () => {
    const QUERY = `{ segments(first: 50) { nodes { id count } } }`;
    let got: { segments: { nodes: { id: string; count: number }[] } } | undefined;
    const seen = await statementsDuring(async () => {
      got = ok(
        await t.gql<{ segments: { nodes: { id: string; count: number }[] } }, Record<string, never>>(
          QUERY,
          {},
          owner.token,
        ),
      );
    });
    const nodes = got?.segments.nodes ?? [];
    expect(nodes.length).toBeGreaterThan(1);
    expect(seen.filter(isEnvLoad)).toHaveLength(1);
    const counts = Object.fromEntries(nodes.map((n) => [n.id, n.count]));
    expect(counts[segmentId]).toBe((await expectedMembers('ID', false)).length);
    expect(counts[zeroId]).toBe((await expectedMembers('ID', false, ZERO_SQL)).length);
  });
});

describe('Contact.segments', () => {
  const QUERY = `query($first: Int) { contacts(first: $first) { nodes { id segments { id name } } } }`;

  it('is right for every contact of a page, in a number of statements that does not grow with the page', async () => {
    const names = ['Alpha: FR', 'Beta: not FR', 'Gamma: member of Mixed'];
    const criteria: Criterion[] = [
      { field: { name: 'country', op: 'EQ', value: 'FR' } },
      { not: { field: { name: 'country', op: 'EQ', value: 'FR' } } },
      { segment: { segmentId } },
    ];
    const ids: Record<string, string> = {};
    for (const [i, name] of names.entries())
      ids[name] = ok(
        await t.gql(CreateSegmentDocument, { input: { name, criterion: criteria[i] } }, owner.token),
      ).createSegment.id;

    const run = (first: number) =>
      t.gql<
        { contacts: { nodes: { id: string; segments: { id: string; name: string }[] }[] } },
        { first: number }
      >(QUERY, { first }, owner.token);
    let small: Awaited<ReturnType<typeof run>> | undefined;
    let large: Awaited<ReturnType<typeof run>> | undefined;
    const few = await statementsDuring(async () => {
      small = await run(2);
    });
    const many = await statementsDuring(async () => {
      large = await run(40);
    });
    expect(ok(small as Awaited<ReturnType<typeof run>>).contacts.nodes).toHaveLength(2);
    const nodes = ok(large as Awaited<ReturnType<typeof run>>).contacts.nodes;
    expect(nodes).toHaveLength(40);
    expect(many.length).toBe(few.length);
    // The page, the segments, the environment, the memberships: a handful, not one per contact.
    expect(many.length).toBeLessThan(10);
    // The targeting environment (fields, scores, segments, time zone) is read once.
    expect(many.filter(isEnvLoad)).toHaveLength(1);

    const members = new Set(await expectedMembers('ID', false));
    const zero = new Set(await expectedMembers('ID', false, ZERO_SQL));
    const { rows } = await t.sql.query<{ id: string; country: string }>(
      'select id::text as id, country from contact where account_id = $1',
      [owner.accountId],
    );
    const country = new Map(rows.map((r) => [r.id, r.country]));
    for (const n of nodes) {
      const expected = [
        ...(country.get(n.id) === 'FR' ? ['Alpha: FR'] : ['Beta: not FR']),
        ...(members.has(n.id) ? ['Gamma: member of Mixed', 'Mixed'] : []),
        ...(zero.has(n.id) ? ['Zero'] : []),
        ...(visited.includes(n.id) ? ['Visited'] : []),
      ].sort();
      expect(n.segments.map((s) => s.name).sort(), n.id).toEqual(expected);
      expect(
        n.segments.map((s) => s.name),
        'by name',
      ).toEqual([...n.segments.map((s) => s.name)].sort());
    }
  });
});
