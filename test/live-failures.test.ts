/**
 * A live subscription (src/realtime/live.ts) that cannot re-check its viewer, or whose source
 * fails, ends with a coded error and without the failure's own message (fail closed), and the
 * failure is logged; start-up refuses a Subscription field whose options the re-check cannot
 * honour. Over graphql-ws and SSE against a real server and PostgreSQL; the source's failure on a
 * hand-built schema (no field of ours fails on purpose).
 */
import { GraphQLObjectType, GraphQLSchema, GraphQLString, parse, subscribe } from 'graphql';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AppServices, Context, Viewer } from '../src/context.js';
import { ownerRights } from '../src/modules/access/access.js';
import { viewerCache } from '../src/modules/users/viewer.cache.js';
import { liveSubscriptions } from '../src/realtime/live.js';
import { createAppPubSub } from '../src/realtime/pubsub.js';
import { type Actor, ok, signUpOwner, startTestApp, type TestApp, viewerWith } from './harness.js';
import { type Message, type Stream, settle, sseStream, wsStream } from './live-streams.js';

/** What a driver says when PostgreSQL goes away: it must not reach the client. */
const DRIVER = 'Connection terminated unexpectedly (pg pool detail 5432)';
const BOUNCES = 'subscription { bounceReceived { recipient } }';
const RECORD_BOUNCE = 'mutation ($m: String!) { recordBounce(input: { message: $m }) { id } }';

const recipientOf = (m: Message) =>
  typeof m === 'object' ? (m.data?.bounceReceived as { recipient?: string } | null)?.recipient : undefined;

describe('a re-check that fails ends the stream with a coded error, logged', () => {
  let t: TestApp;
  let owner: Actor;
  beforeAll(async () => {
    t = await startTestApp();
    owner = await signUpOwner(t);
  });
  afterAll(() => t?.close());

  for (const [transport, open] of [
    ['graphql-ws', (tok: string) => wsStream(t.url, tok, BOUNCES)],
    ['SSE', (tok: string) => sseStream(t.url, tok, BOUNCES)],
  ] as const) {
    it(`${transport}: the viewer lookup throws (database gone): FORBIDDEN, no driver message, then the end`, async () => {
      const member = await viewerWith(t, owner, { CONTACTS: 'GUEST' });
      const stream: Stream = open(member.token);
      const services = t.app.services;
      const logged = vi.spyOn(services.logger, 'error');
      try {
        await settle(
          stream,
          async (tag) => {
            ok(
              await t.gql(RECORD_BOUNCE, { m: `452 4.2.2 <${tag}@example.org>: Mailbox full` }, owner.token),
            );
          },
          (m, tag) => recipientOf(m) === `${tag}@example.org`,
        );
        // Every lookup of the app's database fails from now on, as with PostgreSQL down.
        const fork = vi.spyOn(services.orm.em, 'fork').mockImplementation(() => {
          throw new Error(DRIVER);
        });
        try {
          // A change of the member: the stream re-checks at once, from the database (cache dropped).
          await viewerCache(services).announce({ userId: member.userId });
          const m = await stream.next();
          expect(JSON.stringify(m)).not.toContain('pg pool detail');
          expect(typeof m === 'object' ? m.errors?.[0]?.extensions?.code : m).toBe('FORBIDDEN');
          expect(typeof m === 'object' ? (m.data ?? null) : m).toBeNull();
          expect(await stream.next()).toBe('complete');
        } finally {
          fork.mockRestore();
        }
        expect(logged.mock.calls.some(([, err]) => (err as Error | undefined)?.message === DRIVER)).toBe(
          true,
        );
      } finally {
        logged.mockRestore();
        stream.close();
      }
    });
  }
});

/** A schema with one Subscription field; liveSubscriptions wraps it as buildSchema does ours. */
function schemaWith(field: Record<string, unknown>) {
  return new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { a: { type: GraphQLString } } }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: { s: { type: GraphQLString, subscribe: async function* () {}, ...field } },
    }),
  });
}

describe('a source that fails', () => {
  it('ends the stream with a coded error, not its own message, and logs it', async () => {
    const schema = schemaWith({
      // biome-ignore lint/correctness/useYield: a source that fails before its first event
      subscribe: async function* () {
        throw new Error(DRIVER);
      },
      resolve: (v: unknown) => v,
    });
    liveSubscriptions(schema);
    const logger = { debug() {}, info() {}, warn() {}, error: vi.fn() };
    const app = {
      config: { redisUrl: null },
      pubsub: createAppPubSub(null),
      logger,
    } as unknown as AppServices;
    const viewer: Viewer = {
      userId: 'u',
      accountId: 'a',
      email: 'u@example.org',
      isOwner: true,
      rights: ownerRights(),
      sessionId: 's',
    };
    const ctx = { app, viewer, ip: null, token: 'cib_x' } as unknown as Context;
    const stream = (await subscribe({
      schema,
      document: parse('subscription { s }'),
      contextValue: ctx,
    })) as AsyncIterableIterator<{
      errors?: readonly { message: string; extensions: Record<string, unknown> }[];
    }>;
    const first = await stream.next();
    expect(first.done).toBe(false);
    expect(first.value?.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    expect(JSON.stringify(first.value)).not.toContain('pg pool detail');
    expect((await stream.next()).done).toBe(true);
    expect(logger.error).toHaveBeenCalledWith(
      expect.any(String),
      expect.objectContaining({ message: DRIVER }),
    );
  });
});

describe('start-up refuses a Subscription field the re-check cannot honour', () => {
  const refused = [
    ['unauthorizedError', { unauthorizedError: () => new Error('mine') }],
    ['unauthorizedResolver', { unauthorizedResolver: () => null }],
    ['skipTypeScopes', { skipTypeScopes: true }],
    ['$granted', { authScopes: { $granted: 'readBounces' } }],
    ['$granted', { authScopes: { $any: { $all: { $granted: 'readBounces' } } } }],
  ] as const;
  for (const [option, pothosOptions] of refused)
    it(`${option} in ${JSON.stringify(pothosOptions)}`, () => {
      const schema = schemaWith({ extensions: { pothosOptions } });
      expect(() => liveSubscriptions(schema)).toThrow(
        new RegExp(`Subscription\\.s uses .*${option.replace('$', '\\$')}`),
      );
    });

  it('a field with plain scopes passes', () => {
    const schema = schemaWith({
      extensions: { pothosOptions: { authScopes: { feature: ['CONTACTS', 'GUEST'] } } },
    });
    expect(() => liveSubscriptions(schema)).not.toThrow();
  });
});
