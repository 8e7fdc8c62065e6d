import { describe, expect, it } from 'vitest';
import { STANDARD_FIELDS } from '../contacts/fields.js';
import { compileCriterion, Params } from './criterion.compile.js';
import { type CheckEnv, type Criterion, normaliseCriterion, normaliseUrl } from './criterion.js';
import {
  expandSegments,
  MAX_EXPANDED_LEAVES,
  refuseCycle,
  refuseInUse,
  type TargetNode,
} from './criterion.refs.js';

const fields = new Map(
  Object.entries(STANDARD_FIELDS).map(([name, f]) => [
    name,
    { name, type: f.type, sql: `c.${f.column}`, standard: true },
  ]),
);
const SCORE = '11111111-1111-4111-8111-111111111111';
const SEG = '22222222-2222-4222-8222-222222222222';
const env: CheckEnv = { fields, scoreIds: new Set([SCORE]), segmentIds: new Set([SEG]) };
const check = (c: unknown) => normaliseCriterion(c, env);
const refusal = (c: unknown) => {
  try {
    check(c);
  } catch (e) {
    return (e as { extensions?: { code?: string }; message: string }).extensions?.code === 'BAD_USER_INPUT'
      ? (e as Error).message
      : `not BAD_USER_INPUT: ${(e as Error).message}`;
  }
  return null;
};

describe('the criterion language: new leaves and their checks', () => {
  it('accepts relative dates on DATE fields only, with days in range', () => {
    expect(check({ field: { name: 'birthDate', op: 'ANNIVERSARY_IN_NEXT_DAYS', days: 7 } })).toEqual({
      field: { name: 'birthDate', op: 'ANNIVERSARY_IN_NEXT_DAYS', days: 7 },
    });
    expect(refusal({ field: { name: 'city', op: 'IN_LAST_DAYS', days: 7 } })).toMatch(
      /does not apply to the TEXT/,
    );
    expect(refusal({ field: { name: 'birthDate', op: 'IN_LAST_DAYS' } })).toMatch(/days/);
    expect(refusal({ field: { name: 'birthDate', op: 'ANNIVERSARY_IN_NEXT_DAYS', days: 367 } })).toMatch(
      /0 to 366/,
    );
    expect(refusal({ field: { name: 'birthDate', op: 'IN_NEXT_DAYS', days: -1 } })).toMatch(/0 to 36500/);
  });

  it('stores urls with scheme and host in lower case, the path as given, and checks urlMatch', () => {
    expect(normaliseUrl('HTTPS://Shop.Example.COM/Sale/X?Q=1')).toBe('https://shop.example.com/Sale/X?Q=1');
    expect(normaliseUrl('/Relative/Path')).toBe('/Relative/Path');
    expect(check({ event: { type: 'EMAIL_CLICK', url: 'HTTP://A.B/C', urlMatch: 'PREFIX' } })).toEqual({
      event: { type: 'EMAIL_CLICK', url: 'http://a.b/C', urlMatch: 'PREFIX' },
    });
    // EXACT is the default and is not stored.
    expect(check({ event: { type: 'EMAIL_CLICK', url: 'http://a.b/', urlMatch: 'EXACT' } })).toEqual({
      event: { type: 'EMAIL_CLICK', url: 'http://a.b/' },
    });
    expect(refusal({ event: { type: 'EMAIL_CLICK', urlMatch: 'PREFIX' } })).toMatch(/only with url/);
  });

  it('refuses event windows that cannot match', () => {
    expect(refusal({ event: { type: 'EMAIL_OPEN', withinDays: 7, olderThanDays: 7 } })).toMatch(
      /less than withinDays/,
    );
    expect(check({ event: { type: 'EMAIL_OPEN', withinDays: 30, olderThanDays: 0 } })).toEqual({
      event: { type: 'EMAIL_OPEN', withinDays: 30, olderThanDays: 0 },
    });
  });

  it('checks email status lists, address flags and segment ids of the account', () => {
    expect(check({ emailStatus: { in: ['VALID', 'SOFT_BOUNCED', 'VALID'] } })).toEqual({
      emailStatus: { in: ['SOFT_BOUNCED', 'VALID'] },
    });
    expect(refusal({ emailStatus: { in: [] } })).toMatch(/at least one/);
    expect(refusal({ emailStatus: { in: ['BOUNCED'] } })).toMatch(/one of VALID/);
    expect(check({ hasPhone: false })).toEqual({ hasPhone: false });
    expect(refusal({ hasEmail: 'yes' })).toMatch(/true or false/);
    expect(check({ segment: { segmentId: SEG.toUpperCase() } })).toEqual({ segment: { segmentId: SEG } });
    expect(refusal({ segment: { segmentId: '33333333-3333-4333-8333-333333333333' } })).toMatch(
      /no such segment in this account/,
    );
  });
});

describe('segments inside criteria', () => {
  it('inlines segments as they are, and compiles without any user value in the SQL text', () => {
    const segments = new Map<string, Criterion>([
      [SEG, { field: { name: 'city', op: 'EQ', value: "O'Brien--$1" } }],
    ]);
    const c: Criterion = { all: [{ segment: { segmentId: SEG } }, { hasEmail: true }] };
    expect(expandSegments(c, segments)).toEqual({
      all: [{ field: { name: 'city', op: 'EQ', value: "O'Brien--$1" } }, { hasEmail: true }],
    });
    const params = new Params();
    const sql = compileCriterion(c, { fields, params, segments });
    expect(sql).not.toContain('Brien');
    expect(params.values).toContain("O'Brien--$1");
  });

  it('refuses an expansion that grows past the limit (a chain of segments naming the next twice)', () => {
    const ids = Array.from({ length: 12 }, (_, i) => `seg${i}`);
    const segments = new Map<string, Criterion>();
    segments.set(ids[11], { hasEmail: true });
    for (let i = 10; i >= 0; i--)
      segments.set(ids[i], {
        any: [{ segment: { segmentId: ids[i + 1] } }, { segment: { segmentId: ids[i + 1] } }],
      });
    // 2^11 = 2048 leaves from a criterion of one.
    expect(() => expandSegments({ segment: { segmentId: ids[0] } }, segments)).toThrow(
      new RegExp(`more than ${MAX_EXPANDED_LEAVES} conditions`),
    );
  });

  it('refuses cycles through any chain of scores and segments, naming the path', () => {
    const graph = new Map<TargetNode, TargetNode[]>([
      ['segment:a', ['score:s']],
      ['score:s', ['segment:b']],
      ['segment:b', []],
    ]);
    // b now names a: b > a > s > b.
    expect(() => refuseCycle('segment:b', ['segment:a'], graph)).toThrow(
      /segment b > segment a > score s > segment b/,
    );
    expect(() => refuseCycle('segment:b', ['score:s2'], graph)).not.toThrow();
    expect(() => refuseCycle('score:s', ['score:s'], graph)).toThrow(/cannot depend on itself/);
  });

  it('names what still uses a score or segment about to be deleted', () => {
    const graph = new Map<TargetNode, TargetNode[]>([
      ['segment:a', ['score:s']],
      ['segment:b', ['segment:a']],
    ]);
    expect(() => refuseInUse(graph, ['score:s'])).toThrow(/score s is used by segment a/);
    // Deleting a and b together is fine: what uses a goes too.
    expect(() => refuseInUse(graph, ['segment:a', 'segment:b'])).not.toThrow();
    expect(() => refuseInUse(graph, ['segment:a'])).toThrow(/segment a is used by segment b/);
  });
});
