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

/** One step into an input value: an object field or the first item of a list. */
export type InputStep = string | 0;

/** A scalar or enum somewhere inside a root field's arguments, and the way to reach it. */
export interface InputLeaf {
  /** The argument, then object fields and list items down to the leaf. */
  path: InputStep[];
  /** Where it is declared: `Query.contacts(after:)` or `ContactFilter.search`. */
  coordinate: string;
  type: GraphQLInputType;
  /** The named scalar or enum. */
  named: string;
  /** The input objects crossed on the way (for @oneOf and recursion checks). */
  through: string[];
}

/**
 * Every scalar and enum reachable from a field's arguments, nested input fields and list items
 * included. A recursive input (Criterion) is entered once per path, so the walk ends.
 */
export function inputLeaves(parent: string, field: GraphQLField<unknown, unknown>): InputLeaf[] {
  const out: InputLeaf[] = [];
  const visit = (type: GraphQLInputType, path: InputStep[], coordinate: string, through: string[]) => {
    const inner = isNonNullType(type) ? type.ofType : type;
    if (isListType(inner)) return visit(inner.ofType, [...path, 0], coordinate, through);
    if (isInputObjectType(inner)) {
      if (through.includes(inner.name)) return;
      for (const f of Object.values(inner.getFields()))
        visit(f.type, [...path, f.name], `${inner.name}.${f.name}`, [...through, inner.name]);
      return;
    }
    out.push({ path, coordinate, type, named: getNamedType(type).name, through });
  };
  for (const a of field.args) visit(a.type, [a.name], `${parent}.${field.name}(${a.name}:)`, []);
  return out;
}

/**
 * A selection of the scalar and enum fields of a type, and of its object fields without required
 * arguments `depth` levels down: what a hostile caller would read back (to look for leaked data).
 */
export function selectionOf(schema: GraphQLSchema, typeName: string, depth = 2): string {
  const type = schema.getType(typeName);
  if (!type) return '';
  if (isAbstractType(type)) return '{ __typename }';
  if (!isObjectType(type)) return '';
  const parts = ['__typename'];
  for (const f of Object.values(type.getFields())) {
    if (f.args.some((a) => isNonNullType(a.type))) continue;
    const named = getNamedType(f.type);
    if (isScalarType(named) || isEnumType(named)) parts.push(f.name);
    else if (depth > 1) {
      const sub = selectionOf(schema, named.name, depth - 1);
      if (sub) parts.push(`${f.name} ${sub}`);
    }
  }
  return `{ ${parts.join(' ')} }`;
}

/** Where a @oneOf input or a list sits in the arguments, for the classes of whole values. */
export function containers(field: GraphQLField<unknown, unknown>, parent: string) {
  const out: {
    path: InputStep[];
    type: GraphQLInputType;
    item?: GraphQLInputType;
    coordinate: string;
    oneOf: boolean;
    list: boolean;
  }[] = [];
  const visit = (type: GraphQLInputType, path: InputStep[], coordinate: string, through: string[]) => {
    const inner = isNonNullType(type) ? type.ofType : type;
    if (isListType(inner)) {
      out.push({ path, type: inner, item: inner.ofType, coordinate, oneOf: false, list: true });
      return visit(inner.ofType, [...path, 0], coordinate, through);
    }
    if (!isInputObjectType(inner) || through.includes(inner.name)) return;
    if (inner.isOneOf) out.push({ path, type: inner, coordinate, oneOf: true, list: false });
    for (const f of Object.values(inner.getFields()))
      visit(f.type, [...path, f.name], `${inner.name}.${f.name}`, [...through, inner.name]);
  };
  for (const a of field.args) visit(a.type, [a.name], `${parent}.${field.name}(${a.name}:)`, []);
  return out;
}

/** Fields with arguments inside a returned type, `depth` levels down, with the fields leading there. */
export function nestedArgFields(schema: GraphQLSchema, typeName: string, depth = 2, chain: string[] = []) {
  const out: { chain: string[]; parent: string; field: GraphQLField<unknown, unknown> }[] = [];
  const type = schema.getType(typeName);
  if (!isObjectType(type)) return out;
  for (const f of Object.values(type.getFields())) {
    if (f.args.length) out.push({ chain: [...chain, f.name], parent: type.name, field: f });
    else if (depth > 1)
      out.push(...nestedArgFields(schema, getNamedType(f.type).name, depth - 1, [...chain, f.name]));
  }
  return out;
}
