import { randomUUID } from 'node:crypto';
import {
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
} from 'graphql';
import { encodeCursor } from '../../src/shared/pagination.js';
import { uniqueEmail } from '../harness.js';
import { type InputLeaf, type InputStep, inputLeaves, selectionOf } from '../schema-walk.js';
import { type AccountObjects, BOUNCE_DSN, type Fixtures } from './fixtures.js';

/**
 * Hostile calls for every root field, made from the schema. For each argument leaf (nested input
 * fields and list items included) one value per hostile class of its type; the other arguments
 * get valid values naming account A's real objects, so the hostile value travels as far into the
 * resolver as it can. Not the cross product: one hostile value per class per leaf.
 */

/** A value spliced into the JSON body as it is (a 100,000-deep criterion cannot be stringified). */
export class Raw {
  constructor(readonly json: string) {}
}
type Value = unknown;
/** A hostile value, made once the accounts exist (foreign ids need them). */
type Make = (fx: Fixtures) => Value;

const MIB = 1024 * 1024;
const huge = 'x'.repeat(MIB);

/** The hostile classes, by named input type. */
const CLASSES: Record<string, [string, Make][]> = {
  String: [
    ['string.nul', () => 'a\u0000b'],
    ['string.lone-surrogate', () => 'a\ud800b'],
    ['string.1MiB', () => huge],
    ['string.control-chars', () => '\u0001\u0008\u001b[31m\r\n\u007f\u0085\u2028'],
    // 200 characters (the usual limit) that lower-case to 400: a check before normalising passes,
    // a varchar(200) after it does not.
    ['string.lowercase-expands', () => '\u0130'.repeat(200)],
  ],
  Int: [
    ['int.2^31', () => 2 ** 31],
    ['int.-2^31-1', () => -(2 ** 31) - 1],
    ['int.1e20', () => 1e20],
    ['int.nan-ish', () => 'NaN'],
    ['int.fraction', () => 1.5],
    ['int.max', () => 2 ** 31 - 1],
    ['int.min', () => -(2 ** 31)],
  ],
  Float: [
    ['float.huge', () => 1.7976931348623157e308],
    ['float.nan-ish', () => 'Infinity'],
  ],
  Boolean: [['boolean.as-text', () => 'true']],
  DateTime: [
    ['datetime.year-0', () => '0000-01-01T00:00:00Z'],
    ['datetime.+275760', () => '+275760-09-13T00:00:00.000Z'],
    ['datetime.9999', () => '9999-12-31T23:59:59.999Z'],
    ['datetime.malformed', () => '2026-02-30T25:61:61Z'],
    ['datetime.number', () => 1e15],
  ],
  Decimal: [
    ['decimal.as-number', () => 1.25],
    ['decimal.huge', () => '99999999999999999999.9999999'],
    ['decimal.nan', () => 'NaN'],
  ],
  File: [['file.as-text', () => 'name,email\nx,x@example.com\n']],
  ID: [
    ['id.not-an-id', () => 'not-an-id'],
    ['id.huge-number', () => '9'.repeat(40)],
    ['id.negative', () => '-1'],
    ['id.nul', () => '1\u0000'],
    ['id.json-number', () => 42],
  ],
};
const ENUM_CLASSES: [string, Make][] = [['enum.unknown', () => 'NOT_A_VALUE']];

/** Which object an ID leaf names, by coordinate; the others are free UUIDs (operations, forms). */
const ID_KIND: Record<string, keyof AccountObjects> = {
  'Query.user(id:)': 'member',
  'AuditFilter.userId': 'member',
  'Mutation.resendInvitation(id:)': 'invitedId',
  'UpdateUserInput.id': 'member',
  'SetUserRightsInput.userId': 'member',
  'Mutation.deleteUser(id:)': 'member',
  'Mutation.disableUser(id:)': 'member',
  'Mutation.enableUser(id:)': 'member',
  'Query.contact(id:)': 'contactId',
  'UpdateContactInput.id': 'contactId',
  'Mutation.deleteContacts(ids:)': 'contactId',
  'EventInput.contactId': 'contactId',
  'Subscription.scoreUpdated(contactId:)': 'contactId',
  'Query.contactImport(id:)': 'importId',
  'ImportContactsInput.id': 'importId',
  'Subscription.importProgress(importId:)': 'importId',
  'Query.score(id:)': 'scoreId',
  'UpdateScoreInput.id': 'scoreId',
  'Mutation.deleteScores(ids:)': 'scoreId',
  'ScoreCriterionInput.scoreId': 'scoreId',
  'Subscription.scoreUpdated(scoreId:)': 'scoreId',
  'Query.scoreRun(id:)': 'runId',
  'Subscription.scoreRunProgress(runId:)': 'runId',
};
/** Fields that delete or disable: their own ids never get A's real objects, only unknown ones. */
const DESTRUCTIVE = new Set([
  'Mutation.deleteUser',
  'Mutation.disableUser',
  'Mutation.deleteContacts',
  'Mutation.deleteScores',
]);

function idOf(o: AccountObjects, kind: keyof AccountObjects): string {
  const v = o[kind];
  return typeof v === 'string' ? v : (v as { userId: string }).userId;
}

/** Extra classes for leaves whose meaning the type does not say. */
function semanticClasses(leaf: InputLeaf): [string, Make][] {
  const out: [string, Make][] = [];
  const kind = ID_KIND[leaf.coordinate];
  if (leaf.named === 'ID' && kind) out.push(['id.other-account', (fx) => idOf(fx.b, kind)]);
  if (/\(after:\)$/.test(leaf.coordinate))
    out.push(
      ['cursor.forged-out-of-range', () => encodeCursor('9'.repeat(30))],
      ['cursor.forged-long', () => encodeCursor(`${'9'.repeat(5000)}|x`)],
      ['cursor.not-base64', () => '%%%\u0000'],
    );
  if (/email$/i.test(leaf.coordinate) && leaf.named === 'String')
    out.push(['email.over-320', () => `${'a'.repeat(320)}@example.com`]);
  if (/birthDate$/.test(leaf.coordinate))
    out.push(['date.year-0', () => '0000-01-01'], ['date.year-275760', () => '275760-09-13']);
  return out;
}

/** Valid values, so that the call gets as far as it can with one hostile leaf. */
const GOOD: Record<string, (fx: Fixtures) => Value> = {
  'SignUpInput.email': () => uniqueEmail('hostile.signup'),
  'SignUpInput.password': () => 'correct horse battery',
  'LoginInput.email': () => 'nobody.hostile@example.com',
  'AcceptInvitationInput.password': () => 'correct horse battery',
  'InviteUserInput.email': () => uniqueEmail('hostile.invite'),
  'UpdateUserInput.email': () => uniqueEmail('hostile.update'),
  'CreateContactInput.email': () => uniqueEmail('hostile.contact'),
  'UpdateContactInput.email': () => uniqueEmail('hostile.contact'),
  'CreateContactInput.phone': () => '+33612345678',
  'CreateContactInput.birthDate': () => '1990-01-31',
  'ContactFieldValueInput.name': () => 'note',
  'DefineContactFieldInput.name': () => `f${randomUUID().slice(0, 8)}`,
  'UpdateAccountSettingsInput.uniqueKey': () => 'email',
  'Query.classifyBounce(message:)': () => BOUNCE_DSN,
  'RecordBounceInput.message': () => BOUNCE_DSN,
  'FieldCriterionInput.name': () => 'email',
  'FieldCriterionInput.op': () => 'EQ',
  'ScoreConditionInput.mode': () => 'FIXED',
  'ScoreConditionInput.value': () => '5',
  'CreateScoreInput.name': () => `hostile ${randomUUID().slice(0, 8)}`,
  'ColumnMappingInput.column': () => 'email',
  'ColumnMappingInput.field': () => 'email',
  'ImportContactsInput.delimiter': () => ',',
  'ImportContactsInput.id': () => randomUUID(),
  'EventInput.url': () => 'https://example.com/',
  'EventCriterionInput.url': () => 'https://example.com/',
  'RightInput.feature': () => 'CONTACTS',
  'RightInput.level': () => 'GUEST',
  'UpdateAccountSettingsInput.scoreIntervalHours': () => 24,
  'EventCriterionInput.minCount': () => 1,
  'EventCriterionInput.withinDays': () => 30,
};
/** Optional input fields the valid value includes anyway (a FIXED condition needs its value). */
const ALSO: Record<string, string[]> = {
  ScoreConditionInput: ['value'],
  FieldCriterionInput: ['value'],
  ImportContactsInput: ['rows'],
  CreateContactInput: ['email'],
};

function good(coordinate: string, type: GraphQLInputType, fx: Fixtures, destructive: boolean): Value {
  const make = GOOD[coordinate];
  if (make) return make(fx);
  const named = getNamedType(type);
  if (isEnumType(named)) return named.getValues()[0].name;
  switch (named.name) {
    case 'ID': {
      const kind = ID_KIND[coordinate];
      if (!kind || destructive) return kind === 'contactId' ? '999999999' : randomUUID();
      return idOf(fx.a, kind);
    }
    case 'Int':
      return 10;
    case 'Float':
      return 1.5;
    case 'Boolean':
      return false;
    case 'DateTime':
      return '2026-01-01T00:00:00.000Z';
    case 'Decimal':
      return '1.25';
    case 'File':
      return null;
    default:
      return 'x';
  }
}

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

/** Where a @oneOf input or a list sits in the arguments, for the classes of whole values. */
function containers(field: GraphQLField<unknown, unknown>, parent: string) {
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
      const add = (cls: string, path: InputStep[], target: Make) => {
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
            const defs = used.map((a) => `$${a.name}: ${String(a.type)}`).join(', ');
            const args = used.map((a) => `${a.name}: $${a.name}`).join(', ');
            const query = `${kind} Hostile${defs ? `(${defs})` : ''} { ${field.name}${args ? `(${args})` : ''} ${selection} }`;
            return { query, variables };
          },
        });
      };
      for (const leaf of inputLeaves(root.name, field)) {
        const named = schema.getType(leaf.named);
        const classes = [
          ...(named && isEnumType(named) ? ENUM_CLASSES : (CLASSES[leaf.named] ?? [])),
          ...semanticClasses(leaf),
        ];
        for (const [cls, make] of classes) add(cls, leaf.path, make);
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
