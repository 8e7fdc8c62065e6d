import type { GraphQLSchema } from 'graphql';

/** A root field's declared scopes as Pothos records them, e.g. `{ feature: ['USERS', 'APPROVER'] }`. */
export type ScopeMap = Record<string, unknown>;

/** `Type.field` -> declared scopes, for every Query, Mutation and Subscription field. */
export function rootFieldScopes(schema: GraphQLSchema): Record<string, ScopeMap | null> {
  const out: Record<string, ScopeMap | null> = {};
  for (const type of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
    if (!type) continue;
    for (const field of Object.values(type.getFields())) {
      const options = (field.extensions?.pothosOptions ?? {}) as { authScopes?: unknown };
      const scopes = options.authScopes;
      out[`${type.name}.${field.name}`] =
        scopes && typeof scopes === 'object' && Object.keys(scopes).length > 0 ? (scopes as ScopeMap) : null;
    }
  }
  return out;
}

/** Start-up refuses a schema where any root field does not say who may call it. */
export function assertEveryRootFieldScoped(schema: GraphQLSchema): void {
  const missing = Object.entries(rootFieldScopes(schema))
    .filter(([, scopes]) => scopes === null)
    .map(([name]) => name);
  if (missing.length) throw new Error(`Root fields without declared authScopes: ${missing.join(', ')}`);
}
