import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_INPUT_VALUES } from '../src/http/input-guard.js';
import { type Actor, code, type GqlResult, signUpOwner, startTestApp, type TestApp } from './harness.js';

/**
 * Bad inputs get a typed error, never a masked "Unexpected error." nor a 5xx (issue 10, 7):
 * strings PostgreSQL cannot store, values nested past any recursion, dates outside its range,
 * and the refusals of graphql-js and graphql-armor that had no code.
 */
let t: TestApp;
let owner: Actor;
beforeAll(async () => {
  t = await startTestApp();
  owner = await signUpOwner(t);
});
afterAll(() => t.close());

const gql = (q: string, v?: Record<string, unknown>) => t.gql(q, v, owner.token);
/** A body sent as given: JSON.stringify itself overflows on a value 100,000 levels deep. */
async function raw(body: string): Promise<GqlResult<unknown>> {
  const res = await fetch(t.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      authorization: `Bearer ${owner.token}`,
    },
    body,
  });
  const text = await res.text();
  return { ...(text ? JSON.parse(text) : {}), status: res.status };
}
const contactCount = async () =>
  Number(
    (await t.sql.query('select count(*) from contact where account_id = $1', [owner.accountId])).rows[0]
      .count,
  );
/** A typed refusal: the code, a status below 500, no data written by the caller's check. */
function refused(r: GqlResult<unknown>, expected: string): void {
  expect(r.status).toBeLessThan(500);
  expect(r.errors?.map((e) => e.extensions?.code)).toEqual([expected]);
  expect(r.errors?.[0].message).not.toBe('Unexpected error.');
}

const CREATE = 'mutation($i: CreateContactInput!) { createContact(input: $i) { id } }';

describe('strings PostgreSQL cannot store', () => {
  it('refuses a NUL in a variable, nested inputs and lists included, naming the path; nothing is written', async () => {
    const before = await contactCount();
    const top = await gql(CREATE, { i: { email: 'a\u0000@x.test' } });
    refused(top, 'BAD_USER_INPUT');
    expect(top.errors?.[0].message).toMatch(/\$i\.email .*NUL/);
    expect(top.errors?.[0].extensions?.path).toEqual(['variables', 'i', 'email']);
    const nested = await gql(CREATE, { i: { fields: [{ name: 'x', value: 'v\u0000' }] } });
    refused(nested, 'BAD_USER_INPUT');
    expect(nested.errors?.[0].message).toContain('$i.fields[0].value');
    refused(
      await gql('query($f: ContactFilter) { contacts(filter: $f) { nodes { id } } }', {
        f: { search: '\u0000' },
      }),
      'BAD_USER_INPUT',
    );
    refused(
      await gql('mutation($ids: [ID!]!) { deleteContacts(ids: $ids) }', { ids: ['1', '2\u0000'] }),
      'BAD_USER_INPUT',
    );
    expect(await contactCount()).toBe(before);
  });

  it('refuses a NUL written as an escape in the document', async () => {
    const r = await gql('mutation { createContact(input: { firstName: "a\\u0000b" }) { id } }');
    refused(r, 'BAD_USER_INPUT');
    expect(r.errors?.[0].message).toMatch(/argument input .*NUL/);
  });

  it('refuses lone UTF-16 surrogates (they break jsonb), in values and in object keys', async () => {
    const before = await contactCount();
    refused(await gql(CREATE, { i: { firstName: 'x\ud800y' } }), 'BAD_USER_INPUT');
    refused(await gql(CREATE, { i: { lastName: '\udc00' } }), 'BAD_USER_INPUT');
    // The JSON text itself carries the escape: what a hostile client sends.
    const r = await raw(`{"query":${JSON.stringify(CREATE)},"variables":{"i":{"city":"\\ud83d"}}}`);
    refused(r, 'BAD_USER_INPUT');
    expect(r.errors?.[0].message).toMatch(/surrogate/);
    refused(await gql(CREATE, { i: { '\ud800': 'x' } }), 'BAD_USER_INPUT');
    expect(await contactCount()).toBe(before);
    // A surrogate pair (an emoji) is fine.
    expect(code(await gql(CREATE, { i: { firstName: 'Zoé 😀' } }))).toBeNull();
  });

  it('refuses them over graphql-ws too', async () => {
    const client = t.ws(owner.token);
    const got = await new Promise<unknown>((resolve) => {
      client.subscribe(
        {
          query: 'subscription($id: ID!) { importProgress(importId: $id) { id } }',
          variables: { id: 'x\u0000' },
        },
        { next: resolve, error: resolve, complete: () => resolve('complete') },
      );
    });
    const errors = (got as { errors?: { extensions?: { code?: string } }[] }).errors ?? (got as never);
    expect(JSON.stringify(errors)).toContain('BAD_USER_INPUT');
    expect(JSON.stringify(errors)).toContain('NUL');
  });

  it('gives parse refusals their code over graphql-ws too (yoga adds it over HTTP only)', async () => {
    const client = t.ws(owner.token);
    const first = (query: string) =>
      new Promise<string>((resolve) => {
        client.subscribe(
          { query },
          {
            next: (v) => resolve(JSON.stringify(v)),
            error: (e) => resolve(JSON.stringify(e)),
            complete: () => resolve('complete'),
          },
        );
      });
    const deep = await first(
      `subscription { bounceReceived { ${'... on Bounce { '.repeat(100_000)}id${' }'.repeat(100_000)} } }`,
    );
    expect(deep).toContain('GRAPHQL_PARSE_FAILED');
    expect(deep).toContain('nests more than 64 levels');
    const tokens = await first(`subscription { bounceReceived { ${'id '.repeat(4100)} } }`);
    expect(tokens).toContain('GRAPHQL_PARSE_FAILED');
    client.dispose();
  });

  it('codes an unknown or missing operation name over graphql-ws as over HTTP', async () => {
    const client = t.ws(owner.token);
    const first = (payload: { query: string; operationName?: string }) =>
      new Promise<string>((resolve) => {
        client.subscribe(payload, {
          next: (v) => resolve(JSON.stringify(v)),
          error: (e) => resolve(JSON.stringify(e)),
          complete: () => resolve('complete'),
        });
      });
    const two = 'query A { __typename } query B { __typename }';
    for (const payload of [{ query: two }, { query: two, operationName: 'Nope' }])
      expect(await first(payload)).toContain('OPERATION_RESOLUTION_FAILURE');
    expect(code(await t.gql(two, undefined, owner.token))).toBe('OPERATION_RESOLUTION_FAILURE');
    client.dispose();
  });

  it('refuses variables of more values than any input needs, and does not walk undeclared ones', async () => {
    const ids = Array.from({ length: MAX_INPUT_VALUES }, (_, i) => `${i}`);
    const r = await raw(
      JSON.stringify({ query: 'mutation ($ids: [ID!]!) { deleteContacts(ids: $ids) }', variables: { ids } }),
    );
    expect(code(r)).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0].message).toContain('values in one request');
    // graphql-js ignores a variable the operation does not declare: nothing to refuse in it.
    const junk = await raw(
      JSON.stringify({ query: '{ __typename }', variables: { junk: ['\u0000', ...ids.slice(0, 10)] } }),
    );
    expect(junk.data).toEqual({ __typename: 'Query' });
  });

  it('refuses a number JSON reads as Infinity', async () => {
    const r = await raw(
      '{"query":"query($n: Int) { contacts(first: $n) { nodes { id } } }","variables":{"n":1e999}}',
    );
    refused(r, 'BAD_USER_INPUT');
  });
});

describe('values nested past any recursion', () => {
  const score = (criterion: string) =>
    raw(
      `{"query":"mutation($i: CreateScoreInput!) { createScore(input: $i) { id } }","variables":{"i":{"name":"s","conditions":[{"mode":"FIXED","value":"1","criterion":${criterion}}]}}}`,
    );
  const leaf = '{"field":{"name":"email","op":"IS_SET"}}';

  it('refuses a criterion nested 100,000 deep with BAD_USER_INPUT, not a stack overflow (HTTP 500)', async () => {
    const r = await score(`${'{"not":'.repeat(100_000)}${leaf}${'}'.repeat(100_000)}`);
    refused(r, 'BAD_USER_INPUT');
    expect(r.errors?.[0].message).toMatch(/nest at most/);
    // Lists nest the same way.
    refused(await score(`${'{"all":['.repeat(50_000)}${leaf}${']}'.repeat(50_000)}`), 'BAD_USER_INPUT');
    // The server still answers.
    expect((await gql('{ __typename }')).data).toEqual({ __typename: 'Query' });
  });

  it("keeps the criterion's own limit for depths the guard lets through", async () => {
    const r = await score(`${'{"not":'.repeat(10)}${leaf}${'}'.repeat(10)}`);
    refused(r, 'BAD_USER_INPUT');
    expect(r.errors?.[0].message).toMatch(/criteria nest at most 6 levels/);
  });

  it('refuses documents nested 100,000 deep (selection sets, list literals) as parse errors, not a 500', async () => {
    for (const q of [
      `{ ${'me { '.repeat(100_000)}id${' }'.repeat(100_000)} }`,
      `{ contacts(filter: { search: ${'['.repeat(100_000)}"x"${']'.repeat(100_000)} }) { nodes { id } } }`,
    ]) {
      const r = await gql(q);
      expect(r.status).toBe(400);
      expect(code(r)).toBe('GRAPHQL_PARSE_FAILED');
      expect(r.errors?.[0].message).toMatch(/nests more than 64 levels/);
    }
    // Braces inside strings, block strings and comments are not nesting.
    const braces = '{['.repeat(100);
    const search = (literal: string) => `{ contacts(filter: { search: ${literal} }) { nodes { id } } }`;
    expect((await gql(`# ${braces}\n${search(`"${braces}"`)}`)).errors).toBeUndefined();
    expect((await gql(search(`"""${braces} \\""" ${braces}"""`))).errors).toBeUndefined();
  });

  it('refuses a deep literal in the document with a code', async () => {
    const deep = `${'{ not: '.repeat(1300)}{ field: { name: "email", op: IS_SET } }${' }'.repeat(1300)}`;
    const r = await gql(
      `mutation { createScore(input: { name: "s", conditions: [{ mode: FIXED, value: "1", criterion: ${deep} }] }) { id } }`,
    );
    expect(r.status).toBeLessThan(500);
    expect(r.errors?.[0].extensions?.code).toMatch(
      /^(GRAPHQL_PARSE_FAILED|GRAPHQL_VALIDATION_FAILED|BAD_USER_INPUT)$/,
    );
  });
});

describe('DateTime and dates outside PostgreSQL', () => {
  const AUDIT = 'query($f: DateTime) { auditLog(filter: { from: $f }) { nodes { id } } }';

  it('refuses instants past PostgreSQL or in year 0 with BAD_USER_INPUT, in variables and literals', async () => {
    for (const f of ['+275760-09-13T00:00:00.000Z', '0000-01-01T00:00:00Z', '0001-01-01T00:30:00+01:00']) {
      const r = await gql(AUDIT, { f });
      refused(r, 'BAD_USER_INPUT');
    }
    refused(
      await gql('{ auditLog(filter: { to: "0000-01-01T00:00:00Z" }) { nodes { id } } }'),
      'BAD_USER_INPUT',
    );
    // The scalar's own refusals carry the code too.
    refused(await gql(AUDIT, { f: 'yesterday' }), 'BAD_USER_INPUT');
    // new Date() would read February 31st as March 3rd.
    refused(await gql(AUDIT, { f: '2026-02-31T10:00:00Z' }), 'BAD_USER_INPUT');
    expect(code(await gql(AUDIT, { f: '9999-12-31T23:59:59Z' }))).toBeNull();
  });

  it('refuses them in recordEvents and recordBounce', async () => {
    const c = await gql(CREATE, { i: { email: 'when@dates.test' } });
    const contactId = (c.data as { createContact: { id: string } }).createContact.id;
    const events = await gql('mutation($e: [EventInput!]!) { recordEvents(events: $e) }', {
      e: [{ contactId, type: 'SITE_VISIT', occurredAt: '0000-01-01T00:00:00Z' }],
    });
    refused(events, 'BAD_USER_INPUT');
    const bounce = await gql('mutation($i: RecordBounceInput!) { recordBounce(input: $i) { id } }', {
      i: { message: '550 5.1.1 <when@dates.test>: user unknown', receivedAt: '+275760-09-13T00:00:00.000Z' },
    });
    refused(bounce, 'BAD_USER_INPUT');
    const n = await t.sql.query('select count(*) from contact_event where contact_id = $1', [contactId]);
    expect(Number(n.rows[0].count)).toBe(0);
  });

  it('refuses the date 0000-01-01 in birthDate, a DATE field and a DATE criterion', async () => {
    const before = await contactCount();
    refused(await gql(CREATE, { i: { birthDate: '0000-01-01' } }), 'BAD_USER_INPUT');
    expect(
      code(await gql('mutation { defineContactField(input: { name: "since", type: DATE }) { name } }')),
    ).toBeNull();
    refused(await gql(CREATE, { i: { fields: [{ name: 'since', value: '0000-01-01' }] } }), 'BAD_USER_INPUT');
    expect(await contactCount()).toBe(before);
    const r = await gql('mutation($i: CreateScoreInput!) { createScore(input: $i) { id } }', {
      i: {
        name: 'old',
        conditions: [
          {
            mode: 'FIXED',
            value: '1',
            criterion: { field: { name: 'since', op: 'LT', value: '0000-01-01' } },
          },
        ],
      },
    });
    refused(r, 'BAD_USER_INPUT');
    expect(code(await gql(CREATE, { i: { birthDate: '0001-01-01' } }))).toBeNull();
  });
});
