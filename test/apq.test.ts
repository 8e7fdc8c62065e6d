import { createHash } from 'node:crypto';
import { ApolloClient, ApolloLink, gql, HttpLink, InMemoryCache } from '@apollo/client';
import { createPersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APQ_MAX_BYTES, QueryStore } from '../src/http/apq.js';
import { type Actor, signUpOwner, startTestApp, type TestApp } from './harness.js';

/** Automatic persisted queries with the real Apollo Client 4 link against a running server. */
let t: TestApp;
let owner: Actor;

beforeAll(async () => {
  t = await startTestApp();
  owner = await signUpOwner(t);
});
afterAll(() => t.close());

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

interface Sent {
  method: string;
  query: string | null;
  hash: string | null;
}

/** An Apollo client whose every request is recorded as it leaves, before the server sees it. */
function apollo(opts: { useGETForHashedQueries?: boolean } = {}) {
  const sent: Sent[] = [];
  const recording: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    const method = init?.method ?? 'GET';
    const body =
      method === 'POST'
        ? (JSON.parse(String(init?.body)) as { query?: string; extensions?: Record<string, unknown> })
        : {
            query: url.searchParams.get('query') ?? undefined,
            extensions: JSON.parse(url.searchParams.get('extensions') ?? '{}'),
          };
    const pq = body.extensions?.persistedQuery as { sha256Hash?: string } | undefined;
    sent.push({ method, query: body.query ?? null, hash: pq?.sha256Hash ?? null });
    return fetch(input, init);
  };
  const client = new ApolloClient({
    cache: new InMemoryCache(),
    link: ApolloLink.from([
      createPersistedQueryLink({ sha256, useGETForHashedQueries: opts.useGETForHashedQueries ?? false }),
      new HttpLink({ uri: t.url, fetch: recording, headers: { authorization: `Bearer ${owner.token}` } }),
    ]),
  });
  return { client, sent };
}

describe('automatic persisted queries', () => {
  it('registers a query once, then sends it by hash only', async () => {
    const { client, sent } = apollo();
    const query = gql`
      query ApqMe {
        me {
          id
          email
        }
      }
    `;
    const first = await client.query<{ me: { id: string; email: string } }>({
      query,
      fetchPolicy: 'network-only',
    });
    expect(first.data?.me).toMatchObject({ id: owner.userId, email: owner.email });
    // Unknown hash first, PersistedQueryNotFound, then query and hash together.
    expect(sent.map((s) => [s.query !== null, s.hash !== null])).toEqual([
      [false, true],
      [true, true],
    ]);
    const hash = sent[0].hash!;
    expect(sha256(sent[1].query!)).toBe(hash);

    const second = await client.query({ query, fetchPolicy: 'network-only' });
    expect(second.data).toEqual(first.data);
    expect(sent).toHaveLength(3);
    expect(sent[2]).toEqual({ method: 'POST', query: null, hash });

    // The server answers the bare hash by itself (another client, nothing registered by it).
    const bare = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${owner.token}` },
      body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: hash } } }),
    });
    expect(await bare.json()).toEqual({ data: first.data });
  });

  it('works over GET for hashed queries', async () => {
    const { client, sent } = apollo({ useGETForHashedQueries: true });
    const query = gql`
      query ApqGet {
        me {
          id
        }
      }
    `;
    await client.query({ query, fetchPolicy: 'network-only' });
    const r = await client.query<{ me: { id: string } }>({ query, fetchPolicy: 'network-only' });
    expect(r.data?.me?.id).toBe(owner.userId);
    expect(sent.at(-1)).toMatchObject({ method: 'GET', query: null });
  });

  it('refuses a hash that does not match its query, and stores nothing for it', async () => {
    const wrong = sha256('something else');
    const post = (body: unknown) =>
      fetch(t.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const res = await post({
      query: '{ __typename }',
      extensions: { persistedQuery: { version: 1, sha256Hash: wrong } },
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(body.errors[0].message).toMatch(/does not match/);
    const again = await post({ extensions: { persistedQuery: { version: 1, sha256Hash: wrong } } });
    const notFound = (await again.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(notFound.errors[0]).toMatchObject({
      message: 'PersistedQueryNotFound',
      extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' },
    });
    const bad = await post({ extensions: { persistedQuery: { version: 1, sha256Hash: 'nope' } } });
    expect(bad.status).toBe(400);
    const v2 = await post({ extensions: { persistedQuery: { version: 2, sha256Hash: wrong } } });
    expect(v2.status).toBe(400);
  });

  it('keeps the server’s store within its byte bound, evicting the least recently used', async () => {
    const store = t.app.persistedQueries;
    // Comments are not tokens, so these pass the token limit while weighing 600 KB each.
    const big = (i: number) => `# ${String(i).repeat(600_000)}\nquery Big${i} { __typename }`;
    const register = (i: number) =>
      fetch(t.url, {
        method: 'POST',
        // With a token: a request without one gets 64 KiB of body.
        headers: { 'content-type': 'application/json', authorization: `Bearer ${owner.token}` },
        body: JSON.stringify({
          query: big(i),
          extensions: { persistedQuery: { version: 1, sha256Hash: sha256(big(i)) } },
        }),
      }).then((r) => r.json() as Promise<{ data?: unknown }>);
    for (let i = 1; i <= 9; i++) expect((await register(i)).data).toEqual({ __typename: 'Query' });
    expect(store.totalBytes).toBeLessThanOrEqual(APQ_MAX_BYTES);
    expect(store.get(sha256(big(1)))).toBeUndefined();
    expect(store.get(sha256(big(9)))).toBe(big(9));
  });
});

describe('QueryStore', () => {
  it('is bounded in count and in bytes, and a hit keeps an entry', () => {
    const store = new QueryStore(3, 1000);
    store.set('a', 'query A');
    store.set('b', 'query B');
    store.set('c', 'query C');
    expect(store.get('a')).toBe('query A'); // a is now the most recent
    store.set('d', 'query D');
    expect(store.size).toBe(3);
    expect(store.get('b')).toBeUndefined();
    expect(store.get('a')).toBe('query A');
    store.set('e', 'x'.repeat(900));
    expect(store.totalBytes).toBeLessThanOrEqual(1000);
    expect(store.get('e')).toHaveLength(900);
    store.set('f', 'x'.repeat(2000)); // larger than the whole store: not kept
    expect(store.get('f')).toBeUndefined();
    expect(store.get('e')).toHaveLength(900);
  });
});
