import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Answer, post, stillAnswers } from './attack.js';
import { type Fixtures, fingerprint, judge, leaksOf, setUp } from './fixtures.js';

/**
 * Issue 10, 9: whole hostile documents (not one bad argument): deep, wide, aliased, cyclic,
 * over-directed, huge. Each answers typed errors or data, never a 5xx, a masked error or a stack,
 * writes nothing when refused, and leaves the server answering `{ __typename }`.
 */
let fx: Fixtures;
beforeAll(async () => {
  fx = await setUp();
});
afterAll(() => fx?.t.close());

const q = (query: string, variables?: unknown) => JSON.stringify({ query, variables });
const times = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i)).join(' ');
const DEEP = 100_000;

interface DocCase {
  name: string;
  body: () => string;
  /** The document must be refused (errors, no data): the limit it goes over says so. */
  refused?: boolean;
}

const cases: DocCase[] = [
  {
    name: '100,000 nested inline fragments',
    body: () => q(`{ ${'... on Query { '.repeat(DEEP)}__typename${' }'.repeat(DEEP)} }`),
    refused: true,
  },
  {
    name: '100,000 nested selection sets of a real field',
    body: () => q(`{ ${'me { '.repeat(DEEP)}id${' }'.repeat(DEEP)} }`),
    refused: true,
  },
  {
    name: '100,000 nested list literal in an argument',
    body: () => q(`{ contacts(first: ${'['.repeat(DEEP)}1${']'.repeat(DEEP)}) { __typename } }`),
    refused: true,
  },
  {
    name: '100,000 nested arrays in a variable',
    body: () =>
      `{"query":"query($f: ContactFilter) { contacts(filter: $f) { __typename } }","variables":{"f":${'['.repeat(DEEP)}${']'.repeat(DEEP)}}}`,
    refused: true,
  },
  {
    name: '100,000 nested objects in a variable',
    body: () =>
      `{"query":"query($f: ContactFilter) { contacts(filter: $f) { __typename } }","variables":{"f":${'{"search":'.repeat(DEEP)}"x"${'}'.repeat(DEEP)}}}`,
    refused: true,
  },
  {
    name: 'depth 11 (one over the limit)',
    body: () =>
      q(
        `{ contacts { nodes { lastBounce { contact { lastBounce { contact { lastBounce { contact { lastBounce { contact { id } } } } } } } } } } }`,
      ),
    refused: true,
  },
  {
    name: '5,000 repeated fields (wide, no aliases)',
    body: () => q(`{ ${times(5000, () => 'me { id }')} }`),
    refused: true,
  },
  {
    name: '1,000 aliases of a field',
    body: () => q(`{ ${times(1000, (i) => `a${i}: me { id }`)} }`),
    refused: true,
  },
  {
    name: '1,000 __typename aliases',
    body: () => q(`{ ${times(1000, (i) => `t${i}: __typename`)} }`),
    refused: true,
  },
  {
    name: '16 __typename aliases (one over the limit)',
    body: () => q(`{ ${times(16, (i) => `t${i}: __typename`)} }`),
    refused: true,
  },
  {
    name: '1,000 aliased mutations',
    body: () =>
      q(
        `mutation { ${times(1000, (i) => `c${i}: createContact(input: { firstName: "alias${i}" }) { id }`)} }`,
      ),
    refused: true,
  },
  {
    name: 'a fragment cycle',
    body: () => q('fragment A on Query { ...B } fragment B on Query { ...A } { ...A }'),
    refused: true,
  },
  {
    name: 'a fragment spreading itself',
    body: () => q('fragment A on Query { __typename ...A } { ...A }'),
    refused: true,
  },
  {
    name: '1,000 fragments spread in a chain',
    body: () =>
      q(
        `${times(1000, (i) => `fragment F${i} on Query { __typename ${i < 999 ? `...F${i + 1}` : ''} }`)} { ...F0 }`,
      ),
    refused: true,
  },
  {
    name: 'the same directive 1,000 times',
    body: () => q(`{ __typename ${'@include(if: true) '.repeat(1000)} }`),
    refused: true,
  },
  {
    name: '21 directives (one over the limit)',
    body: () => q(`{ __typename ${'@skip(if: false) '.repeat(21)} }`),
    refused: true,
  },
  { name: 'an unknown directive', body: () => q('{ __typename @nope }'), refused: true },
  {
    name: 'a cost over the limit',
    body: () =>
      q(
        '{ contacts(first: 200) { nodes { bounces(first: 200) { nodes { contact { bounces(first: 200) { nodes { id } } } } } } } }',
      ),
    refused: true,
  },
  {
    name: '1,000 variable definitions',
    body: () => q(`query(${times(1000, (i) => `$v${i}: Int`)}) { __typename }`),
    refused: true,
  },
  { name: '2,000 unknown fields', body: () => q(`{ ${times(2000, (i) => `nope${i}`)} }`), refused: true },
  {
    name: 'a 1 MiB string literal',
    body: () => q(`{ classifyBounce(message: "${'x'.repeat(1024 * 1024)}") { reason } }`),
  },
  { name: '1 MiB of comments', body: () => q(`${'# comment\n'.repeat(100_000)}{ __typename }`) },
  { name: 'a 7 MB unused variable', body: () => q('{ __typename }', { x: 'x'.repeat(7_000_000) }) },
  {
    name: '200,000 unused variables',
    body: () =>
      q('{ __typename }', Object.fromEntries(Array.from({ length: 200_000 }, (_, i) => [`v${i}`, i]))),
  },
  {
    name: 'a 9 MB body (over the 8 MiB limit)',
    body: () => q('{ __typename }', { x: 'x'.repeat(9_000_000) }),
    refused: true,
  },
  { name: 'a NUL byte in the document', body: () => q('{ __typename \u0000 }'), refused: true },
  {
    name: 'a lone surrogate in the document',
    body: () => q('{ classifyBounce(message: "\ud800") { reason } }'),
  },
  {
    name: 'a lone surrogate escaped in a string literal',
    body: () => q('{ contacts(filter: { search: "\\uD800" }) { nodes { id } } }'),
  },
  {
    name: 'a NUL escaped in a string literal',
    body: () => q('{ contacts(filter: { search: "a\\u0000b" }) { nodes { id } } }'),
  },
  {
    name: 'an Int literal out of range',
    body: () => q('{ contacts(first: 99999999999999999999) { __typename } }'),
    refused: true,
  },
  {
    name: 'an unknown enum literal',
    body: () => q('{ contacts(orderBy: { field: NOPE }) { __typename } }'),
    refused: true,
  },
  {
    name: 'a @oneOf literal with two keys',
    body: () =>
      q(
        'mutation { createScore(input: { name: "x", conditions: [{ mode: FIXED, value: "1", criterion: { field: { name: "email", op: IS_SET }, not: { field: { name: "email", op: IS_SET } } } }] }) { id } }',
      ),
    refused: true,
  },
  {
    name: 'a Decimal literal as a number',
    body: () =>
      q(
        'mutation { createScore(input: { name: "x", conditions: [{ mode: FIXED, value: 1.5, criterion: { field: { name: "email", op: IS_SET } } }] }) { id } }',
      ),
    refused: true,
  },
  {
    name: 'a criterion literal nested 100,000 deep',
    body: () =>
      q(
        `mutation { createScore(input: { name: "deep", conditions: [{ mode: FIXED, value: "1", criterion: ${'{ not: '.repeat(DEEP)}{ field: { name: "email", op: IS_SET } }${' }'.repeat(DEEP)} }] }) { id } }`,
      ),
    refused: true,
  },
  {
    name: 'a criterion variable nested 100,000 deep',
    body: () =>
      `{"query":"mutation($c: Criterion!) { createScore(input: { name: \\"deep\\", conditions: [{ mode: FIXED, value: \\"1\\", criterion: $c }] }) { id } }","variables":{"c":${'{"not":'.repeat(DEEP)}{"field":{"name":"email","op":"IS_SET"}}${'}'.repeat(DEEP)}}}`,
    refused: true,
  },
  {
    name: 'a criterion nested 7 levels (one over the limit)',
    body: () =>
      q(
        `mutation { createScore(input: { name: "deep7", conditions: [{ mode: FIXED, value: "1", criterion: ${'{ not: '.repeat(7)}{ field: { name: "email", op: IS_SET } }${' }'.repeat(7)} }] }) { id } }`,
      ),
    refused: true,
  },
  {
    name: 'two operations, no operationName',
    body: () => q('query A { __typename } query B { __typename }'),
    refused: true,
  },
  {
    name: 'an operationName that names nothing',
    body: () => JSON.stringify({ query: 'query A { __typename }', operationName: 'B' }),
    refused: true,
  },
  {
    name: 'a mutation selecting a subscription field',
    body: () => q('mutation { bounceReceived { id } }'),
    refused: true,
  },
  {
    name: 'a subscription with two root fields',
    body: () => q('subscription { bounceReceived { id } auditEntryAdded { id } }'),
    refused: true,
  },
  {
    name: 'introspection 100 levels of ofType',
    body: () =>
      q(`{ __schema { types { fields { type { ${'ofType { '.repeat(100)}name${' }'.repeat(100)} } } } } }`),
  },
  {
    name: '__proto__ keys in the input',
    body: () =>
      `{"query":"mutation($i: CreateContactInput!) { createContact(input: $i) { id firstName } }","variables":{"i":{"__proto__":{"email":"proto@example.com"},"constructor":{"prototype":{"x":1}},"firstName":"proto"}}}`,
    refused: true,
  },
  {
    name: 'an unknown persisted query hash',
    body: () =>
      JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: 'ab'.repeat(32) } } }),
    refused: true,
  },
  {
    name: 'a persisted query hash that is not a hash',
    body: () =>
      JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: '\u0000'.repeat(10_000) } } }),
    refused: true,
  },
  {
    name: 'a persisted query with a wrong hash for its text',
    body: () =>
      JSON.stringify({
        query: '{ __typename }',
        extensions: { persistedQuery: { version: 1, sha256Hash: 'ab'.repeat(32) } },
      }),
    refused: true,
  },
];

async function run(c: DocCase): Promise<{ problems: string[]; answer: Answer }> {
  const body = c.body();
  const before = await fingerprint(fx.t);
  const answer = await post(fx, body);
  const problems = [...judge(answer.status, answer.text), ...leaksOf(fx.b, body, answer.text)];
  let parsed: { data?: unknown; errors?: unknown[] } = {};
  try {
    parsed = JSON.parse(answer.text);
  } catch {}
  if (c.refused && !(parsed.errors?.length && (parsed.data === undefined || parsed.data === null)))
    problems.push(`answered although over a limit: ${answer.text.slice(0, 200)}`);
  if (parsed.errors?.length && (await fingerprint(fx.t)) !== before) problems.push('refused but wrote');
  problems.push(...(await stillAnswers(fx)));
  return { problems, answer };
}

describe('hostile documents', () => {
  for (const c of cases)
    it(c.name, async () => {
      const { problems } = await run(c);
      expect(problems).toEqual([]);
    });

  it('batched requests (a JSON array) answer typed errors or one answer per operation', async () => {
    const answer = await post(fx, JSON.stringify([{ query: '{ __typename }' }, { query: '{ me { id } }' }]));
    const problems = answer.text.trim().startsWith('[')
      ? (JSON.parse(answer.text) as unknown[]).flatMap((r) => judge(answer.status, JSON.stringify(r)))
      : judge(answer.status, answer.text);
    expect([...problems, ...(await stillAnswers(fx))]).toEqual([]);
  });
});
