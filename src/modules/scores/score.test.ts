import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ContactScoresDocument,
  type ContactScoresQuery,
  CreateScoreDocument,
  DefineContactFieldDocument,
  DeleteScoresDocument,
  RunScoreComputationDocument,
  ScoresDocument,
  UpdateScoreDocument,
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
import { contact, dec, events, mul, runAndWait, storedScores, str, sum } from './testing/helpers.js';

let t: TestApp;
let owner: Actor;
let editor: Actor;
let guest: Actor;
const c: Record<string, string> = {};
let scoreA = '';
let scoreB = '';

// The conditions of score A, as numbers for the expected values below.
const PARIS = dec('10');
const CHURN = dec('-15');
const COEF = dec('1.25');
const PER_EVENT = dec('1.25');

beforeAll(async () => {
  t = await startTestApp();
  owner = await signUpOwner(t);
  editor = await viewerWith(t, owner, { CONTACTS: 'EDITOR' });
  guest = await viewerWith(t, owner, { CONTACTS: 'GUEST' });
  ok(await t.gql(DefineContactFieldDocument, { input: { name: 'revenue', type: 'NUMBER' } }, owner.token));
  ok(await t.gql(DefineContactFieldDocument, { input: { name: 'segment', type: 'TEXT' } }, owner.token));
  c.paris = await contact(t, owner, {
    email: 'paris@x.test',
    city: 'Paris',
    fields: [{ name: 'revenue', value: '100' }],
  });
  c.churn = await contact(t, owner, { email: 'churn@x.test', fields: [{ name: 'segment', value: 'churn' }] });
  c.none = await contact(t, owner, { email: 'none@x.test', city: 'Lyon' });
  c.both = await contact(t, owner, {
    email: 'both@x.test',
    city: 'Paris',
    fields: [
      { name: 'segment', value: 'churn' },
      { name: 'revenue', value: '0.08' },
    ],
  });
  await events(t, owner, [
    { contactId: c.paris, type: 'EMAIL_OPEN' },
    { contactId: c.paris, type: 'EMAIL_OPEN' },
    { contactId: c.paris, type: 'EMAIL_CLICK' },
    { contactId: c.churn, type: 'EMAIL_OPEN' },
    { contactId: c.none, type: 'SMS_CLICK' },
  ]);
});
afterAll(() => t.close());

const conditionsA = [
  {
    criterion: { field: { name: 'city', op: 'EQ' as const, value: 'Paris' } },
    mode: 'FIXED' as const,
    value: '10',
  },
  {
    criterion: { field: { name: 'segment', op: 'EQ' as const, value: 'churn' } },
    mode: 'FIXED' as const,
    value: '-15',
  },
  {
    criterion: { field: { name: 'revenue', op: 'IS_SET' as const } },
    mode: 'FIELD_VALUE' as const,
    coefficient: '1.25',
  },
  {
    criterion: {
      any: [{ event: { type: 'EMAIL_OPEN' as const } }, { event: { type: 'EMAIL_CLICK' as const } }],
    },
    mode: 'FIXED_PER_EVENT' as const,
    value: '1.25',
  },
];

describe('scores: definitions', () => {
  it('creates a score with the [SCORE] prefix, exact decimals and the four kinds of condition (EDITOR)', async () => {
    const s = ok(
      await t.gql(
        CreateScoreDocument,
        { input: { name: 'Engagement', description: 'How engaged', conditions: conditionsA } },
        editor.token,
      ),
    ).createScore;
    scoreA = s.id;
    expect(s.name).toBe('[SCORE] Engagement');
    expect(s.conditions.map((x) => [x.mode, x.value, x.coefficient])).toEqual([
      ['FIXED', '10', '1'],
      ['FIXED', '-15', '1'],
      ['FIELD_VALUE', '0', '1.25'],
      ['FIXED_PER_EVENT', '1.25', '1'],
    ]);
    const kept = ok(
      await t.gql(
        CreateScoreDocument,
        {
          input: {
            name: '[LEAD] Hot',
            conditions: [
              {
                criterion: { score: { scoreId: scoreA, op: 'GTE', value: '100' } },
                mode: 'FIXED',
                value: '5',
              },
              {
                criterion: { event: { type: 'EMAIL_CLICK', withinDays: 30, minCount: 1 } },
                mode: 'FIXED',
                value: '2',
              },
            ],
          },
        },
        editor.token,
      ),
    ).createScore;
    scoreB = kept.id;
    expect(kept.name).toBe('[LEAD] Hot');
  });

  it('refuses FIELD_VALUE on a non-NUMBER field, bad operators and bad decimals (BAD_USER_INPUT)', async () => {
    const bad = async (conditions: unknown) =>
      code(await t.gql(CreateScoreDocument, { input: { name: 'x', conditions } } as never, editor.token));
    expect(await bad([{ criterion: { field: { name: 'city', op: 'IS_SET' } }, mode: 'FIELD_VALUE' }])).toBe(
      'BAD_USER_INPUT',
    );
    expect(
      await bad([
        { criterion: { field: { name: 'city', op: 'GT', value: 'a' } }, mode: 'FIXED', value: '1' },
      ]),
    ).toBe('BAD_USER_INPUT');
    expect(
      await bad([{ criterion: { field: { name: 'nope', op: 'IS_SET' } }, mode: 'FIXED', value: '1' }]),
    ).toBe('BAD_USER_INPUT');
    expect(
      await bad([{ criterion: { field: { name: 'city', op: 'IS_SET' } }, mode: 'FIXED', value: '1e3' }]),
    ).toBe('BAD_USER_INPUT');
    expect(
      await bad([
        { criterion: { field: { name: 'city', op: 'IS_SET' } }, mode: 'FIXED_PER_EVENT', value: '1' },
      ]),
    ).toBe('BAD_USER_INPUT');
    // @oneOf: two kinds in one criterion are refused by GraphQL itself, before any resolver.
    const two = await t.gql(
      CreateScoreDocument as never,
      {
        input: {
          name: 'x',
          conditions: [
            {
              criterion: { field: { name: 'city', op: 'IS_SET' }, event: { type: 'EMAIL_OPEN' } },
              mode: 'FIXED',
              value: '1',
            },
          ],
        },
      },
      editor.token,
    );
    expect(two.data ?? null).toBeNull();
    expect(two.errors?.[0].message).toMatch(/exactly one key/i);
  });

  it('refuses a score that would depend on itself', async () => {
    const r = await t.gql(
      UpdateScoreDocument,
      {
        input: {
          id: scoreA,
          conditions: [
            ...conditionsA,
            { criterion: { score: { scoreId: scoreB, op: 'GT', value: '0' } }, mode: 'FIXED', value: '1' },
          ],
        },
      },
      editor.token,
    );
    expect(code(r)).toBe('BAD_USER_INPUT');
  });

  it('GUEST reads but cannot write; EDITOR cannot launch a computation', async () => {
    expect(
      ok(await t.gql(ScoresDocument, {}, guest.token))
        .scores.map((s) => s.id)
        .sort(),
    ).toEqual([scoreA, scoreB].sort());
    expect(
      code(await t.gql(CreateScoreDocument, { input: { name: 'x', conditions: conditionsA } }, guest.token)),
    ).toBe('FORBIDDEN');
    expect(code(await t.gql(RunScoreComputationDocument, {}, editor.token))).toBe('FORBIDDEN');
    expect(code(await t.gql(RunScoreComputationDocument, {}, null))).toBe('UNAUTHENTICATED');
    const { rows } = await t.sql.query('select count(*)::int as n from score_run');
    expect(rows[0].n).toBe(0);
  });
});

describe('scores: computation', () => {
  // Independently computed expectations (see the conditions above).
  const expectedA = () => ({
    paris: sum(PARIS, mul(dec('100'), COEF), 3n * PER_EVENT), // 10 + 125 + 3.75
    churn: sum(CHURN, 1n * PER_EVENT), // -15 + 1.25
    both: sum(PARIS, CHURN, mul(dec('0.08'), COEF)), // 10 - 15 + 0.1
  });

  it('computes exact values for each mode, decimals and negatives', async () => {
    const run = await runAndWait(t, owner);
    expect(run).toMatchObject({ status: 'DONE', trigger: 'MANUAL', userId: owner.userId, error: null });
    const e = expectedA();
    expect(str(e.paris)).toBe('138.75');
    expect(str(e.churn)).toBe('-13.75');
    expect(str(e.both)).toBe('-4.9');
    expect(await storedScores(t, [scoreA, scoreB])).toEqual({
      [`${scoreA}/${c.paris}`]: str(e.paris),
      [`${scoreA}/${c.churn}`]: str(e.churn),
      [`${scoreA}/${c.both}`]: str(e.both),
      // B: score A >= 100 (5) + a click in the last 30 days (2)
      [`${scoreB}/${c.paris}`]: '7',
    });
    expect(run.contactsChanged).toBe(4);
    const spy = vi.spyOn(t.app.services.orm.em.getConnection(), 'execute');
    let contacts: ContactScoresQuery['contacts']['nodes'];
    try {
      contacts = ok(await t.gql(ContactScoresDocument, { first: 10 }, guest.token)).contacts.nodes;
      // Contact.scores for the whole page in one query, not one per contact.
      const reads = spy.mock.calls.filter((call) => /\bfrom score s\b/.test(String(call[0])));
      expect(contacts.length).toBeGreaterThan(1);
      expect(reads).toHaveLength(1);
    } finally {
      spy.mockRestore();
    }
    const none = contacts.find((x) => x.id === c.none);
    expect(none?.scores.map((s) => s.value)).toEqual(['0', '0']);
    const paris = contacts.find((x) => x.id === c.paris);
    expect(Object.fromEntries(paris?.scores.map((s) => [s.scoreId, s.value]) ?? [])).toEqual({
      [scoreA]: '138.75',
      [scoreB]: '7',
    });
  });

  it('a rerun with nothing new changes nothing and writes no row', async () => {
    const before = await t.sql.query(
      'select ctid::text, xmin::text, score_id, contact_id from contact_score order by 3, 4',
    );
    const run = await runAndWait(t, owner);
    expect(run).toMatchObject({ status: 'DONE', contactsChanged: 0 });
    const after = await t.sql.query(
      'select ctid::text, xmin::text, score_id, contact_id from contact_score order by 3, 4',
    );
    expect(after.rows).toEqual(before.rows);
  });

  it('new events count once, in the run after they arrive', async () => {
    await events(t, owner, [
      { contactId: c.churn, type: 'EMAIL_OPEN' },
      { contactId: c.churn, type: 'EMAIL_CLICK' },
      { contactId: c.churn, type: 'SMS_CLICK' },
    ]);
    const run = await runAndWait(t, owner);
    expect(run.contactsChanged).toBe(2); // churn in A, churn in B (a click within 30 days)
    const churn = sum(expectedA().churn, 2n * PER_EVENT);
    const stored = await storedScores(t, [scoreA, scoreB]);
    expect(stored[`${scoreA}/${c.churn}`]).toBe(str(churn));
    expect(stored[`${scoreB}/${c.churn}`]).toBe('2');
    expect(stored[`${scoreA}/${c.paris}`]).toBe('138.75');
    const again = await runAndWait(t, owner);
    expect(again.contactsChanged).toBe(0);
    expect((await storedScores(t, [scoreA]))[`${scoreA}/${c.churn}`]).toBe(str(churn));
  });

  it('state follows current data: a changed field is recomputed, the events part is kept', async () => {
    await t.sql.query(`update contact set fields = fields || '{"revenue": "-2.4"}' where id = $1`, [c.paris]);
    await runAndWait(t, owner);
    const stored = await storedScores(t, [scoreA, scoreB]);
    expect(stored[`${scoreA}/${c.paris}`]).toBe(str(sum(PARIS, mul(dec('-2.4'), COEF), 3n * PER_EVENT)));
    expect(stored[`${scoreB}/${c.paris}`]).toBe('2'); // A fell under 100
  });

  it('refuses deleting a score another one reads (CONFLICT), then deletes it with its values', async () => {
    expect(code(await t.gql(DeleteScoresDocument, { ids: [scoreA] }, editor.token))).toBe('CONFLICT');
    expect(ok(await t.gql(DeleteScoresDocument, { ids: [scoreB] }, editor.token)).deleteScores).toEqual([
      scoreB,
    ]);
    const { rows } = await t.sql.query('select count(*)::int as n from contact_score where score_id = $1', [
      scoreB,
    ]);
    expect(rows[0].n).toBe(0);
  });
});
