import {
  type GraphQLInputType,
  type GraphQLSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
} from 'graphql';
import { containers, type InputStep, inputLeaves, nestedArgFields, selectionOf } from '../schema-walk.js';
import type { Fixtures } from './fixtures.js';
import {
  ALSO,
  CLASSES,
  DESTRUCTIVE,
  ENUM_CLASSES,
  good,
  type Make,
  Raw,
  semanticClasses,
  type Value,
} from './values.js';

export { Raw } from './values.js';

/**
 * Hostile calls for every root field, made from the schema. For each argument leaf (nested input
 * fields and list items included) one value per hostile class of its type; the other arguments
 * get valid values naming account A's real objects, so the hostile value travels as far into the
 * resolver as it can. Not the cross product: one hostile value per class per leaf. Queries also
 * get the arguments of the fields they return (Contact.bounces, ContactImport.results).
 */

/**
 * A value of `type` valid everywhere but at `path`, where `target` goes. Input objects get their
 * required fields, the ALSO ones and the one on the path; a @oneOf only the one on the path.
 */
function build(
  type: GraphQLInputType,
  coordinate: string,
  path: InputStep[],
  target: Make | undefined,
  fx: Fixtures,
  destructive: boolean,
): Value {
  if (path.length === 0 && target) return target(fx);
  const inner = isNonNullType(type) ? type.ofType : type;
  if (isListType(inner)) return [build(inner.ofType, coordinate, path.slice(1), target, fx, destructive)];
  if (isInputObjectType(inner)) {
    const fields = inner.getFields();
    const head = path[0] as string | undefined;
    const names = inner.isOneOf
      ? [head ?? 'field']
      : Object.values(fields)
          .filter((f) => isNonNullType(f.type) || ALSO[inner.name]?.includes(f.name) || f.name === head)
          .map((f) => f.name);
    return Object.fromEntries(
      names.map((n) => [
        n,
        build(
          fields[n].type,
          `${inner.name}.${n}`,
          n === head ? path.slice(1) : [],
          n === head ? target : undefined,
          fx,
          destructive,
        ),
      ]),
    );
  }
  return good(coordinate, type, fx, destructive);
}

export interface HostileCase {
  field: string;
  kind: 'query' | 'mutation' | 'subscription';
  cls: string;
  /** The leaf attacked, as `arg.field.0.field`. */
  where: string;
  /** The document and the variables, once the accounts exist. */
  make(fx: Fixtures): { query: string; variables: Record<string, Value> };
}

/** The classes also sent as literals in the document (not variables). */
const INLINED = ['string.nul', 'string.control-chars', 'string.sql-meta', 'int.2^31', 'enum.unknown'];

/** A value as a GraphQL literal of its type (JSON's string escapes are GraphQL's too). */
function literal(type: GraphQLInputType, value: Value): string {
  if (value === null || value === undefined) return 'null';
  const inner = isNonNullType(type) ? type.ofType : type;
  if (isListType(inner))
    return Array.isArray(value)
      ? `[${value.map((v) => literal(inner.ofType, v)).join(', ')}]`
      : literal(inner.ofType, value);
  if (isInputObjectType(inner)) {
    const fields = inner.getFields();
    const entries = Object.entries(value as Record<string, Value>);
    return `{ ${entries.map(([k, v]) => `${k}: ${literal(fields[k].type, v)}`).join(', ')} }`;
  }
  if (isEnumType(inner)) return String(value);
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** Every hostile case of the schema, grouped by nothing: the tests group them by class. */
export function hostileCases(schema: GraphQLSchema): HostileCase[] {
  const cases: HostileCase[] = [];
  const roots = [
    ['query', schema.getQueryType()],
    ['mutation', schema.getMutationType()],
    ['subscription', schema.getSubscriptionType()],
  ] as const;
  for (const [kind, root] of roots) {
    if (!root) continue;
    for (const field of Object.values(root.getFields())) {
      const name = `${root.name}.${field.name}`;
      const destructive = DESTRUCTIVE.has(name);
      const selection = selectionOf(schema, getNamedType(field.type).name, 2);
      const add = (cls: string, path: InputStep[], target: Make, inline = false) => {
        const arg = path[0] as string;
        cases.push({
          field: name,
          kind,
          cls,
          where: path.join('.'),
          make: (fx) => {
            const used = field.args.filter((a) => a.name === arg || isNonNullType(a.type));
            const variables = Object.fromEntries(
              used.map((a) => [
                a.name,
                build(
                  a.type,
                  `${name}(${a.name}:)`,
                  a.name === arg ? path.slice(1) : [],
                  a.name === arg ? target : undefined,
                  fx,
                  destructive,
                ),
              ]),
            );
            const defs = inline ? '' : used.map((a) => `$${a.name}: ${String(a.type)}`).join(', ');
            const args = used
              .map((a) => `${a.name}: ${inline ? literal(a.type, variables[a.name]) : `$${a.name}`}`)
              .join(', ');
            const query = `${kind} Hostile${defs ? `(${defs})` : ''} { ${field.name}${args ? `(${args})` : ''} ${selection} }`;
            return { query, variables: inline ? {} : variables };
          },
        });
      };
      for (const leaf of inputLeaves(root.name, field)) {
        const named = schema.getType(leaf.named);
        const classes = [
          ...(named && isEnumType(named) ? ENUM_CLASSES : (CLASSES[leaf.named] ?? [])),
          ...semanticClasses(leaf),
        ];
        for (const [cls, make] of classes) {
          add(cls, leaf.path, make);
          // The same values written into the document: literals are coerced by another path.
          if (INLINED.includes(cls)) add(`${cls}@literal`, leaf.path, make, true);
        }
      }
      if (kind === 'query')
        for (const nested of nestedArgFields(schema, getNamedType(field.type).name)) {
          const sub = nested.field;
          const subSelection = selectionOf(schema, getNamedType(sub.type).name, 1);
          for (const leaf of inputLeaves(nested.parent, sub)) {
            const named = schema.getType(leaf.named);
            const classes = [
              ...(named && isEnumType(named) ? ENUM_CLASSES : (CLASSES[leaf.named] ?? [])),
              ...semanticClasses(leaf),
            ];
            const arg = leaf.path[0] as string;
            for (const [cls, target] of classes)
              cases.push({
                field: `${name} > ${nested.parent}.${sub.name}`,
                kind,
                cls,
                where: leaf.path.join('.'),
                make: (fx) => {
                  const rootArgs = field.args.filter((a) => isNonNullType(a.type));
                  const subArgs = sub.args.filter((a) => a.name === arg || isNonNullType(a.type));
                  const variables: Record<string, Value> = {};
                  for (const a of rootArgs)
                    variables[a.name] = build(a.type, `${name}(${a.name}:)`, [], undefined, fx, false);
                  for (const a of subArgs)
                    variables[`n_${a.name}`] = build(
                      a.type,
                      `${nested.parent}.${sub.name}(${a.name}:)`,
                      a.name === arg ? leaf.path.slice(1) : [],
                      a.name === arg ? target : undefined,
                      fx,
                      false,
                    );
                  const defs = [
                    ...rootArgs.map((a) => `$${a.name}: ${String(a.type)}`),
                    ...subArgs.map((a) => `$n_${a.name}: ${String(a.type)}`),
                  ].join(', ');
                  const rootCall = rootArgs.length
                    ? `(${rootArgs.map((a) => `${a.name}: $${a.name}`).join(', ')})`
                    : '';
                  const subCall = `${sub.name}(${subArgs.map((a) => `${a.name}: $n_${a.name}`).join(', ')}) ${subSelection}`;
                  const inner = nested.chain.slice(0, -1).reduceRight((acc, f) => `${f} { ${acc} }`, subCall);
                  const query = `query Hostile${defs ? `(${defs})` : ''} { ${field.name}${rootCall} { ${inner} } }`;
                  return { query, variables };
                },
              });
          }
        }
      for (const c of containers(field, root.name)) {
        if (c.oneOf) {
          const leafField = { field: { name: 'email', op: 'IS_SET' } };
          add('oneOf.two-keys', c.path, () => ({ ...leafField, not: leafField }));
          add('oneOf.no-key', c.path, () => ({}));
          // Refused while parsing, before any recursion (issue 10, 7): 100,000 levels of `not`.
          const depth = 100_000;
          add(
            'criterion.100k-deep',
            c.path,
            () => new Raw(`${'{"not":'.repeat(depth)}${JSON.stringify(leafField)}${'}'.repeat(depth)}`),
          );
        }
        if (c.list) {
          add('list.empty', c.path, () => []);
          // One over the largest documented maximum (10,000 rows or events) for every list.
          add('list.10001-items', c.path, (fx) => {
            const item = build(c.item as GraphQLInputType, c.coordinate, [], undefined, fx, true);
            return Array.from({ length: 10_001 }, () => item);
          });
        }
      }
    }
  }
  return cases;
}

/**
 * The valid call the cases of a field start from (every required argument, nothing hostile): the
 * walk checks that these reach the resolvers, or its hostile values would stop at the door.
 */
export function validCall(schema: GraphQLSchema, coordinate: string, fx: Fixtures) {
  const [rootName, fieldName] = coordinate.split('.');
  const root = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].find(
    (r) => r?.name === rootName,
  );
  const field = root?.getFields()[fieldName];
  if (!root || !field) throw new Error(`no field ${coordinate}`);
  const kind =
    root === schema.getQueryType()
      ? 'query'
      : root === schema.getMutationType()
        ? 'mutation'
        : 'subscription';
  const used = field.args.filter((a) => isNonNullType(a.type));
  const variables = Object.fromEntries(
    used.map((a) => [
      a.name,
      build(a.type, `${coordinate}(${a.name}:)`, [], undefined, fx, DESTRUCTIVE.has(coordinate)),
    ]),
  );
  const defs = used.map((a) => `$${a.name}: ${String(a.type)}`).join(', ');
  const args = used.map((a) => `${a.name}: $${a.name}`).join(', ');
  const selection = selectionOf(schema, getNamedType(field.type).name, 1);
  return {
    query: `${kind} Valid${defs ? `(${defs})` : ''} { ${field.name}${args ? `(${args})` : ''} ${selection} }`,
    variables,
  };
}

/** The request body of a case: JSON, with any Raw value spliced in as it is. */
export function bodyOf(query: string, variables: Record<string, Value>): string {
  const raws: string[] = [];
  const json = JSON.stringify({ query, variables }, (_k, v) => {
    if (v instanceof Raw) {
      raws.push(v.json);
      return `__RAW_${raws.length - 1}__`;
    }
    return v;
  });
  return json.replace(/"__RAW_(\d+)__"/g, (_m, i) => raws[Number(i)]);
}
