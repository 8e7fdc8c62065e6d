/**
 * The viewer cache on its own, with the app's real in-process pub/sub and a lookup the test
 * controls, for what the HTTP tests cannot time: a lookup reading while a revocation arrives.
 * test/viewer-revocation.test.ts checks the same promises through the API, on one process and
 * across two sharing Redis.
 */
import { describe, expect, it } from 'vitest';
import type { AppServices, Viewer } from '../../context.js';
import { createAppPubSub } from '../../realtime/pubsub.js';
import { createLogger } from '../../shared/logger.js';
import { ownerRights } from '../access/access.js';
import { type LoadedViewer, MAX_VIEWERS, ViewerCache } from './viewer.cache.js';

function services(): AppServices {
  // Only what the cache reads: the pub/sub, whether Redis is configured, a logger.
  return {
    config: { redisUrl: null },
    pubsub: createAppPubSub(null),
    logger: createLogger('silent'),
  } as unknown as AppServices;
}

const viewer = (userId: string, sessionId = `s-${userId}`): Viewer => ({
  userId,
  accountId: 'a',
  email: `${userId}@example.com`,
  isOwner: false,
  rights: ownerRights(),
  sessionId,
});
const loaded = (v: Viewer, ttl = 3_600_000): LoadedViewer => ({ viewer: v, expiresAt: Date.now() + ttl });

/** A lookup that counts its calls and answers what `answer` holds. */
function lookup(answer: () => LoadedViewer | null | Promise<LoadedViewer | null>) {
  const fn = async () => {
    fn.calls++;
    return answer();
  };
  fn.calls = 0;
  return fn;
}

describe('ViewerCache', () => {
  it('looks a token up once, then answers from memory', async () => {
    const cache = new ViewerCache(services());
    const load = lookup(() => loaded(viewer('u1')));
    expect(await cache.viewer('h1', load)).toMatchObject({ userId: 'u1' });
    expect(await cache.viewer('h1', load)).toMatchObject({ userId: 'u1' });
    expect(load.calls).toBe(1);
  });

  it('does not keep unknown tokens, so a later valid answer is not hidden', async () => {
    const cache = new ViewerCache(services());
    let answer: LoadedViewer | null = null;
    const load = lookup(() => answer);
    expect(await cache.viewer('h1', load)).toBeNull();
    answer = loaded(viewer('u1'));
    expect(await cache.viewer('h1', load)).toMatchObject({ userId: 'u1' });
    expect(load.calls).toBe(2);
  });

  it("drops a user's entries, or a session's, when a change is announced", async () => {
    const cache = new ViewerCache(services());
    const a = lookup(() => loaded(viewer('u1', 's1')));
    const b = lookup(() => loaded(viewer('u1', 's2')));
    const c = lookup(() => loaded(viewer('u2', 's3')));
    await cache.viewer('h1', a);
    await cache.viewer('h2', b);
    await cache.viewer('h3', c);
    await cache.announce({ sessionIds: ['s1'] });
    await cache.viewer('h1', a);
    await cache.viewer('h2', b);
    expect([a.calls, b.calls]).toEqual([2, 1]);
    await cache.announce({ userId: 'u1' });
    await cache.viewer('h1', a);
    await cache.viewer('h2', b);
    await cache.viewer('h3', c);
    expect([a.calls, b.calls, c.calls]).toEqual([3, 2, 1]);
  });

  it('does not store what a lookup read while a change arrived: it may predate the commit', async () => {
    const cache = new ViewerCache(services());
    let release: (v: LoadedViewer) => void = () => {};
    const stale = lookup(() => new Promise<LoadedViewer>((resolve) => (release = resolve)));
    const reading = cache.viewer('h1', stale);
    await cache.announce({ userId: 'u1' }); // committed and announced while the lookup reads
    release(loaded(viewer('u1')));
    expect(await reading).toMatchObject({ userId: 'u1' }); // that request began before the change
    const fresh = lookup(() => null); // the database now says: revoked
    expect(await cache.viewer('h1', fresh)).toBeNull();
    expect(fresh.calls).toBe(1);
    expect(cache.size).toBe(0);
  });

  it('hears changes published by another instance on the same pub/sub', async () => {
    const app = services();
    const here = new ViewerCache(app);
    const there = new ViewerCache(app);
    const load = lookup(() => loaded(viewer('u1')));
    await here.viewer('h1', load);
    await there.announce({ userId: 'u1' });
    await new Promise((r) => setImmediate(r)); // in-process delivery is asynchronous
    await here.viewer('h1', load);
    expect(load.calls).toBe(2);
  });

  it("never keeps an entry past its session's expiry", async () => {
    const cache = new ViewerCache(services());
    const load = lookup(() => loaded(viewer('u1'), 30));
    await cache.viewer('h1', load);
    await new Promise((r) => setTimeout(r, 60));
    await cache.viewer('h1', load);
    expect(load.calls).toBe(2);
  });

  it('holds at most MAX_VIEWERS tokens, dropping the oldest first', async () => {
    const cache = new ViewerCache(services());
    const load = lookup(() => loaded(viewer('u1')));
    for (let i = 0; i <= MAX_VIEWERS; i++) await cache.viewer(`h${i}`, load);
    expect(cache.size).toBe(MAX_VIEWERS);
    await cache.viewer(`h${MAX_VIEWERS}`, load);
    expect(load.calls).toBe(MAX_VIEWERS + 1);
    await cache.viewer('h0', load);
    expect(load.calls).toBe(MAX_VIEWERS + 2);
  });

  it("tells its watchers of every change, its own and other instances', until they stop watching", async () => {
    const app = services();
    const here = new ViewerCache(app);
    const there = new ViewerCache(app);
    const heard: unknown[] = [];
    const stop = here.watch((c) => heard.push(c));
    await here.announce({ userId: 'u1' });
    await there.announce({ sessionIds: ['s2'] });
    await new Promise((r) => setImmediate(r)); // in-process delivery is asynchronous
    expect(heard).toContainEqual({ userId: 'u1' });
    expect(heard).toContainEqual(expect.objectContaining({ sessionIds: ['s2'] }));
    stop();
    const before = heard.length;
    await here.announce({ userId: 'u3' });
    await new Promise((r) => setImmediate(r));
    expect(heard.length).toBe(before);
  });

  it('tells its watchers of its own change once, not again when its message comes back', async () => {
    const app = services();
    const here = new ViewerCache(app);
    const there = new ViewerCache(app);
    const heard: unknown[] = [];
    const heardThere: unknown[] = [];
    here.watch((c) => heard.push(c));
    there.watch((c) => heardThere.push(c));
    await here.announce({ userId: 'u1' });
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r)); // the echo arrives
    expect(heard).toEqual([{ userId: 'u1' }]);
    expect(heardThere).toEqual([expect.objectContaining({ userId: 'u1' })]);
  });
});
