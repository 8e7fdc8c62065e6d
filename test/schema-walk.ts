import {
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLSchema,
  getNamedType,
  isAbstractType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  isSpecifiedScalarType,
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

const described = (d: string | null | undefined) => typeof d === 'string' && d.trim().length > 0;

/**
 * Every public element without a description, by coordinate (`Type.field(arg:)`), and every
 * custom scalar without a specifiedByURL. Only the introspection types (`__*`) are left out.
 */
export function undescribed(schema: GraphQLSchema): string[] {
  const out: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__')) continue;
    if (!described(type.description)) out.push(`type ${type.name}`);
    if (isScalarType(type) && !isSpecifiedScalarType(type) && !type.specifiedByURL)
      out.push(`scalar ${type.name}: specifiedByURL`);
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        if (!described(field.description)) out.push(`field ${type.name}.${field.name}`);
        for (const arg of field.args)
          if (!described(arg.description)) out.push(`argument ${type.name}.${field.name}(${arg.name}:)`);
      }
    }
    if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields()))
        if (!described(field.description)) out.push(`input field ${type.name}.${field.name}`);
    }
    if (isEnumType(type)) {
      for (const value of type.getValues())
        if (!described(value.description)) out.push(`enum value ${type.name}.${value.name}`);
    }
  }
  return out.sort();
}
