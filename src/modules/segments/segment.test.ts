import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateScoreDocument,
  CreateSegmentDocument,
  type Criterion as CriterionInput,
  DeleteScoresDocument,
  DeleteSegmentsDocument,
  DeleteUserDocument,
  PreviewSegmentDocument,
  SegmentContactsDocument,
  SegmentCountDocument,
  SegmentDocument,
  SegmentsDocument,
  type SegmentsQuery,
  UpdateScoreDocument,
  UpdateSegmentDocument,
} from '../../../test/generated/graphql.js';
import {
  type Actor,
  code,
  ok,
  signUpOwner,
  startTestApp,
  type TestApp,
  viewerWith,
} from '../../../test/harness.js';
import { runAndWait, storedScores } from '../scores/testing/helpers.js';

let t: TestApp;
let owner: Actor;
let editor: Actor;
let guest: Actor;
let nobody: Actor;
let other: Actor;
let otherScore: string;
let otherSegment: string;

const FR: CriterionInput = { field: { name: 'country', op: 'EQ', value: 'FR' } };

const create = (who: Actor, name: string, criterion: CriterionInput, description?: string) =>
  t.gql(CreateSegmentDocument, { input: { name, criterion, description } }, who.token);

const createOk = async (name: string, criterion: CriterionInput) =>
  ok(await create(owner, name, criterion)).createSegment.id;

const segmentRows = async (accountId: string) =>
  (
    await t.sql.query<{ id: string; name: string }>(
      'select id::text as id, name from segment where account_id = $1 order by id',
      [accountId],
    )
  ).rows;

const auditOf = async (action: string, objectId: string) =>
  (
    await t.sql.query<{ user_id: string; feature: string; diff: unknown }>(
      'select user_id, feature, diff from audit_entry where action = $1 and object_id = $2',
      [action, objectId],
    )
  ).rows;

const scoreInput = (name: string, criterion: CriterionInput) => ({
  name,
  conditions: [{ criterion, mode: 'FIXED' as const, value: '5' }],
});

beforeAll(async () => {
  t = await startTestApp();
  owner = await signUpOwner(t);
  // USERS >= GUEST: createdBy and updatedBy are users, hidden below it.
  editor = await viewerWith(t, owner, { CONTACTS: 'EDITOR', USERS: 'GUEST' });
  guest = await viewerWith(t, owner, { CONTACTS: 'GUEST' });
  nobody = await viewerWith(t, owner, { CONTACTS: 'NONE' });
  other = await signUpOwner(t, 'Other');
  await t.sql.query(
    `insert into contact_field (account_id, name, label, type) values ($1, 'revenue', 'Revenue', 'NUMBER')`,
    [owner.accountId],
  );
  // 40 contacts: FR for odd i, revenue i; the other account has FR contacts too (never counted).
  await t.sql.query(
    `insert into contact (account_id, email, country, fields)
     select $1, 'c' || i || '@example.com', case when i % 2 = 1 then 'FR' else 'DE' end,
            jsonb_build_object('revenue', i::text)
       from generate_series(1, 40) i`,
    [owner.accountId],
  );
  await t.sql.query(
    `insert into contact (account_id, email, country) select $1, 'o' || i || '@example.com', 'FR' from generate_series(1, 7) i`,
    [other.accountId],
  );
  otherScore = ok(await t.gql(CreateScoreDocument, { input: scoreInput('Theirs', FR) }, other.token))
    .createScore.id;
  otherSegment = ok(await create(other, 'Theirs', FR)).createSegment.id;
});
afterAll(async () => {
  await t?.close();
});

describe('createSegment / updateSegment', () => {
  it('creates, reads back, records who wrote it and audits; updates what is given', async () => {
    const made = ok(await create(owner, '  French  ', FR, 'In France')).createSegment;
    expect(made).toMatchObject({
      name: 'French',
      description: 'In France',
      criterion: FR,
      criterionTree: { field: { name: 'country', op: 'EQ', value: 'FR' } },
      createdBy: { id: owner.userId },
      updatedBy: { id: owner.userId },
    });
    expect(await auditOf('createSegment', made.id)).toEqual([
      {
        user_id: owner.userId,
        feature: 'CONTACTS',
        diff: { name: 'French', description: 'In France', criterion: FR },
      },
    ]);
    const rich: CriterionInput = { all: [FR, { field: { name: 'revenue', op: 'GT', value: '20' } }] };
    const changed = ok(
      await t.gql(UpdateSegmentDocument, { input: { id: made.id, criterion: rich } }, editor.token),
    ).updateSegment;
    expect(changed).toMatchObject({
      name: 'French',
      description: 'In France',
      createdBy: { id: owner.userId },
      updatedBy: { id: editor.userId },
    });
    expect(changed.criterionTree.all?.length).toBe(2);
    expect(new Date(changed.updatedAt).getTime()).toBeGreaterThan(new Date(made.updatedAt).getTime());
    const [audit] = await auditOf('updateSegment', made.id);
    expect(audit).toMatchObject({ user_id: editor.userId, diff: { criterion: { from: FR, to: rich } } });
    ok(await t.gql(UpdateSegmentDocument, { input: { id: made.id, name: 'French rich' } }, owner.token));
    // A GUEST of CONTACTS without USERS reads the segment, not who wrote it.
    expect(ok(await t.gql(SegmentDocument, { id: made.id }, guest.token)).segment).toMatchObject({
      name: 'French rich',
      criterion: rich,
      createdBy: null,
      updatedBy: null,
    });
  });

  it('createdBy and updatedBy are null once that user is deleted; the segment stays', async () => {
    const temp = await viewerWith(t, owner, { CONTACTS: 'EDITOR' });
    const id = ok(await create(temp, 'By a leaver', FR)).createSegment.id;
    expect(ok(await t.gql(SegmentDocument, { id }, owner.token)).segment?.createdBy).toEqual({
      id: temp.userId,
    });
    ok(await t.gql(DeleteUserDocument, { id: temp.userId }, owner.token));
    expect(ok(await t.gql(SegmentDocument, { id }, owner.token)).segment).toMatchObject({
      name: 'By a leaver',
      createdBy: null,
      updatedBy: null,
    });
  });

  it('refuses a name taken in any case (CONFLICT), on create and on rename; other accounts do not count', async () => {
    const id = await createOk('Buyers', FR);
    const before = await segmentRows(owner.accountId);
    expect(code(await create(owner, 'bUYERS', FR))).toBe('CONFLICT');
    const second = await createOk('Sellers', FR);
    expect(
      code(await t.gql(UpdateSegmentDocument, { input: { id: second, name: 'BUYERS ' } }, owner.token)),
    ).toBe('CONFLICT');
    // Its own name in another case is a rename, not a conflict.
    ok(await t.gql(UpdateSegmentDocument, { input: { id, name: 'BUYERS' } }, owner.token));
    expect((await segmentRows(owner.accountId)).length).toBe(before.length + 1);
    ok(await create(other, 'buyers', FR));
  });

  it('refuses bad input with BAD_USER_INPUT and writes nothing', async () => {
    const before = await segmentRows(owner.accountId);
    const bad: [string, CriterionInput][] = [
      ['unknown field', { field: { name: 'nope', op: 'EQ', value: 'x' } }],
      ['wrong op for the type', { field: { name: 'revenue', op: 'CONTAINS', value: '1' } }],
      ['not a number', { field: { name: 'revenue', op: 'GT', value: 'many' } }],
      ['empty all', { all: [] }],
    ];
    for (const [why, criterion] of bad)
      expect(code(await create(owner, `Bad ${why}`, criterion)), why).toBe('BAD_USER_INPUT');
    expect(code(await create(owner, '   ', FR))).toBe('BAD_USER_INPUT');
    expect(code(await create(owner, 'x'.repeat(201), FR))).toBe('BAD_USER_INPUT');
    expect(await segmentRows(owner.accountId)).toEqual(before);
  });

  it("answers NOT_FOUND for another account's score or segment in a criterion, and for its segment id", async () => {
    const before = await segmentRows(owner.accountId);
    expect(
      code(await create(owner, 'Theirs score', { score: { scoreId: otherScore, op: 'GT', value: '1' } })),
    ).toBe('NOT_FOUND');
    expect(code(await create(owner, 'Theirs segment', { segment: { segmentId: otherSegment } }))).toBe(
      'NOT_FOUND',
    );
    expect(
      code(
        await t.gql(
          PreviewSegmentDocument,
          { criterion: { segment: { segmentId: otherSegment } } },
          owner.token,
        ),
      ),
    ).toBe('NOT_FOUND');
    expect(code(await t.gql(SegmentDocument, { id: otherSegment }, owner.token))).toBe('NOT_FOUND');
    expect(code(await t.gql(SegmentDocument, { id: 'not-an-id' }, owner.token))).toBe('NOT_FOUND');
    expect(
      code(await t.gql(UpdateSegmentDocument, { input: { id: otherSegment, name: 'Mine' } }, owner.token)),
    ).toBe('NOT_FOUND');
    expect(
      ok(await t.gql(DeleteSegmentsDocument, { ids: [otherSegment] }, owner.token)).deleteSegments,
    ).toEqual([]);
    expect(ok(await t.gql(SegmentDocument, { id: otherSegment }, other.token)).segment?.name).toBe('Theirs');
    expect(await segmentRows(owner.accountId)).toEqual(before);
  });

  it('refuses more than 500 conditions once the segments it names are inlined', async () => {
    const fifty: CriterionInput = {
      any: Array.from({ length: 50 }, (_, i) => ({
        field: { name: 'revenue', op: 'EQ' as const, value: String(i) },
      })),
    };
    const big = await createOk('Fifty', fifty);
    const refs = (n: number): CriterionInput => ({
      any: Array.from({ length: n }, () => ({ segment: { segmentId: big } })),
    });
    ok(await create(owner, 'Nine times fifty', refs(9)));
    expect(code(await create(owner, 'Eleven times fifty', refs(11)))).toBe('BAD_USER_INPUT');
    expect((await segmentRows(owner.accountId)).some((s) => s.name === 'Eleven times fifty')).toBe(false);
  });
});

describe('cycles and scores reading segments', () => {
  it('refuses a segment reading itself, directly or through another', async () => {
    const a = await createOk('Cycle A', FR);
    const b = await createOk('Cycle B', { segment: { segmentId: a } });
    const self = await t.gql(
      UpdateSegmentDocument,
      { input: { id: a, criterion: { segment: { segmentId: a } } } },
      owner.token,
    );
    expect(code(self)).toBe('BAD_USER_INPUT');
    const chain = await t.gql(
      UpdateSegmentDocument,
      { input: { id: a, criterion: { not: { segment: { segmentId: b } } } } },
      owner.token,
    );
    expect(code(chain)).toBe('BAD_USER_INPUT');
    expect(ok(await t.gql(SegmentDocument, { id: a }, owner.token)).segment?.criterion).toEqual(FR);
  });

  it('two concurrent updates cannot close a cycle together (one is refused)', async () => {
    for (let round = 0; round < 3; round++) {
      const a = await createOk(`Race A ${round}`, FR);
      const b = await createOk(`Race B ${round}`, FR);
      const [ra, rb] = await Promise.all([
        t.gql(
          UpdateSegmentDocument,
          { input: { id: a, criterion: { segment: { segmentId: b } } } },
          owner.token,
        ),
        t.gql(
          UpdateSegmentDocument,
          { input: { id: b, criterion: { segment: { segmentId: a } } } },
          owner.token,
        ),
      ]);
      expect([code(ra), code(rb)].sort(), `round ${round}`).toEqual(['BAD_USER_INPUT', null]);
    }
  });

  it('two concurrent creations of one name: one CONFLICT', async () => {
    const rs = await Promise.all(['Twin', 'TWIN', 'twin'].map((n) => create(owner, n, FR)));
    expect(rs.map(code).sort()).toEqual(['CONFLICT', 'CONFLICT', null]);
    expect((await segmentRows(owner.accountId)).filter((s) => s.name.toLowerCase() === 'twin')).toHaveLength(
      1,
    );
  });

  it('refuses a cycle through a score, from either side', async () => {
    // Segment S reads score X; X may not then read S.
    const x = ok(await t.gql(CreateScoreDocument, { input: scoreInput('Score X', FR) }, owner.token))
      .createScore.id;
    const s = await createOk('Reads X', { score: { scoreId: x, op: 'GT', value: '1' } });
    const viaScore = await t.gql(
      UpdateScoreDocument,
      { input: { id: x, conditions: scoreInput('', { segment: { segmentId: s } }).conditions } },
      owner.token,
    );
    expect(code(viaScore)).toBe('BAD_USER_INPUT');
    // Score Y reads segment T; T may not then read Y.
    const tSeg = await createOk('Read by Y', FR);
    const y = ok(
      await t.gql(
        CreateScoreDocument,
        { input: scoreInput('Score Y', { segment: { segmentId: tSeg } }) },
        owner.token,
      ),
    ).createScore.id;
    const viaSegment = await t.gql(
      UpdateSegmentDocument,
      { input: { id: tSeg, criterion: { score: { scoreId: y, op: 'GT', value: '0' } } } },
      owner.token,
    );
    expect(code(viaSegment)).toBe('BAD_USER_INPUT');
  });

  it("refuses a change that would break a score reading the segment (its mode's shape), and one too large for a reader", async () => {
    const clicks = await createOk('Clickers', { event: { type: 'EMAIL_CLICK' } });
    const perEvent = ok(
      await t.gql(
        CreateScoreDocument,
        {
          input: {
            name: 'Per click',
            conditions: [
              { criterion: { segment: { segmentId: clicks } }, mode: 'FIXED_PER_EVENT', value: '1' },
            ],
          },
        },
        owner.token,
      ),
    ).createScore.id;
    // FIXED_PER_EVENT needs events: the score's next run could not compile a field here.
    const broken = await t.gql(UpdateSegmentDocument, { input: { id: clicks, criterion: FR } }, owner.token);
    expect(code(broken)).toBe('BAD_USER_INPUT');
    expect(broken.errors?.[0].extensions).toMatchObject({ scoreId: perEvent });
    expect(ok(await t.gql(SegmentDocument, { id: clicks }, owner.token)).segment?.criterion).toEqual({
      event: { type: 'EMAIL_CLICK' },
    });
    // Still an event: accepted.
    ok(
      await t.gql(
        UpdateSegmentDocument,
        { input: { id: clicks, criterion: { event: { type: 'EMAIL_CLICK', withinDays: 30 } } } },
        owner.token,
      ),
    );

    const ten: CriterionInput = {
      any: Array.from({ length: 10 }, (_, i) => ({
        field: { name: 'revenue', op: 'EQ' as const, value: String(i) },
      })),
    };
    const small = await createOk('Ten', ten);
    const reader = await createOk('Reads Ten 45 times', {
      any: Array.from({ length: 45 }, () => ({ segment: { segmentId: small } })),
    });
    const grown = await t.gql(
      UpdateSegmentDocument,
      { input: { id: small, criterion: { any: [...(ten.any ?? []), FR, FR] } } },
      owner.token,
    );
    expect(code(grown)).toBe('BAD_USER_INPUT');
    expect(grown.errors?.[0].extensions).toMatchObject({ segmentId: reader });
  });

  it('a score with a segment criterion gives its value to the members only', async () => {
    const seg = await createOk('Rich French', {
      all: [FR, { field: { name: 'revenue', op: 'GTE', value: '30' } }],
    });
    const score = ok(
      await t.gql(
        CreateScoreDocument,
        { input: scoreInput('From segment', { segment: { segmentId: seg } }) },
        owner.token,
      ),
    ).createScore.id;
    const run = await runAndWait(t, owner);
    expect(run.status).toBe('DONE');
    const { rows } = await t.sql.query<{ id: string }>(
      `select id::text as id from contact where account_id = $1 and country = 'FR' and (fields->>'revenue')::numeric >= 30`,
      [owner.accountId],
    );
    expect(rows.length).toBe(5); // 31, 33, 35, 37, 39
    const stored = await storedScores(t, [score]);
    const nonZero = Object.entries(stored)
      .filter(([, v]) => v !== '0')
      .map(([k, v]) => [k.split('/')[1], v]);
    expect(Object.fromEntries(nonZero)).toEqual(Object.fromEntries(rows.map((r) => [r.id, '5'])));
  });
});

describe('deleteSegments', () => {
  it('answers CONFLICT naming the segment or score that still reads one, and deletes nothing then', async () => {
    const used = await createOk('Used', FR);
    const free = await createOk('Free', FR);
    const reader = await createOk('Reader', { not: { segment: { segmentId: used } } });
    const bySegment = await t.gql(DeleteSegmentsDocument, { ids: [free, used] }, owner.token);
    expect(code(bySegment)).toBe('CONFLICT');
    expect(bySegment.errors?.[0].extensions).toMatchObject({ segmentId: used, usedBy: `segment:${reader}` });
    expect(bySegment.errors?.[0].message).toContain(reader);
    const ids = (await segmentRows(owner.accountId)).map((s) => s.id);
    expect(ids).toEqual(expect.arrayContaining([used, free, reader]));
    expect(await auditOf('deleteSegment', free)).toEqual([]);

    const score = ok(
      await t.gql(
        CreateScoreDocument,
        { input: scoreInput('Reads Free', { segment: { segmentId: free } }) },
        owner.token,
      ),
    ).createScore.id;
    const byScore = await t.gql(DeleteSegmentsDocument, { ids: [free] }, owner.token);
    expect(code(byScore)).toBe('CONFLICT');
    expect(byScore.errors?.[0].extensions).toMatchObject({ segmentId: free, usedBy: `score:${score}` });

    // Deleting the reader with what it reads is allowed: nothing left uses them.
    const gone = ok(
      await t.gql(DeleteSegmentsDocument, { ids: [reader, used, used.toUpperCase()] }, owner.token),
    );
    expect([...gone.deleteSegments].sort()).toEqual([reader, used].sort());
    expect((await segmentRows(owner.accountId)).map((s) => s.id)).not.toContain(used);
    expect(await auditOf('deleteSegment', used)).toMatchObject([
      { user_id: owner.userId, feature: 'CONTACTS' },
    ]);
    expect(await auditOf('deleteSegment', reader)).toHaveLength(1);
  });
});

describe('limits', () => {
  it('deleteSegments takes at most 100 ids; a search longer than a name and a bad page size are refused', async () => {
    const id = await createOk('Limits', FR);
    const ids = [id, ...Array.from({ length: 100 }, () => crypto.randomUUID())];
    expect(code(await t.gql(DeleteSegmentsDocument, { ids }, owner.token))).toBe('BAD_USER_INPUT');
    expect((await segmentRows(owner.accountId)).map((s) => s.id)).toContain(id);
    expect(code(await t.gql(SegmentsDocument, { filter: { search: 'x'.repeat(201) } }, owner.token))).toBe(
      'BAD_USER_INPUT',
    );
    for (const first of [0, 201])
      expect(code(await t.gql(SegmentsDocument, { first }, owner.token)), String(first)).toBe(
        'BAD_USER_INPUT',
      );
    const page = `query($id: ID!, $first: Int) { segment(id: $id) { contacts(first: $first) { nodes { id } } } }`;
    for (const first of [0, 201])
      expect(code(await t.gql(page, { id, first }, owner.token)), String(first)).toBe('BAD_USER_INPUT');
  });

  it('search matches % and _ literally', async () => {
    await createOk('100% buyers', FR);
    await createOk('100 buyers', FR);
    await createOk('a_b', FR);
    await createOk('axb', FR);
    const names = async (search: string) =>
      ok(await t.gql(SegmentsDocument, { filter: { search } }, owner.token)).segments.nodes.map(
        (s) => s.name,
      );
    expect(await names('0%')).toEqual(['100% buyers']);
    expect(await names('a_')).toEqual(['a_b']);
  });

  it('deleteScores refuses a score a segment still reads (CONFLICT naming the segment)', async () => {
    const score = ok(
      await t.gql(CreateScoreDocument, { input: scoreInput('Read by a segment', FR) }, owner.token),
    ).createScore.id;
    const seg = await createOk('Reads a score', { score: { scoreId: score, op: 'GTE', value: '5' } });
    const r = await t.gql(DeleteScoresDocument, { ids: [score] }, owner.token);
    expect(code(r)).toBe('CONFLICT');
    expect(r.errors?.[0].extensions).toMatchObject({ scoreId: score, usedBy: `segment:${seg}` });
  });
});

describe('segments, segment, count', () => {
  it('pages by name with a search filter, and every page is disjoint', async () => {
    for (const n of ['Page e', 'page B', 'Page d', 'PAGE a', 'Page c', 'Not listed']) await createOk(n, FR);
    const names: string[] = [];
    let after: string | null | undefined = null;
    for (let i = 0; i < 10; i++) {
      const r: SegmentsQuery['segments'] = ok(
        await t.gql(SegmentsDocument, { filter: { search: 'pAgE' }, first: 2, after }, guest.token),
      ).segments;
      names.push(...r.nodes.map((s) => s.name));
      if (!r.pageInfo.hasNextPage) break;
      after = r.pageInfo.endCursor;
    }
    const { rows } = await t.sql.query<{ name: string }>(
      `select name from segment where account_id = $1 and name ilike '%page%' order by name, id`,
      [owner.accountId],
    );
    expect(names).toEqual(rows.map((r) => r.name));
    expect(names).toHaveLength(5);
    expect(code(await t.gql(SegmentsDocument, { after: 'garbage' }, owner.token))).toBe('BAD_USER_INPUT');
  });

  it('counts exactly what a direct SQL count gives, only in the account, live', async () => {
    const criterion: CriterionInput = {
      any: [
        { all: [FR, { field: { name: 'revenue', op: 'LT', value: '15' } }] },
        { field: { name: 'revenue', op: 'IN', values: ['40', '2'] } },
      ],
    };
    const id = await createOk('Counted', criterion);
    const direct = async () =>
      Number(
        (
          await t.sql.query(
            `select count(*) as n from contact where account_id = $1
               and ((country = 'FR' and (fields->>'revenue')::numeric < 15) or (fields->>'revenue')::numeric in (40, 2))`,
            [owner.accountId],
          )
        ).rows[0].n,
      );
    const expected = await direct();
    expect(expected).toBe(9); // 1..13 odd (7) + 2 + 40
    expect(ok(await t.gql(SegmentCountDocument, { id }, guest.token)).segment?.count).toBe(expected);
    await t.sql.query(
      `update contact set country = 'FR' where account_id = $1 and email = 'c4@example.com'`,
      [owner.accountId],
    );
    expect(ok(await t.gql(SegmentCountDocument, { id }, guest.token)).segment?.count).toBe(await direct());
    expect(await direct()).toBe(expected + 1);
  });
});

describe('rights', () => {
  it('GUEST reads, counts and previews but cannot write (FORBIDDEN, nothing written)', async () => {
    const id = await createOk('Guest sees', FR);
    expect(ok(await t.gql(SegmentDocument, { id }, guest.token)).segment?.name).toBe('Guest sees');
    expect(ok(await t.gql(SegmentCountDocument, { id }, guest.token)).segment?.count).toBeGreaterThan(0);
    const members = ok(await t.gql(SegmentContactsDocument, { id, first: 3 }, guest.token)).segment;
    expect(members?.contacts.nodes).toHaveLength(3);
    expect(
      ok(await t.gql(PreviewSegmentDocument, { criterion: FR }, guest.token)).previewSegment.count,
    ).toBeGreaterThan(0);
    const before = await segmentRows(owner.accountId);
    const audits = async () => Number((await t.sql.query('select count(*) as n from audit_entry')).rows[0].n);
    const auditBefore = await audits();
    expect(code(await create(guest, 'Guest made', FR))).toBe('FORBIDDEN');
    expect(
      code(await t.gql(UpdateSegmentDocument, { input: { id, name: 'Guest renamed' } }, guest.token)),
    ).toBe('FORBIDDEN');
    expect(code(await t.gql(DeleteSegmentsDocument, { ids: [id] }, guest.token))).toBe('FORBIDDEN');
    expect(await segmentRows(owner.accountId)).toEqual(before);
    expect(await audits()).toBe(auditBefore);
  });

  it('NONE gets nothing', async () => {
    const id = await createOk('None sees nothing', FR);
    const one = await t.gql(SegmentDocument, { id }, nobody.token);
    expect(code(one)).toBe('FORBIDDEN');
    expect(one.data?.segment ?? null).toBeNull();
    expect(code(await t.gql(SegmentsDocument, {}, nobody.token))).toBe('FORBIDDEN');
    expect(code(await t.gql(PreviewSegmentDocument, { criterion: FR }, nobody.token))).toBe('FORBIDDEN');
  });
});
