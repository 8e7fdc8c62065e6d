import { ApolloClient, gql, HttpLink, InMemoryCache } from '@apollo/client';
import { relayStylePagination } from '@apollo/client/utilities';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AccountSettingsDocument,
  AuditLogDocument,
  ContactDocument,
  ContactFieldDefinitionsDocument,
  ContactsDocument,
  CreateContactDocument,
  CreateScoreDocument,
  type Criterion,
  DefineContactFieldDocument,
  DeleteScoresDocument,
  RecordBounceDocument,
  UpdateAccountSettingsDocument,
  UpdateContactDocument,
} from './generated/graphql.js';
import { type Actor, ok, signUpOwner, startTestApp, type TestApp, uniqueEmail } from './harness.js';

let t: TestApp;
let owner: Actor;

beforeAll(async () => {
  t = await startTestApp();
  owner = await signUpOwner(t);
});
afterAll(() => t.close());

const createContact = async (city: string) =>
  ok(await t.gql(CreateContactDocument, { input: { email: uniqueEmail('c'), city } }, owner.token))
    .createContact;

/** A tree without the null branches GraphQL returns for the fields a node does not use. */
const stripNulls = (v: unknown): unknown =>
  Array.isArray(v)
    ? v.map(stripNulls)
    : v && typeof v === 'object'
      ? Object.fromEntries(
          Object.entries(v)
            .filter(([, x]) => x !== null)
            .map(([k, x]) => [k, stripNulls(x)]),
        )
      : v;

describe('identity, Relay edges and typed fields through real requests', () => {
  it('identifies the account settings by the account id, and custom fields by their own id', async () => {
    const s = ok(await t.gql(AccountSettingsDocument, {}, owner.token)).accountSettings;
    expect(s.id).toBe(owner.accountId);
    expect(s.accountId).toBe(owner.accountId);
    const defined = ok(
      await t.gql(DefineContactFieldDocument, { input: { name: 'tier', type: 'TEXT' } }, owner.token),
    ).defineContactField;
    expect(defined.id).toMatch(/^[0-9a-f-]{36}$/);
    const listed = ok(await t.gql(ContactFieldDefinitionsDocument, {}, owner.token)).contactFields;
    expect(listed.find((f) => f.name === 'tier')?.id).toBe(defined.id);
  });

  it('pages contacts with edges whose cursors match pageInfo and resume after any item', async () => {
    for (const city of ['Arles', 'Brest', 'Caen', 'Dax', 'Eze']) await createContact(city);
    const page = ok(
      await t.gql(ContactsDocument, { first: 3, orderBy: { field: 'ID' } }, owner.token),
    ).contacts;
    expect(page.edges.map((e) => e.node.id)).toEqual(page.nodes.map((n) => n.id));
    expect(page.pageInfo).toEqual({
      hasNextPage: true,
      hasPreviousPage: false,
      startCursor: page.edges[0].cursor,
      endCursor: page.edges[2].cursor,
    });
    // An edge's cursor resumes right after its node, like endCursor does after the last one.
    const next = ok(
      await t.gql(
        ContactsDocument,
        { first: 2, orderBy: { field: 'ID' }, after: page.edges[0].cursor },
        owner.token,
      ),
    ).contacts;
    expect(next.nodes.map((n) => n.id)).toEqual(page.nodes.slice(1).map((n) => n.id));
    const empty = ok(
      await t.gql(ContactsDocument, { filter: { search: 'matches-nobody' } }, owner.token),
    ).contacts;
    expect(empty.edges).toEqual([]);
    expect(empty.pageInfo).toEqual({
      hasNextPage: false,
      hasPreviousPage: false,
      startCursor: null,
      endCursor: null,
    });
  });

  it('lists what an action changed as { field before after } beside the JSON diff', async () => {
    const c = await createContact('Lyon');
    ok(await t.gql(UpdateContactDocument, { input: { id: c.id, city: 'Paris' } }, owner.token));
    const log = ok(
      await t.gql(AuditLogDocument, { filter: { objectType: 'Contact', objectId: c.id } }, owner.token),
    ).auditLog.nodes;
    const [updated, created] = log;
    expect(updated.action).toBe('updateContact');
    expect(updated.diff).toEqual({ city: { from: 'Lyon', to: 'Paris' } });
    expect(updated.changes).toEqual([{ field: 'city', before: 'Lyon', after: 'Paris' }]);
    // A create stores the values it set: each is an after with nothing before.
    expect(created.action).toBe('createContact');
    expect(created.changes).toContainEqual({ field: 'city', before: null, after: 'Lyon' });
    expect(created.changes.every((ch) => ch.before === null)).toBe(true);
  });

  it('returns a score criterion typed in the shape of its input, equal to the JSON one', async () => {
    const criterion: Criterion = {
      all: [
        { field: { name: 'city', op: 'IN', values: ['Paris', 'Lyon'] } },
        { not: { event: { type: 'EMAIL_OPEN', withinDays: 30 } } },
        { any: [{ field: { name: 'email', op: 'IS_SET' } }] },
      ],
    };
    const score = ok(
      await t.gql(
        CreateScoreDocument,
        { input: { name: 'Typed', conditions: [{ criterion, mode: 'FIXED', value: '5' }] } },
        owner.token,
      ),
    ).createScore;
    const [cond] = score.conditions;
    expect(stripNulls(cond.criterionTree)).toEqual(cond.criterion);
    expect(cond.criterion).toEqual(criterion);
    expect(cond.criterionTree.all?.[1].not?.event).toEqual({
      type: 'EMAIL_OPEN',
      operationId: null,
      formId: null,
      url: null,
      withinDays: 30,
      minCount: null,
    });
    // Deleting keeps the name it removed as the value before.
    ok(await t.gql(DeleteScoresDocument, { ids: [score.id] }, owner.token));
    const [deleted] = ok(
      await t.gql(AuditLogDocument, { filter: { action: 'deleteScore', objectId: score.id } }, owner.token),
    ).auditLog.nodes;
    expect(deleted.changes).toEqual([{ field: 'name', before: score.name, after: null }]);
  });
});

describe('Apollo Client 4 with its normalised InMemoryCache', () => {
  let requests = 0;
  const apollo = (token: string) =>
    new ApolloClient({
      cache: new InMemoryCache(),
      link: new HttpLink({
        uri: t.url,
        headers: { authorization: `Bearer ${token}` },
        fetch: (input, init) => {
          requests++;
          return fetch(input, init);
        },
      }),
    });

  it('reads the new settings from its cache after updateAccountSettings, without refetching', async () => {
    const client = apollo(owner.token);
    const before = await client.query({ query: AccountSettingsDocument });
    expect(before.data?.accountSettings.scoreIntervalHours).toBe(24);
    await client.mutate({
      mutation: UpdateAccountSettingsDocument,
      variables: { input: { scoreIntervalHours: 6, accountName: 'Renamed' } },
    });
    const sent = requests;
    const after = await client.query({ query: AccountSettingsDocument });
    expect(requests).toBe(sent);
    expect(after.data?.accountSettings).toMatchObject({ scoreIntervalHours: 6, accountName: 'Renamed' });
  });

  it('without the id the same cache keeps the stale copy (what the id fixes)', async () => {
    const client = apollo(owner.token);
    const read = gql`query NoId { accountSettings { accountName } }`;
    const first = await client.query<{ accountSettings: { accountName: string } }>({ query: read });
    await client.mutate({
      mutation: gql`mutation NoIdUpdate { updateAccountSettings(input: { accountName: "Stale test" }) { accountName } }`,
    });
    const again = await client.query<{ accountSettings: { accountName: string } }>({ query: read });
    expect(again.data?.accountSettings.accountName).toBe(first.data?.accountSettings.accountName);
    expect(again.data?.accountSettings.accountName).not.toBe('Stale test');
  });

  it('updates a cached contact and a cached page of contacts after updateContact', async () => {
    const c = await createContact('Nantes');
    const client = apollo(owner.token);
    const page = await client.query({ query: ContactsDocument, variables: { first: 50 } });
    expect(page.data?.contacts.nodes.find((n) => n.id === c.id)?.city).toBe('Nantes');
    await client.query({ query: ContactDocument, variables: { id: c.id } });
    await client.mutate({
      mutation: UpdateContactDocument,
      variables: { input: { id: c.id, city: 'Rennes' } },
    });
    const sent = requests;
    const one = await client.query({ query: ContactDocument, variables: { id: c.id } });
    const again = await client.query({ query: ContactsDocument, variables: { first: 50 } });
    expect(requests).toBe(sent);
    expect(one.data?.contact?.city).toBe('Rennes');
    expect(again.data?.contacts.nodes.find((n) => n.id === c.id)?.city).toBe('Rennes');
  });

  it("updates a cached contact's email status after recordBounce, through the bounce's contact", async () => {
    const email = uniqueEmail('bounced');
    const c = ok(await t.gql(CreateContactDocument, { input: { email } }, owner.token)).createContact;
    const client = apollo(owner.token);
    const before = await client.query({ query: ContactDocument, variables: { id: c.id } });
    expect(before.data?.contact?.emailStatus).toBe('VALID');
    const recorded = await client.mutate({
      mutation: RecordBounceDocument,
      variables: { input: { message: `550 5.1.1 <${email}>: Recipient address rejected: User unknown` } },
    });
    expect(recorded.data?.recordBounce.map((b) => b.contact?.id)).toEqual([c.id]);
    const sent = requests;
    const after = await client.query({ query: ContactDocument, variables: { id: c.id } });
    expect(requests).toBe(sent);
    expect(after.data?.contact?.emailStatus).toBe('HARD_BOUNCED');
  });

  it("pages with relayStylePagination: fetchMore appends the next page's edges in the cache", async () => {
    const client = new ApolloClient({
      cache: new InMemoryCache({
        typePolicies: { Query: { fields: { contacts: relayStylePagination(['filter', 'orderBy']) } } },
      }),
      link: new HttpLink({ uri: t.url, headers: { authorization: `Bearer ${owner.token}` } }),
    });
    const query = gql`
      query RelayContacts($first: Int, $after: String) {
        contacts(first: $first, after: $after, orderBy: { field: ID }) {
          edges { cursor node { id city } }
          pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        }
      }
    `;
    type Page = {
      contacts: {
        edges: { cursor: string; node: { id: string } }[];
        pageInfo: { hasNextPage: boolean; endCursor: string | null };
      };
    };
    const all = ok(
      await t.gql(ContactsDocument, { first: 4, orderBy: { field: 'ID' } }, owner.token),
    ).contacts.nodes.map((n) => n.id);
    const watch = client.watchQuery<Page>({ query, variables: { first: 2 } });
    const first = await watch.refetch();
    expect(first.data?.contacts.edges.map((e) => e.node.id)).toEqual(all.slice(0, 2));
    await watch.fetchMore({ variables: { after: first.data?.contacts.pageInfo.endCursor } });
    const merged = client.readQuery<Page>({ query, variables: { first: 2 } });
    expect(merged?.contacts.edges.map((e) => e.node.id)).toEqual(all.slice(0, 4));
    expect(merged?.contacts.pageInfo.endCursor).toBe(merged?.contacts.edges[3].cursor);
  });
});
