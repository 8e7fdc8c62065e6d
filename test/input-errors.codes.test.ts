import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, type GqlResult, signUpOwner, startTestApp, type TestApp } from './harness.js';

/**
 * Refusals of graphql-js, graphql-armor and yoga's request parsers carry a code and a 4xx
 * (issue 10, 7): before, some had no extensions.code, armor's answered HTTP 200, and a GET whose
 * variables were not JSON answered a masked 500.
 */
let t: TestApp;
let owner: Actor;
beforeAll(async () => {
  t = await startTestApp();
  owner = await signUpOwner(t);
});
afterAll(() => t.close());

const gql = (q: string, v?: Record<string, unknown>) => t.gql(q, v, owner.token);

describe('refusals that had no code', () => {
  it('gives variable coercion errors BAD_USER_INPUT, with HTTP 400', async () => {
    const cases: [string, Record<string, unknown>][] = [
      ['query($n: Int) { contacts(first: $n) { nodes { id } } }', { n: 2 ** 40 }],
      ['query($s: EmailStatus) { contacts(filter: { emailStatus: $s }) { nodes { id } } }', { s: 'NOPE' }],
      [
        'mutation($i: CreateScoreInput!) { createScore(input: $i) { id } }',
        {
          i: {
            name: 's',
            conditions: [
              {
                mode: 'FIXED',
                value: '1',
                criterion: {
                  not: { field: { name: 'email', op: 'IS_SET' } },
                  field: { name: 'email', op: 'IS_SET' },
                },
              },
            ],
          },
        },
      ],
      [
        'mutation($i: CreateScoreInput!) { createScore(input: $i) { id } }',
        {
          i: {
            name: 's',
            conditions: [{ mode: 'FIXED', value: 1, criterion: { field: { name: 'email', op: 'IS_SET' } } }],
          },
        },
      ],
      [
        'mutation($i: ImportContactsInput!) { importContacts(input: $i) { id } }',
        { i: { file: 'a,b\n1,2' } },
      ],
      ['query($n: Int!) { contacts(first: $n) { nodes { id } } }', {}],
    ];
    for (const [q, v] of cases) {
      const r = await gql(q, v);
      expect(r.status, q).toBe(400);
      expect(r.errors?.length).toBeGreaterThan(0);
      for (const e of r.errors ?? []) expect(e.extensions?.code, e.message).toBe('BAD_USER_INPUT');
    }
  });

  it("answers graphql-armor's refusals GRAPHQL_VALIDATION_FAILED with HTTP 400", async () => {
    const many = (n: number, s: (i: number) => string) => Array.from({ length: n }, (_, i) => s(i)).join(' ');
    const queries = [
      `{ ${many(20, (i) => `a${i}: me { id }`)} }`, // Aliases limit
      `{ me ${many(25, () => '@include(if: true)')} { id } }`, // directives
      // cost: each fragment spreads the one below twice, so the cost doubles at every level
      `{ ...F14 } fragment F0 on Query { __typename } ${many(14, (i) => `fragment F${i + 1} on Query { ...F${i} ...F${i} }`)}`,
      `{ score(id: "0") { conditions { criterionTree { ${'not { '.repeat(9)}field { name }${' }'.repeat(9)} } } } }`, // depth
    ];
    for (const [i, q] of queries.entries()) {
      const r = await gql(q);
      expect(r.errors?.[0].message).toMatch(
        [/Aliases limit/, /Directives limit/, /Cost limit/, /depth limit/][i],
      );
      expect(r.status, q).toBe(400);
      expect(r.errors?.[0].extensions?.code, q).toBe('GRAPHQL_VALIDATION_FAILED');
    }
    const tokens = await gql(`{ ${many(4100, () => '__typename')} }`);
    expect(tokens.status).toBe(400);
    expect(tokens.errors?.[0].extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
  });

  it('counts __typename aliases against the alias limit', async () => {
    const r = await gql(`{ ${Array.from({ length: 1000 }, (_, i) => `a${i}: __typename`).join(' ')} }`);
    expect(r.status).toBe(400);
    expect(r.data ?? null).toBeNull();
    expect(r.errors?.[0].message).toMatch(/Aliases limit of 15 exceeded/);
    // A plain __typename, and a few aliases, still answer.
    expect((await gql('{ __typename a: __typename }')).data).toEqual({ __typename: 'Query', a: 'Query' });
  });

  it('answers GET and url-encoded variables that are not JSON BAD_REQUEST with HTTP 400, not 500', async () => {
    const get = await fetch(`${t.url}?query=${encodeURIComponent('{ __typename }')}&variables=%7B`, {
      headers: { accept: 'application/graphql-response+json' },
    });
    expect(get.status).toBe(400);
    expect(((await get.json()) as GqlResult<unknown>).errors?.[0].extensions?.code).toBe('BAD_REQUEST');
    const form = await fetch(t.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/graphql-response+json',
      },
      body: `query=${encodeURIComponent('{ __typename }')}&extensions=%5B`,
    });
    expect(form.status).toBe(400);
  });

  it('answers a multipart request without operations BAD_REQUEST with HTTP 400', async () => {
    const b = 'bnd';
    const res = await fetch(t.url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${owner.token}`,
        'content-type': `multipart/form-data; boundary=${b}`,
      },
      body: `--${b}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{}\r\n--${b}--\r\n`,
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as GqlResult<unknown>;
    expect(body.errors?.[0].extensions?.code).toBe('BAD_REQUEST');
  });
});

describe('refusals of the request itself', () => {
  const post = (headers: Record<string, string>, body: BodyInit) =>
    fetch(t.url, { method: 'POST', headers: { authorization: `Bearer ${owner.token}`, ...headers }, body });
  const CREATE = JSON.stringify({
    query: 'mutation { createContact(input: { email: "xml@accept.test" }) { id } }',
  });

  it('answers an unsupported content type 415 with a coded JSON body (yoga sent an empty one)', async () => {
    const cases: Record<string, string>[] = [
      { 'content-type': 'text/plain' },
      { 'content-type': 'application/xml' },
      {},
    ];
    for (const headers of cases) {
      const res = await post(headers, new Blob([CREATE]));
      expect(res.status).toBe(415);
      expect(((await res.json()) as GqlResult<unknown>).errors?.[0].extensions?.code).toBe('BAD_REQUEST');
    }
  });

  it('refuses an accept type it cannot answer with 406 before running anything', async () => {
    const res = await post({ 'content-type': 'application/json', accept: 'application/xml' }, CREATE);
    expect(res.status).toBe(406);
    expect(((await res.json()) as GqlResult<unknown>).errors?.[0].extensions?.code).toBe('BAD_REQUEST');
    // yoga checked the accept type only after executing: the mutation was written.
    const n = await t.sql.query(`select count(*) from contact where email = 'xml@accept.test'`);
    expect(Number(n.rows[0].count)).toBe(0);
    // Browsers' and clients' usual accept headers still get answers.
    for (const accept of [
      '*/*',
      'application/json',
      'text/event-stream',
      'application/graphql-response+json;q=1, application/xml',
    ])
      expect(
        (
          await post(
            { 'content-type': 'application/json', accept },
            JSON.stringify({ query: '{ __typename }' }),
          )
        ).status,
      ).toBe(200);
  });
});
