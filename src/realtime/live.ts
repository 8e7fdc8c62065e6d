import { defaultFieldResolver, GraphQLError, type GraphQLField, type GraphQLSchema } from 'graphql';
import type { AuthedContext, Context } from '../context.js';
import { viewerCache } from '../modules/users/viewer.cache.js';
import { forbidden } from '../shared/errors.js';
import { recheck, scopesOf, unsupportedOptions } from './live.recheck.js';
import type { ViewerChange } from './pubsub.js';

/**
 * Rights and sessions of open subscriptions stay live (issue 10, 1). Pothos checks a Subscription
 * field's scopes once, when it starts (authorizeOnSubscribe); a stream then lives for hours. So
 * every Subscription field is wrapped when the schema is built (`liveSubscriptions`):
 * - before each event is delivered, the viewer is loaded again through the viewer cache (which
 *   every change of a session, of a user's rights or status empties at once, on every process,
 *   before the changing mutation answers) and the field's declared scopes are evaluated again,
 *   by Pothos itself, against it;
 * - when the cache hears of a change for the stream's user or session, the stream re-checks at
 *   once, without waiting for an event, so a stream of a disabled user ends even if it is quiet;
 * - a failed check ends the stream with an error in it (UNAUTHENTICATED: the session is gone;
 *   FORBIDDEN: its scopes no longer hold), then completes;
 * - a passed check puts the fresh viewer in `ctx.viewer` and empties Pothos's per-context scope
 *   cache, so the payload's field resolvers and their own scopes see the rights of now.
 */

/** The extension key marking a wrapped field: start-up refuses a Subscription field without it. */
const LIVE = 'cibleLive';
/** Extension key of a field's `liveRule`. */
const RULE = 'cibleLiveRule';

/** What a Subscription field adds to its declared scopes, evaluated with the fresh viewer. */
export interface LiveRule<T, S> {
  /** At subscribe time: what the stream was opened for (e.g. whether it reads others' entries). */
  start: (ctx: AuthedContext) => S;
  /** After each fresh load, beside the declared scopes: an error ends the stream with it. */
  allowed?: (ctx: AuthedContext, start: S) => GraphQLError | null;
  /** Per payload: false drops it (a filter inside `subscribe` would see an earlier viewer). */
  deliver?: (payload: T, ctx: AuthedContext, start: S) => boolean;
}

/** For a Subscription field's `extensions`: rules that depend on the viewer's rights of now. */
export function liveRule<T, S>(rule: LiveRule<T, S>): Record<string, unknown> {
  return { [RULE]: rule };
}

/** What a stream yields in place of an event to end with an error: its resolver throws it. */
class Ending {
  constructor(readonly error: GraphQLError) {}
}

/**
 * What ends a stream whose re-check or source failed with anything but a coded error (the
 * database unreachable, a bug): it fails closed, with a code and without the driver's message,
 * which graphql-ws would otherwise send as it is.
 */
const streamFailed = () =>
  forbidden('This stream ended: the rights it needs could not be checked again. Subscribe again later');

const isCoded = (err: unknown): err is GraphQLError =>
  err instanceof GraphQLError && typeof err.extensions?.code === 'string';

const concerns = (change: ViewerChange | null, who: { userId: string; sessionId: string }) =>
  change === null || change.userId === who.userId || (change.sessionIds?.includes(who.sessionId) ?? false);

const CHANGED = Symbol('changed');
/** Over how long the re-checks of every open stream are spread when the viewer cache lost track. */
const SPREAD_MS = 1_000;

/** The source's events, each delivered only after `check` passed; see the module comment. */
function liveStream(
  source: AsyncIterable<unknown>,
  ctx: AuthedContext,
  check: () => Promise<GraphQLError | null>,
  deliver: ((payload: unknown) => boolean) | undefined,
): AsyncIterableIterator<unknown> {
  const events = source[Symbol.asyncIterator]();
  const who = { userId: ctx.viewer.userId, sessionId: ctx.viewer.sessionId };
  let pending: Promise<IteratorResult<unknown>> | null = null;
  // A change seen and not yet re-checked, and the waiter of the pull in progress. Not one promise
  // for the stream's life raced on every pull: each race left a handler on it holding that
  // race's event, so a long stream kept every payload it delivered until its user changed.
  let dirty = false;
  let wakeNow: (() => void) | null = null;
  const wake = () => {
    dirty = true;
    wakeNow?.();
  };
  let spread: NodeJS.Timeout | undefined;
  const stopWatching = viewerCache(ctx.app).watch((change) => {
    if (change !== null) {
      if (concerns(change, who)) wake();
      return;
    }
    // The cache lost track (messages lost through Redis): every open stream of the process
    // re-checks, spread over SPREAD_MS rather than all at once against the database. An event in
    // the meantime is re-checked before delivery anyway.
    if (spread) return;
    spread = setTimeout(() => {
      spread = undefined;
      wake();
    }, Math.random() * SPREAD_MS);
    spread.unref();
  });
  const unwatch = () => {
    stopWatching();
    clearTimeout(spread);
  };
  let ended = false;
  const end = async () => {
    if (ended) return;
    ended = true;
    unwatch();
    wake();
    await events.return?.();
  };
  const endWith = async (error: GraphQLError): Promise<IteratorResult<unknown>> => {
    await end();
    return { done: false, value: new Ending(error) };
  };
  const pull = async (): Promise<IteratorResult<unknown>> => {
    while (!ended) {
      if (!pending) {
        pending = events.next();
        // Observed by the race below, or by nobody once the stream ended: never unhandled.
        pending.catch(() => {});
      }
      const next = pending;
      const got = dirty
        ? CHANGED
        : await new Promise<IteratorResult<unknown> | typeof CHANGED>((resolve, reject) => {
            wakeNow = () => resolve(CHANGED);
            next.then(resolve, reject);
          }).finally(() => {
            wakeNow = null;
          });
      if (ended) break;
      if (got === CHANGED) {
        // A change for this user or session: re-check now, even with no event in sight. One
        // arriving during the check wakes the next round.
        dirty = false;
        const error = await check();
        if (error) return endWith(error);
        continue;
      }
      pending = null;
      if (got.done) {
        await end();
        return got;
      }
      // A change is announced before its audit entry is published (audit.service.ts `mutate`),
      // and Redis hands both to this process in that order, maybe in one read: let every
      // message already received reach its listener (the viewer cache's drop runs on promise
      // jobs, like this stream) before this event's viewer is looked up.
      await new Promise((r) => setImmediate(r));
      if (ended) break;
      const error = await check();
      if (error) return endWith(error);
      if (deliver && !deliver(got.value)) continue;
      return got;
    }
    return { done: true, value: undefined };
  };
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      try {
        return await pull();
      } catch (err) {
        // The source (e.g. scoreRunProgress's NOT_FOUND) or a re-check failed: stop watching and
        // listening, and end with an error in the stream, coded (see streamFailed).
        if (!ended) {
          ended = true;
          unwatch();
          Promise.resolve(events.return?.()).catch(() => {});
        }
        if (isCoded(err)) return { done: false, value: new Ending(err) };
        ctx.app.logger.error('a live subscription failed: it ends with FORBIDDEN', err);
        return { done: false, value: new Ending(streamFailed()) };
      }
    },
    async return() {
      await end();
      return { done: true, value: undefined };
    },
    async throw(err: unknown) {
      await end();
      throw err;
    },
  };
}

const isAsyncIterable = (v: unknown): v is AsyncIterable<unknown> =>
  typeof v === 'object' && v !== null && Symbol.asyncIterator in v;

/** Wraps every Subscription field of a built schema; called once by buildSchema. */
export function liveSubscriptions(schema: GraphQLSchema): void {
  const type = schema.getSubscriptionType();
  if (!type) return;
  const typeScopes = scopesOf(type);
  for (const field of Object.values(type.getFields()) as GraphQLField<unknown, Context>[]) {
    const subscribe = field.subscribe;
    if (!subscribe) throw new Error(`Subscription.${field.name} has no subscribe function`);
    const unsupported = unsupportedOptions(field, typeScopes);
    if (unsupported.length)
      throw new Error(
        `Subscription.${field.name} uses ${unsupported.join(', ')}, which its live re-check cannot honour`,
      );
    const resolve = field.resolve ?? defaultFieldResolver;
    const fieldScopes = scopesOf(field);
    const rule = field.extensions?.[RULE] as LiveRule<unknown, unknown> | undefined;
    field.subscribe = async (root, args, ctx, info) => {
      const source = await subscribe(root, args, ctx, info);
      // Refused at subscribe time (no viewer, or an error result): nothing to keep live.
      if (!isAsyncIterable(source) || !ctx.viewer) return source;
      const authed = ctx as AuthedContext;
      const start = rule?.start(authed);
      const allowed = rule?.allowed;
      const deliver = rule?.deliver;
      const check = () =>
        recheck(ctx, typeScopes, fieldScopes, root, args, info, {
          allowed: allowed && ((c) => allowed(c, start)),
        });
      return liveStream(source, authed, check, deliver && ((payload) => deliver(payload, authed, start)));
    };
    field.resolve = (payload, args, ctx, info) => {
      if (payload instanceof Ending) throw payload.error;
      return resolve(payload, args, ctx, info);
    };
    (field as { extensions: Record<string, unknown> }).extensions = { ...field.extensions, [LIVE]: true };
  }
}

/** Start-up refuses a schema with a Subscription field whose stream is not kept live. */
export function assertEverySubscriptionLive(schema: GraphQLSchema): void {
  const type = schema.getSubscriptionType();
  const bare = Object.values(type?.getFields() ?? {})
    .filter((f) => f.extensions?.[LIVE] !== true)
    .map((f) => `Subscription.${f.name}`);
  if (bare.length) throw new Error(`Subscription fields not re-authorised per event: ${bare.join(', ')}`);
}
