import { getIntrospectionQuery } from 'graphql';
import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, code, signUpOwner, startTestApp, type TestApp } from './harness.js';

let t: TestApp;
let owner: Actor;

beforeAll(async () => {
  t = await startTestApp();
  owner = await signUpOwner(t);
});
afterAll(() => t.close());

describe('GraphQL over HTTP', () => {
  it('passes every MUST audit of graphql-http', async () => {
    const audits = serverAudits({ url: () => t.url });
    const failures: string[] = [];
    let musts = 0;
    for (const audit of audits) {
      if (!audit.name.startsWith('MUST')) continue;
      musts++;
      const result = await audit.fn();
      if (result.status !== 'ok') failures.push(`${audit.name}: ${result.reason}`);
    }
    expect(failures).toEqual([]);
    expect(musts).toBeGreaterThan(10);
  });

  it('answers queries over GET and refuses mutations over GET', async () => {
    const q = encodeURIComponent('{ me { id } }');
    const res = await fetch(`${t.url}?query=${q}`, { headers: { authorization: `Bearer ${owner.token}` } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { data: { me: { id: string } } }).data.me.id).toBe(owner.userId);
    const m = encodeURIComponent('mutation { logout }');
    const denied = await fetch(`${t.url}?query=${m}`, {
      headers: { authorization: `Bearer ${owner.token}` },
    });
    expect(denied.status).toBe(405);
  });

  it('serves GraphiQL to a browser', async () => {
    const res = await fetch(t.url, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/graphiql/i);
  });

  it('streams subscriptions over SSE with the same rights as HTTP', async () => {
    const controller = new AbortController();
    const res = await fetch(t.url, {
      method: 'POST',
      signal: controller.signal,
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${owner.token}`,
      },
      body: JSON.stringify({ query: 'subscription { auditEntryAdded { action } }' }),
    });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    await new Promise((r) => setTimeout(r, 200));
    await t.gql(
      'mutation { updateAccountSettings(input: { accountName: "Via SSE" }) { accountName } }',
      {},
      owner.token,
    );
    let text = '';
    while (!text.includes('updateAccountSettings')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    controller.abort();
    expect(text).toContain('"action":"updateAccountSettings"');

    const anon = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: 'subscription { auditEntryAdded { action } }' }),
    });
    expect(await anon.text()).toContain('UNAUTHENTICATED');
  });
});

describe('protection of the endpoint', () => {
  it('refuses queries that are too deep, too costly, too aliased or too long, but lets GraphiQL introspect', async () => {
    const refused = async (query: string, pattern: RegExp) => {
      const r = await t.gql(query, {}, owner.token);
      expect(r.errors?.[0]?.message).toMatch(pattern);
      expect(r.data ?? null).toBeNull();
    };
    await refused(
      '{ __type(name: "User") { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } } } }',
      /depth limit of 10/,
    );
    await refused(`{ ${Array.from({ length: 20 }, (_, i) => `a${i}: me { id }`).join(' ')} }`, /alias/i);
    await refused(
      `{ ${Array.from({ length: 12 }, (_, i) => `a${i}: auditLog(first: 200) { nodes { id diff userEmail } }`).join(' ')} }`,
      /Cost limit/,
    );
    await refused(`{ ${Array.from({ length: 3000 }, () => 'me { id }').join(' ')} }`, /Token limit/);
    const introspection = await t.gql(getIntrospectionQuery(), {}, null);
    expect(introspection.errors).toBeUndefined();

    const big = 'x'.repeat(9 * 1024 * 1024);
    const res = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ me { id } }', variables: { big } }),
    });
    expect(res.status).toBe(413);
    expect(
      ((await res.json()) as { errors: { extensions?: { code?: string } }[] }).errors[0].extensions?.code,
    ).toBe('REQUEST_ENTITY_TOO_LARGE');
  });

  it('masks unexpected errors: no stack trace, no internals', async () => {
    const r = await t.gql('{ auditLog(first: 0) { nodes { id } } }', {}, owner.token);
    expect(code(r)).toBe('BAD_USER_INPUT');
    const res = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${owner.token}` },
      body: JSON.stringify({ query: '{ me { id nope } }' }),
    });
    const body = await res.text();
    expect(body).not.toMatch(/at \w+ \(|node_modules|\.ts:\d+/);
    expect(body).not.toMatch(/Did you mean/);
    // A real internal failure: the table behind auditLog is gone for a moment.
    await t.sql.query('alter table audit_entry rename to audit_entry_away');
    try {
      const failed = await fetch(t.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${owner.token}` },
        body: JSON.stringify({ query: '{ auditLog(first: 5) { nodes { id } } }' }),
      }).then((r) => r.text());
      expect(failed).toContain('Unexpected error.');
      expect(failed).not.toMatch(/audit_entry|relation|select |at \w+ \(|\.ts:\d+/);
    } finally {
      await t.sql.query('alter table audit_entry_away rename to audit_entry');
    }
  });
});
