/**
 * A score condition naming another account's score or segment answers NOT_FOUND, as score(id)
 * and segment(id) do, so a criterion cannot probe whether an id exists elsewhere; the account's
 * own ids are found whatever their case.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateScoreDocument, CreateSegmentDocument } from '../../../test/generated/graphql.js';
import { type Actor, code, ok, signUpOwner, startTestApp, type TestApp } from '../../../test/harness.js';

let t: TestApp;
let a: Actor;
let b: Actor;
let scoreOfB = '';
let segmentOfB = '';
let scoreOfA = '';

const fixed = (criterion: unknown) => ({
  input: { name: 'Ref', conditions: [{ criterion, mode: 'FIXED', value: '1' }] },
});

beforeAll(async () => {
  t = await startTestApp();
  a = await signUpOwner(t, 'A');
  b = await signUpOwner(t, 'B');
  const country = { field: { name: 'country', op: 'EQ', value: 'FR' } };
  scoreOfA = ok(await t.gql(CreateScoreDocument, fixed(country) as never, a.token)).createScore.id;
  scoreOfB = ok(await t.gql(CreateScoreDocument, fixed(country) as never, b.token)).createScore.id;
  const seg = await t.gql(
    CreateSegmentDocument,
    { input: { name: 'B only', criterion: country } } as never,
    b.token,
  );
  segmentOfB = ok(seg).createSegment.id;
});
afterAll(() => t.close());

describe("score conditions naming another account's ids", () => {
  it('answer NOT_FOUND for a score or a segment of another account, and write nothing', async () => {
    const before = (await t.sql.query('select count(*)::int as n from score')).rows[0].n;
    const viaScore = await t.gql(
      CreateScoreDocument,
      fixed({ score: { scoreId: scoreOfB, op: 'GT', value: '1' } }) as never,
      a.token,
    );
    expect(code(viaScore)).toBe('NOT_FOUND');
    const viaSegment = await t.gql(
      CreateScoreDocument,
      fixed({ all: [{ segment: { segmentId: segmentOfB } }] }) as never,
      a.token,
    );
    expect(code(viaSegment)).toBe('NOT_FOUND');
    expect((await t.sql.query('select count(*)::int as n from score')).rows[0].n).toBe(before);
  });

  it("find the account's own score whatever the case of its id", async () => {
    const r = await t.gql(
      CreateScoreDocument,
      fixed({ score: { scoreId: scoreOfA.toUpperCase(), op: 'GT', value: '1' } }) as never,
      a.token,
    );
    expect(code(r)).toBeNull();
  });
});
