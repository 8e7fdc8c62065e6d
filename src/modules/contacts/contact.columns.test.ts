/**
 * A page of contacts reads only the columns its selection needs (contact.columns.ts). That must
 * never change an answer: every field of Contact, this module's and other modules', read through
 * the page, equals the same field read through `contact(id)`, which reads every column.
 */
import {
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLResolveInfo,
  getNamedType,
  isLeafType,
  isNonNullType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  parse,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, ok, signUpOwner, startTestApp, type TestApp } from '../../../test/harness.js';
import { buildSchema } from '../../schema.js';
import { CONTACT_COLUMNS, pageColumns } from './contact.columns.js';

/** The info pageColumns reads, for the `contacts` field of a query text. */
function infoOf(query: string): GraphQLResolveInfo {
  const doc = parse(query);
  const op = doc.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION) as OperationDefinitionNode;
  const fragments = Object.fromEntries(
    doc.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d]] : [])),
  );
  const field = op.selectionSet.selections[0];
  return { fieldNodes: [field], fragments } as unknown as GraphQLResolveInfo;
}

describe('pageColumns', () => {
  it('reads the id, the account and what nodes or edges.node ask for', () => {
    expect(
      pageColumns(infoOf('{ contacts { nodes { id email lastName } pageInfo { endCursor } } }')),
    ).toEqual(['id::text', 'account_id', 'email', 'last_name']);
    expect(
      pageColumns(
        infoOf(
          '{ contacts { edges { cursor node { createdAt } } nodes { ...F } } } fragment F on Contact { ... on Contact { city } }',
        ),
      ),
    ).toEqual(['id::text', 'account_id', 'city', 'created_at']);
  });

  it("reads every column for a field it does not know (another module's)", () => {
    expect(pageColumns(infoOf('{ contacts { nodes { id scores { value } } } }'))).toBe(CONTACT_COLUMNS);
    expect(pageColumns(undefined)).toBe(CONTACT_COLUMNS);
  });
});

/** A selection of `type` with every argument-free field, two object levels deep. */
function selectionOf(type: GraphQLNamedType, depth: number): string {
  if (isLeafType(type) || !isObjectType(type)) return '';
  const parts: string[] = [];
  for (const f of Object.values(type.getFields()) as GraphQLField<unknown, unknown>[]) {
    if (f.args.some((a) => isNonNullType(a.type))) continue;
    const named = getNamedType(f.type);
    if (isLeafType(named)) parts.push(f.name);
    else if (depth > 0) parts.push(`${f.name} ${selectionOf(named, depth - 1)}`);
  }
  return `{ ${parts.length ? parts.join(' ') : '__typename'} }`;
}

describe('a page answers each field as contact(id) does', () => {
  let t: TestApp;
  let owner: Actor;
  beforeAll(async () => {
    t = await startTestApp();
    owner = await signUpOwner(t);
    ok(
      await t.gql(
        'mutation { defineContactField(input: { name: "revenue", type: NUMBER }) { name } }',
        {},
        owner.token,
      ),
    );
    for (const [i, email] of ['a@example.com', 'b@example.com', null].entries()) {
      ok(
        await t.gql(
          `mutation ($input: CreateContactInput!) { createContact(input: $input) { id } }`,
          {
            input: {
              email,
              phone: `+3361234567${i}`,
              firstName: `First${i}`,
              lastName: i === 1 ? null : `Last${i}`,
              gender: 'f',
              birthDate: '1990-02-28',
              city: 'Lyon',
              department: '69',
              country: 'FR',
              fields: [{ name: 'revenue', value: `12.5${i}` }],
            },
          },
          owner.token,
        ),
      );
    }
  });
  afterAll(() => t?.close());

  const contact = buildSchema().getType('Contact');
  if (!isObjectType(contact)) throw new Error('no Contact type');
  const fields = Object.values(contact.getFields()).filter((f) => !f.args.some((a) => isNonNullType(a.type)));

  it.each(fields.map((f) => f.name))('%s', async (name) => {
    const field = contact.getFields()[name];
    const named = getNamedType(field.type);
    const selection = `id ${name} ${isLeafType(named) ? '' : selectionOf(named, 1)}`;
    const page = ok(
      await t.gql<{ contacts: { nodes: { id: string }[] } }, Record<string, never>>(
        `{ contacts(first: 10) { nodes { ${selection} } edges { node { ${selection} } } } }`,
        {},
        owner.token,
      ),
    );
    expect(page.contacts.nodes).toHaveLength(3);
    for (const node of page.contacts.nodes) {
      const one = ok(
        await t.gql<{ contact: unknown }, { id: string }>(
          `query ($id: ID!) { contact(id: $id) { ${selection} } }`,
          { id: node.id },
          owner.token,
        ),
      );
      expect(node).toEqual(one.contact);
    }
    expect(page.contacts).toMatchObject({ edges: page.contacts.nodes.map((node) => ({ node })) });
  });
});
