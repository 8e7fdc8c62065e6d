import { RequestCache } from '@pothos/plugin-scope-auth';
import {
  defaultFieldResolver,
  GraphQLError,
  type GraphQLField,
  type GraphQLResolveInfo,
  type GraphQLSchema,
} from 'graphql';
import { builder } from '../builder.js';
import type { AuthedContext, Context, Viewer } from '../context.js';
import { cachedViewer } from '../modules/users/auth.service.js';
import { viewerCache } from '../modules/users/viewer.cache.js';
import { forbidden } from '../shared/errors.js';
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

/** The viewer of the context's token (server.ts's context factory), loaded again. */
async function freshViewer(ctx: Context): Promise<Viewer | null> {
  if (!ctx.token) return null;
  return cachedViewer(ctx.app, ctx.token, () => ctx.app.orm.em.fork());
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

// biome-ignore lint/suspicious/noExplicitAny: Pothos's scope options, a map or a function of any shape
type ScopeOption = any;
type ScopeAuthOptions = {
  unauthorizedError: (parent: unknown, ctx: Context, info: GraphQLResolveInfo, result: unknown) => unknown;
};

/** The declared scopes of a Pothos field or type (a map, a boolean or a function), or undefined. */
const scopesOf = (config: { extensions?: Readonly<Record<string, unknown>> | null }): ScopeOption =>
  (config.extensions?.pothosOptions as { authScopes?: unknown } | undefined)?.authScopes;

/**
 * Loads the viewer again and evaluates the type's then the field's scopes as Pothos does at
 * subscribe time; null when they hold, else the error Pothos would have answered then.
 */
async function recheck(
  ctx: Context,
  typeScopes: ScopeOption,
  fieldScopes: ScopeOption,
  root: unknown,
  args: Record<string, unknown>,
  info: GraphQLResolveInfo,
  rule: { allowed?: (ctx: AuthedContext) => GraphQLError | null },
): Promise<GraphQLError | null> {
  ctx.viewer = await freshViewer(ctx);
  RequestCache.clearForContext(ctx);
  const cache = RequestCache.fromContext(ctx, builder);
  const denied = (message: string, failure?: unknown): GraphQLError => {
    const options = builder.options.scopeAuth as unknown as ScopeAuthOptions;
    const error = options.unauthorizedError(root, ctx, info, { message, failure });
    return error instanceof GraphQLError ? error : forbidden(String(error));
  };
  // As Pothos runs them at subscribe time: the Subscription type's scopes, then the field's.
  const type = info.parentType.name;
  const forType = typeof typeScopes === 'function' ? await typeScopes(root, ctx) : typeScopes;
  if (forType !== undefined) {
    const failure = await cache.evaluateScopeMap(forType as never, info);
    if (failure) return denied(`Not authorized to read fields for ${type}`, failure);
  }
  const forField = typeof fieldScopes === 'function' ? await fieldScopes(root, args, ctx, info) : fieldScopes;
  // No grants to read here (see unsupportedOptions): fail closed rather than guess.
  if (namesGranted(forField) || namesGranted(forType))
    throw new Error(`${type}.${info.fieldName} scopes name $granted`);
  if (forField !== undefined) {
    const failure = await cache.evaluateScopeMap(forField as never, info);
    if (failure) return denied(`Not authorized to resolve ${type}.${info.fieldName}`, failure);
  }
  // A viewer gone always ends the stream, whatever the field declares.
  if (!ctx.viewer) return denied('Session ended');
  return rule.allowed?.(ctx as AuthedContext) ?? null;
}

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
  let wake = () => {};
  let changed = new Promise<typeof CHANGED>((r) => {
    wake = () => r(CHANGED);
  });
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
      const got = await Promise.race([pending, changed]);
      if (ended) break;
      if (got === CHANGED) {
        // A change for this user or session: re-check now, even with no event in sight. One
        // arriving during the check wakes the next round.
        changed = new Promise((r) => {
          wake = () => r(CHANGED);
        });
        const error = await check();
        if (error) return endWith(error);
        continue;
      }
      pending = null;
      if (got.done) {
        await end();
        return got;
      }
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

/** Whether a scope map (or a boolean) names `$granted`, at any depth of `$any` / `$all`. */
function namesGranted(scopes: unknown): boolean {
  if (typeof scopes !== 'object' || scopes === null) return false;
  return Object.entries(scopes).some(
    ([k, v]) => k === '$granted' || ((k === '$any' || k === '$all') && namesGranted(v)),
  );
}

/**
 * What the re-check cannot evaluate as Pothos does: a field's own unauthorizedError or
 * unauthorizedResolver (it answers the builder's error), skipTypeScopes (it always runs the
 * type's scopes) and `$granted` (grants come from a parent resolver, and a Subscription field has
 * none to re-run). A field using one would be checked by other rules live than at subscribe time:
 * start-up refuses it. A scope function is looked at when it runs (recheck).
 */
function unsupportedOptions(field: GraphQLField<unknown, Context>, typeScopes: ScopeOption): string[] {
  const options = (field.extensions?.pothosOptions ?? {}) as Record<string, unknown>;
  const found = ['unauthorizedError', 'unauthorizedResolver', 'skipTypeScopes'].filter(
    (k) => options[k] !== undefined && options[k] !== false,
  );
  if (namesGranted(scopesOf(field)) || namesGranted(typeScopes)) found.push('$granted');
  return found;
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
