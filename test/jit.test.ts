/**
 * Queries run often are compiled by graphql-jit (src/http/jit.ts). The compiled query must
 * answer what graphql-js answers: the same data, and the same errors (scope refusals, bad
 * variables, a resolver's BAD_USER_INPUT), run after run.
 */
import { parse } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JIT_AFTER_RUNS, useQueryJit } from '../src/http/jit.js';
import { buildSchema } from '../src/schema.js';
import { type Actor, ok, signUpOwner, startTestApp, type TestApp, viewerWith } from './harness.js';

describe('useQueryJit', () => {
  const schema = buildSchema();
  const onExecute = (useQueryJit() as Required<Pick<Plugin, 'onExecute'>>).onExecute as (p: unknown) => void;
  const compiledAt = (source: string, runs: number) => {
    const document = parse(source);
    const set: number[] = [];
    for (let i = 1; i <= runs; i++)
      onExecute({ args: { schema, document, operationName: null }, setExecuteFn: () => set.push(i) });
    return set;
  };

  it(`compiles a query from its run number ${JIT_AFTER_RUNS} on, never a mutation`, () => {
    expect(compiledAt('{ me { id } }', 4)).toEqual([2, 3, 4]);
    expect(compiledAt('mutation { logout }', 4)).toEqual([]);
  });
});

describe('a compiled query answers as graphql-js does', () => {
  let t: TestApp;
  let owner: Actor;
  beforeAll(async () => {
    t = await startTestApp();
    owner = await signUpOwner(t);
    for (const email of ['a@example.com', 'b@example.com'])
      ok(
        await t.gql(
          'mutation ($e: String) { createContact(input: { email: $e }) { id } }',
          { e: email },
          owner.token,
        ),
      );
  });
  afterAll(() => t?.close());

  /** The whole answer of the same request, run more times than it takes to be compiled. */
  const runs = async (query: string, variables: Record<string, unknown>, token: string) => {
    const out: unknown[] = [];
    for (let i = 0; i < JIT_AFTER_RUNS + 2; i++) out.push(await t.gql(query, variables, token));
    return out;
  };
  const allEqual = (answers: unknown[]) => {
    for (const a of answers.slice(1)) expect(a).toEqual(answers[0]);
    return answers[0] as { data?: unknown; errors?: { extensions?: { code?: string } }[] };
  };

  it('the same page', async () => {
    const first = allEqual(
      await runs(
        'query ($n: Int) { contacts(first: $n) { nodes { id email createdAt fields { name } } edges { cursor } pageInfo { hasNextPage endCursor } } }',
        { n: 1 },
        owner.token,
      ),
    );
    expect(first.errors).toBeUndefined();
    expect(first.data).toMatchObject({ contacts: { pageInfo: { hasNextPage: true } } });
  });

  it('the same refusal for a viewer without the right', async () => {
    const member = await viewerWith(t, owner, { USERS: 'GUEST' });
    const first = allEqual(await runs('{ contacts { nodes { id } } }', {}, member.token));
    expect(first.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('the same errors for a bad variable and for a page too large', async () => {
    const query = 'query ($n: Int) { contacts(first: $n) { nodes { id } } }';
    expect(allEqual(await runs(query, { n: 'many' }, owner.token)).errors).toHaveLength(1);
    const tooLarge = allEqual(await runs(query, { n: 5000 }, owner.token));
    expect(tooLarge.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('leaves queries over a recursive input (Criterion) to graphql-js, which answers them every time', async () => {
    // graphql-jit built the coercion of Criterion (all/any/not hold Criterion) without end: the
    // second run of this query used to exhaust the heap.
    const query = 'query ($c: Criterion!) { previewSegment(criterion: $c) { count } }';
    const ok = allEqual(
      await runs(query, { c: { any: [{ hasEmail: true }, { not: { hasPhone: true } }] } }, owner.token),
    );
    expect(ok.errors).toBeUndefined();
    const { rows } = await t.sql.query(
      `select count(*)::int as n from contact c join app_user u on u.account_id = c.account_id
        where u.email = $1 and (coalesce(c.email, '') <> '' or coalesce(c.phone, '') = '')`,
      [owner.email],
    );
    expect(rows[0].n).toBeGreaterThan(0);
    expect(ok.data).toEqual({ previewSegment: { count: rows[0].n } });
    const refused = allEqual(
      await runs(query, { c: { event: { type: 'EMAIL_OPEN', withinDays: 5000 } } }, owner.token),
    );
    expect(refused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
