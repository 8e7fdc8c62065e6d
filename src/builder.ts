import SchemaBuilder from '@pothos/core';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import type { AuthedContext, Context } from './context.js';
import { type AccessLevel, atLeast, type Feature } from './modules/access/access.js';
import { recordDenied } from './modules/audit/security-log.js';
import { forbidden, unauthenticated } from './shared/errors.js';

/**
 * The one SchemaBuilder. Scopes (DESIGN.md "Access rights"):
 * - `public`: anyone, declared explicitly so the rights snapshot shows it;
 * - `authenticated`: any logged-in user of the account;
 * - `owner`: the account owner;
 * - `feature: [Feature, AccessLevel]`: the viewer's level in that feature is at least the one given;
 * - `someFeature: [Feature[], AccessLevel]`: at least that level in one of the features. For fields
 *   whose feature depends on the object (an operation is EMAILINGS or SMS by its kind): the scope
 *   lets through whoever could act on one kind, and the service checks the object's own kind.
 */
export const builder = new SchemaBuilder<{
  Context: Context;
  AuthScopes: {
    public: boolean;
    authenticated: boolean;
    owner: boolean;
    feature: [Feature, AccessLevel];
    someFeature: [Feature[], AccessLevel];
  };
  AuthContexts: {
    authenticated: AuthedContext;
    owner: AuthedContext;
    feature: AuthedContext;
    someFeature: AuthedContext;
  };
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    JSON: { Input: unknown; Output: unknown };
    /** A multipart upload (GraphQL multipart request spec); yoga hands over a WHATWG File. */
    File: { Input: File; Output: never };
    Decimal: { Input: string; Output: string };
  };
}>({
  plugins: [ScopeAuthPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    authorizeOnSubscribe: true,
    treatErrorsAsUnauthorized: false,
    authScopes: (ctx) => ({
      public: true,
      authenticated: ctx.viewer !== null,
      owner: ctx.viewer?.isOwner === true,
      feature: ([feature, level]) => ctx.viewer !== null && atLeast(ctx.viewer.rights[feature], level),
      someFeature: ([features, level]) =>
        ctx.viewer !== null &&
        features.some((f) => atLeast((ctx.viewer as AuthedContext['viewer']).rights[f], level)),
    }),
    unauthorizedError: (_parent, ctx, info) => {
      const operation = `${info.parentType.name}.${info.fieldName}`;
      recordDenied(ctx, operation);
      if (!ctx.viewer) return unauthenticated();
      return forbidden(`Your access level does not allow ${operation}`);
    },
  },
});

builder.queryType({
  description: 'Reads. Each field says who may call it; without a token only the public ones answer.',
  authScopes: { authenticated: true },
});
builder.mutationType({
  description:
    'Writes. Each returns the objects it changed (with their ids, for client caches) or the ids it deleted, and writes one history entry per change.',
  authScopes: { authenticated: true },
});
builder.subscriptionType({
  description:
    'Live updates over graphql-ws or server-sent events, limited to your account and to what your rights let you read.',
  authScopes: { authenticated: true },
});

export const need = (feature: Feature, level: AccessLevel) => ({
  feature: [feature, level] as [Feature, AccessLevel],
});

export const needSome = (features: Feature[], level: AccessLevel) => ({
  someFeature: [features, level] as [Feature[], AccessLevel],
});

export type BuilderTypes = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;
