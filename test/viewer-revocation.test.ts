/**
 * Viewers are cached per token (src/modules/users/viewer.cache.ts); a revocation must still
 * stop a token on the very next request. Each change goes through the API of one server, and the
 * next request goes to the same server, or to a second one: a real `npm start` child process
 * on the same database and a real redis-server.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { viewerCache } from '../src/modules/users/viewer.cache.js';
import {
  type Actor,
  code,
  type GqlResult,
  ok,
  signUpOwner,
  startTestApp,
  type TestApp,
  uniqueEmail,
  viewerWith,
} from './harness.js';
import { startRedis } from './redis.js';
import { startTwoProcesses, stopTwoProcesses, type TwoProcesses } from './server-process.js';

type Call = (query: string, variables?: Record<string, unknown>, token?: string) => Promise<GqlResult<never>>;

function caller(url: string): Call {
  return async (query, variables, token) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({ query, variables }),
    });
    return { ...((await res.json()) as object), status: res.status } as GqlResult<never>;
  };
}

const ME = 'query { me { id } }';
const CONTACTS = 'query { contacts(first: 1) { nodes { id } } }';
const CREATE = 'mutation ($email: String) { createContact(input: { email: $email }) { id } }';
const SET_RIGHTS = 'mutation ($input: SetUserRightsInput!) { setUserRights(input: $input) { id } }';
const revokeInSql = (t: TestApp, userId: string) =>
  t.sql.query('update session_token set revoked_at = now() where user_id = $1', [userId]);

interface Sides {
  /** Where changes are made, and its database. */
  a: TestApp;
  owner: Actor;
  /** Where the next request goes. */
  read: Call;
}

/** The same promises, whichever server the next request reaches. */
function refusedOnTheNextRequest(sides: () => Sides) {
  const warm = async (member: Actor, query = ME) => {
    const { read } = sides();
    // The first lookup may find a second process's cache not yet trusted (its first beat still on
    // its way through Redis): the later ones are answered from it.
    for (let i = 0; i < 3; i++) ok(await read(query, {}, member.token));
  };

  it('serves a warm token from memory: a change made behind its back, in SQL, is not seen', async () => {
    const { a, owner, read } = sides();
    const member = await viewerWith(a, owner, { CONTACTS: 'GUEST' });
    await warm(member);
    await revokeInSql(a, member.userId);
    // Proves the cache is in use: the refusals below come from the announcements, not from a lookup.
    expect(ok(await read(ME, {}, member.token))).toBeTruthy();
  });

  it('refuses a logged-out session', async () => {
    const { a, owner, read } = sides();
    const member = await viewerWith(a, owner, { CONTACTS: 'GUEST' });
    await warm(member);
    ok(await a.gql('mutation { logout }', {}, member.token));
    expect(code(await read(ME, {}, member.token))).toBe('UNAUTHENTICATED');
  });

  it('applies a rights change, down and up', async () => {
    const { a, owner, read } = sides();
    const member = await viewerWith(a, owner, { CONTACTS: 'GUEST' });
    await warm(member, CONTACTS);
    const set = async (level: string) =>
      ok(
        await a.gql(
          SET_RIGHTS,
          { input: { userId: member.userId, rights: [{ feature: 'CONTACTS', level }] } },
          owner.token,
        ),
      );
    await set('NONE');
    expect(code(await read(CONTACTS, {}, member.token))).toBe('FORBIDDEN');
    await set('EDITOR');
    ok(await read(CREATE, { email: uniqueEmail('contact') }, member.token));
  });

  it('refuses a disabled user', async () => {
    const { a, owner, read } = sides();
    const member = await viewerWith(a, owner, { CONTACTS: 'GUEST' });
    await warm(member);
    ok(
      await a.gql('mutation ($id: ID!) { disableUser(id: $id) { id } }', { id: member.userId }, owner.token),
    );
    expect(code(await read(ME, {}, member.token))).toBe('UNAUTHENTICATED');
  });

  it('refuses a deleted user', async () => {
    const { a, owner, read } = sides();
    const member = await viewerWith(a, owner, { CONTACTS: 'GUEST' });
    await warm(member);
    ok(await a.gql('mutation ($id: ID!) { deleteUser(id: $id) }', { id: member.userId }, owner.token));
    expect(code(await read(ME, {}, member.token))).toBe('UNAUTHENTICATED');
  });
}

describe('on the same process', () => {
  let t: TestApp;
  let owner: Actor;
  beforeAll(async () => {
    t = await startTestApp();
    owner = await signUpOwner(t);
  });
  afterAll(() => t?.close());

  refusedOnTheNextRequest(() => ({ a: t, owner, read: t.gql as Call }));

  it('keeps what it caches for this process only', async () => {
    const member = await viewerWith(t, owner, { CONTACTS: 'GUEST' });
    ok(await t.gql(ME, {}, member.token));
    expect(viewerCache(t.app.services).size).toBeGreaterThan(0);
  });
});

const redis = await startRedis();

describe.skipIf(!redis)('on a second process sharing Redis', () => {
  let p: TwoProcesses;
  beforeAll(async () => {
    p = await startTwoProcesses(redis!.url, 'revocation-test-secret-revocation-test');
  }, 90_000);
  afterAll(async () => {
    await stopTwoProcesses(p);
    await redis?.stop();
  });

  refusedOnTheNextRequest(() => ({ ...p, read: caller(p.b.url) }));

  it('stops trusting its cache while its beats do not come back through Redis', async () => {
    const { a, b, owner } = p;
    const read = caller(b.url);
    const member = await viewerWith(a, owner, { CONTACTS: 'GUEST' });
    ok(await read(ME, {}, member.token));
    ok(await read(ME, {}, member.token));
    const admin = new Redis(redis!.url);
    try {
      // Nothing published goes round any more, as when a subscription silently drops; a
      // revocation made now would never be heard of.
      await admin.call('CLIENT', 'PAUSE', '10000', 'WRITE');
      await revokeInSql(a, member.userId);
      await new Promise((r) => setTimeout(r, 1_800)); // past HEALTHY_MS since the last beat came back
      expect(code(await read(ME, {}, member.token))).toBe('UNAUTHENTICATED');
    } finally {
      await admin.call('CLIENT', 'UNPAUSE');
      admin.disconnect();
    }
  });
});
