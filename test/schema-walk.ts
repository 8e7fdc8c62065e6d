import {
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLSchema,
  getNamedType,
  isAbstractType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
} from 'graphql';

/** A GraphQL literal of the right type for an argument: enough to pass validation. */
export function dummyLiteral(type: GraphQLInputType): string {
  if (isNonNullType(type)) return dummyLiteral(type.ofType);
  if (isListType(type)) return `[${dummyLiteral(type.ofType)}]`;
  if (isEnumType(type)) return type.getValues()[0].name;
  if (isInputObjectType(type)) {
    const fields = Object.values(type.getFields());
    // @oneOf inputs take exactly one field; others take every required one.
    const chosen = type.isOneOf ? fields.slice(0, 1) : fields.filter((f) => isNonNullType(f.type));
    return `{ ${chosen.map((f) => `${f.name}: ${dummyLiteral(f.type)}`).join(', ')} }`;
  }
  if (isScalarType(type)) {
    switch (type.name) {
      case 'ID':
        return '"00000000-0000-4000-8000-000000000000"';
      case 'Int':
        return '1';
      case 'Float':
        return '1.5';
      case 'Boolean':
        return 'false';
      case 'DateTime':
        return '"2026-01-01T00:00:00.000Z"';
      case 'Decimal':
        return '"1.25"';
      case 'JSON':
        return '{}';
      case 'Upload':
      case 'File':
        return 'null';
      default:
        return '"x"';
    }
  }
  throw new Error(`no dummy literal for ${String(type)}`);
}

function args(list: readonly GraphQLArgument[]): string {
  const required = list.filter((a) => isNonNullType(a.type));
  return required.length ? `(${required.map((a) => `${a.name}: ${dummyLiteral(a.type)}`).join(', ')})` : '';
}

/** `mutation { field(args) { __typename } }`, well-typed with dummy values. */
export function operationFor(
  kind: 'query' | 'mutation' | 'subscription',
  field: GraphQLField<unknown, unknown>,
): string {
  const named = getNamedType(field.type);
  const selection = isObjectType(named) || isAbstractType(named) ? ' { __typename }' : '';
  return `${kind} { ${field.name}${args(field.args)}${selection} }`;
}

export function rootFields(schema: GraphQLSchema) {
  const out: { kind: 'query' | 'mutation' | 'subscription'; name: string; op: string }[] = [];
  const roots = [
    ['query', schema.getQueryType()],
    ['mutation', schema.getMutationType()],
    ['subscription', schema.getSubscriptionType()],
  ] as const;
  for (const [kind, type] of roots) {
    if (!type) continue;
    for (const field of Object.values(type.getFields())) {
      out.push({ kind, name: `${type.name}.${field.name}`, op: operationFor(kind, field) });
    }
  }
  return out;
}
