import { RequestCache } from '@pothos/plugin-scope-auth';
import { GraphQLError, type GraphQLField, type GraphQLResolveInfo } from 'graphql';
import { builder } from '../builder.js';
import type { AuthedContext, Context, Viewer } from '../context.js';
import { cachedViewer } from '../modules/users/auth.service.js';
import { forbidden } from '../shared/errors.js';

/**
 * The re-check of a live subscription (live.ts): the viewer loaded again, the declared scopes
 * evaluated again by Pothos against it, and what of Pothos's options it cannot honour.
 */

/** The viewer of the context's token (server.ts's context factory), loaded again. */
async function freshViewer(ctx: Context): Promise<Viewer | null> {
  if (!ctx.token) return null;
  return cachedViewer(ctx.app, ctx.token, () => ctx.app.orm.em.fork());
}

// biome-ignore lint/suspicious/noExplicitAny: Pothos's scope options, a map or a function of any shape
export type ScopeOption = any;
type ScopeAuthOptions = {
  unauthorizedError: (parent: unknown, ctx: Context, info: GraphQLResolveInfo, result: unknown) => unknown;
};

/** The declared scopes of a Pothos field or type (a map, a boolean or a function), or undefined. */
export const scopesOf = (config: { extensions?: Readonly<Record<string, unknown>> | null }): ScopeOption =>
  (config.extensions?.pothosOptions as { authScopes?: unknown } | undefined)?.authScopes;

/**
 * Loads the viewer again and evaluates the type's then the field's scopes as Pothos does at
 * subscribe time; null when they hold, else the error Pothos would have answered then.
 */
export async function recheck(
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
export function unsupportedOptions(field: GraphQLField<unknown, Context>, typeScopes: ScopeOption): string[] {
  const options = (field.extensions?.pothosOptions ?? {}) as Record<string, unknown>;
  const found = ['unauthorizedError', 'unauthorizedResolver', 'skipTypeScopes'].filter(
    (k) => options[k] !== undefined && options[k] !== false,
  );
  if (namesGranted(scopesOf(field)) || namesGranted(typeScopes)) found.push('$granted');
  return found;
}
