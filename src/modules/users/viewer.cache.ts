import { randomUUID } from 'node:crypto';
import type { AppServices, Viewer } from '../../context.js';
import type { ViewerChange } from '../../realtime/pubsub.js';

/** An entry is trusted this long at most, whatever else happens (a missed message included). */
export const VIEWER_TTL_MS = 10_000;
/** Tokens kept; past it the oldest entry goes first. */
export const MAX_VIEWERS = 10_000;
/**
 * With REDIS_URL, other processes revoke too and their messages can be lost (a dropped
 * subscription): each process sends itself a beat through Redis at most every BEAT_MS while
 * requests come, and trusts its cache only while a beat came back within HEALTHY_MS and none
 * was skipped.
 */
const BEAT_MS = 250;
const HEALTHY_MS = 1_500;
/** How long a revoking mutation waits for its announcement to come back through Redis. */
const ECHO_WAIT_MS = 2_000;

export interface LoadedViewer {
  viewer: Viewer;
  /** The session's own expiry (ms since the epoch): the entry never outlives it. */
  expiresAt: number;
}

interface Entry {
  viewer: Viewer;
  until: number;
}

/**
 * Token -> viewer, per app instance, so an authorised read does not pay a session lookup each
 * time. Revocation stays immediate:
 * - every change of a session or of a user's rights, status or details goes through `announce`
 *   after its commit: the local entries drop at once, then the change is published on
 *   `viewerChanged` and, with Redis, the mutation answers only once its own message came back
 *   (Redis has then handed it to every subscribed process);
 * - a generation counter, bumped by every change, keeps a lookup that was reading while a change
 *   arrived from being stored: it may have read the row before the change committed;
 * - with Redis the cache is bypassed (and emptied) while the beats do not come back.
 */
export class ViewerCache {
  readonly #entries = new Map<string, Entry>();
  #generation = 0;
  readonly #origin = randomUUID();
  #seq = 0;
  #seenSeq = 0;
  #lastEcho = Number.NEGATIVE_INFINITY;
  #lastBeat = Number.NEGATIVE_INFINITY;
  readonly #waiters = new Map<number, () => void>();
  readonly #watchers = new Set<(change: ViewerChange | null) => void>();
  #broken = false;

  constructor(private readonly app: AppServices) {
    this.#listen('viewerChanged', (c) => this.#receive(c));
    // Published elsewhere too (graphql-ws sessions): any session end drops its entries.
    this.#listen('sessionsRevoked', (c) => this.#drop(c));
  }

  /** Several processes share revocations only through Redis. */
  get #shared(): boolean {
    return this.app.config.redisUrl !== null;
  }

  #healthy(now: number): boolean {
    return !this.#broken && (!this.#shared || now - this.#lastEcho < HEALTHY_MS);
  }

  async viewer(tokenHash: string, load: () => Promise<LoadedViewer | null>): Promise<Viewer | null> {
    const now = Date.now();
    if (this.#shared && now - this.#lastBeat >= BEAT_MS) this.#beat(now);
    if (this.#healthy(now)) {
      const hit = this.#entries.get(tokenHash);
      if (hit && hit.until > now) return hit.viewer;
      if (hit) this.#entries.delete(tokenHash);
    } else if (this.#entries.size > 0) {
      this.#entries.clear();
    }
    const generation = this.#generation;
    const loaded = await load();
    if (loaded && generation === this.#generation && this.#healthy(Date.now())) {
      if (this.#entries.size >= MAX_VIEWERS)
        this.#entries.delete(this.#entries.keys().next().value as string);
      const until = Math.min(Date.now() + VIEWER_TTL_MS, loaded.expiresAt);
      this.#entries.set(tokenHash, { viewer: loaded.viewer, until });
    }
    return loaded?.viewer ?? null;
  }

  /**
   * Call after the change committed: drops this process's entries at once, then tells the other
   * processes and, with Redis, waits (bounded) until the message went round.
   */
  async announce(change: ViewerChange): Promise<void> {
    this.#drop(change);
    const seq = ++this.#seq;
    const echoed = this.#shared ? this.#echo(seq) : null;
    this.app.pubsub.publish('viewerChanged', { ...change, origin: this.#origin, seq });
    await echoed;
  }

  /**
   * Called with each change as its entries drop, from this process or another (open
   * subscriptions re-check their viewer on it: src/realtime/live.ts), and with null when the
   * cache lost track of changes (messages lost through Redis) and every viewer may be stale.
   * Returns the function that stops watching.
   */
  watch(on: (change: ViewerChange | null) => void): () => void {
    this.#watchers.add(on);
    return () => this.#watchers.delete(on);
  }

  #tell(change: ViewerChange | null): void {
    for (const on of this.#watchers) {
      try {
        on(change);
      } catch (err) {
        this.app.logger.error('a viewer change watcher failed', err);
      }
    }
  }

  /** For tests: entries held now. */
  get size(): number {
    return this.#entries.size;
  }

  /** `tell: false` for the echo of our own announcement: its watchers were told by `announce`. */
  #drop(change: ViewerChange, tell = true): void {
    if (!change.userId && !change.sessionIds?.length) return;
    this.#generation++;
    for (const [key, { viewer }] of this.#entries) {
      if (viewer.userId === change.userId || change.sessionIds?.includes(viewer.sessionId))
        this.#entries.delete(key);
    }
    if (tell) this.#tell(change);
  }

  #receive(change: ViewerChangeMessage): void {
    const ownSeq = change.origin === this.#origin ? change.seq : undefined;
    if (ownSeq !== undefined) {
      // Our own messages come back in order: a skipped one means the subscription lost messages,
      // other processes' revocations maybe among them.
      if (ownSeq > this.#seenSeq + 1) this.#forgetAll();
      this.#seenSeq = Math.max(this.#seenSeq, ownSeq);
      this.#lastEcho = Date.now();
      this.#waiters.get(ownSeq)?.();
    }
    // Our own echo drops again (cheap) but does not make every open stream re-check twice:
    // `announce` told the watchers already.
    this.#drop(change, ownSeq === undefined);
  }

  #forgetAll(): void {
    this.#generation++;
    this.#entries.clear();
    this.#tell(null);
  }

  #beat(now: number): void {
    this.#lastBeat = now;
    this.app.pubsub.publish('viewerChanged', { origin: this.#origin, seq: ++this.#seq });
  }

  #echo(seq: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(seq);
        this.app.logger.warn('a session or rights change did not come back through Redis in time', { seq });
        resolve();
      }, ECHO_WAIT_MS);
      timer.unref();
      this.#waiters.set(seq, () => {
        clearTimeout(timer);
        this.#waiters.delete(seq);
        resolve();
      });
    });
  }

  #listen(topic: 'viewerChanged' | 'sessionsRevoked', on: (message: ViewerChangeMessage) => void): void {
    const messages = this.app.pubsub.subscribe(topic);
    (async () => {
      for await (const m of messages) on(m as ViewerChangeMessage);
    })().catch((err) => {
      // Without its messages the cache cannot know of revocations: off for good.
      this.#broken = true;
      this.#forgetAll();
      this.app.logger.error(`${topic} listener stopped: viewer cache off`, err);
    });
  }
}

type ViewerChangeMessage = ViewerChange & { origin?: string; seq?: number };

const caches = new WeakMap<AppServices, ViewerCache>();

/** The app instance's cache (made, and subscribed, on first use). */
export function viewerCache(app: AppServices): ViewerCache {
  let cache = caches.get(app);
  if (!cache) {
    cache = new ViewerCache(app);
    caches.set(app, cache);
  }
  return cache;
}
