import { type GraphQLField, type GraphQLSchema, isObjectType } from 'graphql';

/** A field's declared scopes as Pothos records them, e.g. `{ feature: ['USERS', 'APPROVER'] }`. */
export type ScopeMap = Record<string, unknown>;

/**
 * Object fields holding another feature's data (an audit entry's diff shows contact emails):
 * start-up refuses a schema where one of them declares no scope of its own.
 */
export const SCOPED_DATA_FIELDS = [
  'AuditEntry.diff',
  'AuditEntry.changes',
  'AuditEntry.objectId',
  'WebhookDelivery.payload',
  'Webhook.filter',
] as const;

/** A scope function that depends on the object the field is read on, with the shape it declares. */
export type ParentScopes<P> = ((parent: P) => ScopeMap | boolean) & { declared: ScopeMap };

/**
 * For a field whose scope depends on its parent (the entry's own feature): `declared` is what the
 * rights snapshot shows, `scopes` what is evaluated for each parent.
 */
export function scopedByParent<P>(
  declared: ScopeMap,
  scopes: (parent: P) => ScopeMap | boolean,
): ParentScopes<P> {
  return Object.assign((parent: P) => scopes(parent), { declared });
}

function declaredScopes(field: GraphQLField<unknown, unknown>): ScopeMap | null {
  const scopes = (field.extensions?.pothosOptions as { authScopes?: unknown } | undefined)?.authScopes;
  if (typeof scopes === 'function') {
    const declared = (scopes as Partial<ParentScopes<unknown>>).declared;
    // A bare function says nothing reviewable: shown as such, so the snapshot still lists it.
    return declared ?? { computed: true };
  }
  return scopes && typeof scopes === 'object' && Object.keys(scopes).length > 0 ? (scopes as ScopeMap) : null;
}

/** `Type.field` -> declared scopes, for every Query, Mutation and Subscription field. */
export function rootFieldScopes(schema: GraphQLSchema): Record<string, ScopeMap | null> {
  const out: Record<string, ScopeMap | null> = {};
  for (const type of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
    if (!type) continue;
    for (const field of Object.values(type.getFields()))
      out[`${type.name}.${field.name}`] = declaredScopes(field);
  }
  return out;
}

/** `Type.field` -> declared scopes, for the fields of other object types that declare one. */
export function objectFieldScopes(schema: GraphQLSchema): Record<string, ScopeMap> {
  const roots = new Set([schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]);
  const out: Record<string, ScopeMap> = {};
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || roots.has(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      const scopes = declaredScopes(field);
      if (scopes) out[`${type.name}.${field.name}`] = scopes;
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

/** Start-up refuses a schema where a field of SCOPED_DATA_FIELDS is missing or declares no scope. */
export function assertScopedDataFields(
  schema: GraphQLSchema,
  fields: readonly string[] = SCOPED_DATA_FIELDS,
): void {
  const scoped = objectFieldScopes(schema);
  const missing = fields.filter((name) => !scoped[name]);
  if (missing.length) throw new Error(`Data fields without declared authScopes: ${missing.join(', ')}`);
}
