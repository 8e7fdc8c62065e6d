import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ContactDocument,
  ContactsDocument,
  type ContactsQuery,
  CreateContactDocument,
  type CreateContactMutationVariables,
  DefineContactFieldDocument,
  DeleteContactsDocument,
  UpdateAccountSettingsDocument,
  UpdateContactDocument,
} from '../../../test/generated/graphql.js';
import {
  type Actor,
  code,
  ok,
  signUpOwner,
  startTestApp,
  type TestApp,
  viewerWith,
} from '../../../test/harness.js';

let t: TestApp;
let owner: Actor;

beforeAll(async () => {
  t = await startTestApp();
  owner = await signUpOwner(t);
  ok(
    await t.gql(
      DefineContactFieldDocument,
      { input: { name: 'revenue', type: 'NUMBER', label: 'Revenue' } },
      owner.token,
    ),
  );
  ok(await t.gql(DefineContactFieldDocument, { input: { name: 'member', type: 'BOOLEAN' } }, owner.token));
  ok(await t.gql(DefineContactFieldDocument, { input: { name: 'expires', type: 'DATE' } }, owner.token));
  ok(await t.gql(DefineContactFieldDocument, { input: { name: 'loyaltyId', type: 'TEXT' } }, owner.token));
});
afterAll(() => t.close());

const fieldOf = (c: { fields: { name: string; value: string | null }[] }, name: string) =>
  c.fields.find((f) => f.name === name)?.value ?? null;

describe('contacts', () => {
  it('creates a contact with normalised standard fields and exact typed custom fields', async () => {
    const c = ok(
      await t.gql(
        CreateContactDocument,
        {
          input: {
            email: '  Alice.Martin@Example.COM ',
            phone: '+33 6 12 34 56 78',
            firstName: 'Alice',
            lastName: 'Martin',
            birthDate: '1990-02-28',
            country: 'FR',
            fields: [
              { name: 'revenue', value: '1234567.891011' },
              { name: 'member', value: 'oui' },
              { name: 'expires', value: '2027-12-31' },
            ],
          },
        },
        owner.token,
      ),
    ).createContact;
    expect(c).toMatchObject({
      email: 'alice.martin@example.com',
      phone: '+33612345678',
      birthDate: '1990-02-28',
    });
    expect(fieldOf(c, 'revenue')).toBe('1234567.891011');
    expect(fieldOf(c, 'member')).toBe('true');
    expect(fieldOf(c, 'expires')).toBe('2027-12-31');
    const { rows } = await t.sql.query(
      `select (fields->>'revenue')::numeric * 3 as triple from contact where id = $1`,
      [c.id],
    );
    expect(rows[0].triple).toBe('3703703.673033');
  });

  it('refuses bad input with BAD_USER_INPUT naming the field, and writes nothing', async () => {
    const count = async () =>
      (await t.sql.query('select count(*)::int as n from contact')).rows[0].n as number;
    const before = await count();
    const cases: [CreateContactMutationVariables['input'], string][] = [
      [{ email: 'not an email' }, 'email'],
      [{ phone: 'abc' }, 'phone'],
      [{ birthDate: '1990-02-30' }, 'birthDate'],
      [{ fields: [{ name: 'revenue', value: '12,5x' }] }, 'revenue'],
      [{ fields: [{ name: 'member', value: 'maybe' }] }, 'member'],
      [{ fields: [{ name: 'nosuchfield', value: '1' }] }, 'nosuchfield'],
      [{ firstName: 'x'.repeat(201) }, 'firstName'],
    ];
    for (const [input, field] of cases) {
      const r = await t.gql(CreateContactDocument, { input }, owner.token);
      expect(code(r), JSON.stringify(input)).toBe('BAD_USER_INPUT');
      expect(r.errors?.[0]?.extensions?.field, JSON.stringify(input)).toBe(field);
    }
    expect(await count()).toBe(before);
  });

  it('merges a duplicate of the unique key into the existing contact by default', async () => {
    const first = ok(
      await t.gql(
        CreateContactDocument,
        { input: { email: 'bob@example.com', firstName: 'Bob', city: 'Lyon' } },
        owner.token,
      ),
    ).createContact;
    const again = ok(
      await t.gql(
        CreateContactDocument,
        {
          input: { email: 'BOB@example.com', lastName: 'Dupont', fields: [{ name: 'revenue', value: '10' }] },
        },
        owner.token,
      ),
    ).createContact;
    expect(again.id).toBe(first.id);
    expect(again).toMatchObject({ firstName: 'Bob', lastName: 'Dupont', city: 'Lyon' });
    expect(fieldOf(again, 'revenue')).toBe('10');
    const { rows } = await t.sql.query(
      `select count(*)::int as n from contact where lower(email) = 'bob@example.com'`,
    );
    expect(rows[0].n).toBe(1);
  });

  it('with rejectDuplicates, a duplicate fails with CONFLICT naming the existing contact, also under concurrency', async () => {
    const other = await signUpOwner(t, 'Strict');
    ok(await t.gql(UpdateAccountSettingsDocument, { input: { rejectDuplicates: true } }, other.token));
    const first = ok(
      await t.gql(CreateContactDocument, { input: { email: 'carol@example.com' } }, other.token),
    ).createContact;
    const dup = await t.gql(
      CreateContactDocument,
      { input: { email: 'carol@example.com', firstName: 'X' } },
      other.token,
    );
    expect(code(dup)).toBe('CONFLICT');
    expect(dup.errors?.[0]?.extensions?.existingContactId).toBe(first.id);
    // Twenty concurrent creates of one new email: exactly one wins.
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        t.gql(CreateContactDocument, { input: { email: 'race@example.com' } }, other.token),
      ),
    );
    expect(results.filter((r) => !r.errors).length).toBe(1);
    expect(results.filter((r) => code(r) === 'CONFLICT').length).toBe(19);
    // The same email in another account is another contact.
    ok(await t.gql(CreateContactDocument, { input: { email: 'carol@example.com' } }, owner.token));
  });

  it('merging under concurrency never creates two contacts', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        t.gql(
          CreateContactDocument,
          { input: { email: 'merge-race@example.com', city: `C${i}` } },
          owner.token,
        ),
      ),
    );
    expect(results.every((r) => !r.errors)).toBe(true);
    expect(new Set(results.map((r) => r.data?.createContact.id)).size).toBe(1);
  });

  it('uses another unique key when settings say so, refusing the change while duplicates exist', async () => {
    const acc = await signUpOwner(t, 'Keyed');
    ok(await t.gql(DefineContactFieldDocument, { input: { name: 'loyaltyId', type: 'TEXT' } }, acc.token));
    ok(
      await t.gql(
        CreateContactDocument,
        { input: { email: 'a@k.com', fields: [{ name: 'loyaltyId', value: 'L1' }] } },
        acc.token,
      ),
    );
    ok(
      await t.gql(
        CreateContactDocument,
        { input: { email: 'b@k.com', fields: [{ name: 'loyaltyId', value: 'L1' }] } },
        acc.token,
      ),
    );
    const refused = await t.gql(
      UpdateAccountSettingsDocument,
      { input: { uniqueKey: 'loyaltyId' } },
      acc.token,
    );
    expect(code(refused)).toBe('CONFLICT');
    const bad = await t.gql(UpdateAccountSettingsDocument, { input: { uniqueKey: 'nosuch' } }, acc.token);
    expect(code(bad)).toBe('BAD_USER_INPUT');
    ok(await t.gql(UpdateAccountSettingsDocument, { input: { uniqueKey: 'phone' } }, acc.token));
    const x = ok(
      await t.gql(CreateContactDocument, { input: { phone: '0612345678', firstName: 'X' } }, acc.token),
    ).createContact;
    const y = ok(
      await t.gql(CreateContactDocument, { input: { phone: '06 12 34 56 78', lastName: 'Y' } }, acc.token),
    ).createContact;
    expect(y.id).toBe(x.id);
  });

  it('updates given fields only, clears with null, and refuses to steal a unique key', async () => {
    const a = ok(
      await t.gql(
        CreateContactDocument,
        { input: { email: 'dan@example.com', city: 'Paris', country: 'FR' } },
        owner.token,
      ),
    ).createContact;
    const b = ok(
      await t.gql(CreateContactDocument, { input: { email: 'eve@example.com' } }, owner.token),
    ).createContact;
    const u = ok(
      await t.gql(
        UpdateContactDocument,
        { input: { id: a.id, city: null, firstName: 'Dan', fields: [{ name: 'revenue', value: '5.5' }] } },
        owner.token,
      ),
    ).updateContact;
    expect(u).toMatchObject({ city: null, country: 'FR', firstName: 'Dan' });
    expect(fieldOf(u, 'revenue')).toBe('5.5');
    const steal = await t.gql(
      UpdateContactDocument,
      { input: { id: a.id, email: 'eve@example.com' } },
      owner.token,
    );
    expect(code(steal)).toBe('CONFLICT');
    expect(steal.errors?.[0]?.extensions?.existingContactId).toBe(b.id);
    expect(ok(await t.gql(ContactDocument, { id: a.id }, owner.token)).contact?.email).toBe(
      'dan@example.com',
    );
  });

  it('lists with filters, sorting and cursor pagination that visit every contact once', async () => {
    const acc = await signUpOwner(t, 'Listing');
    const names = ['Zola', 'adam', 'Martin', 'martin', 'Bernard', null, 'Durand'];
    for (const [i, lastName] of names.entries()) {
      ok(
        await t.gql(
          CreateContactDocument,
          { input: { email: `p${i}@list.com`, lastName, country: i % 2 ? 'FR' : 'BE' } },
          acc.token,
        ),
      );
    }
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page: ContactsQuery['contacts'] = ok(
        await t.gql(
          ContactsDocument,
          { orderBy: { field: 'LAST_NAME', desc: false }, first: 2, after },
          acc.token,
        ),
      ).contacts;
      seen.push(...page.nodes.map((n) => n.lastName ?? ''));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    } while (after);
    expect(seen).toHaveLength(7);
    expect(seen[0]).toBe('');
    const byName = await t.sql.query(
      `select coalesce(last_name, '') as n from contact where account_id = $1 order by coalesce(last_name, ''), id`,
      [acc.accountId],
    );
    expect(seen).toEqual(byName.rows.map((r) => r.n));
    for (const field of ['CREATED_AT', 'EMAIL', 'ID'] as const) {
      const ids: string[] = [];
      let cursor: string | null = null;
      do {
        const page: ContactsQuery['contacts'] = ok(
          await t.gql(
            ContactsDocument,
            { orderBy: { field, desc: true }, first: 3, after: cursor },
            acc.token,
          ),
        ).contacts;
        ids.push(...page.nodes.map((n) => n.id));
        cursor = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
      } while (cursor);
      expect(new Set(ids).size, field).toBe(7);
      // The same order as the database gives for the documented key (NULL as ''), then id.
      const key = { CREATED_AT: 'created_at', EMAIL: "coalesce(email, '')", ID: 'id' }[field];
      const { rows } = await t.sql.query(
        `select id::text from contact where account_id = $1 order by ${key} desc, id desc`,
        [acc.accountId],
      );
      expect(ids, field).toEqual(rows.map((r) => r.id));
    }
    const fr = ok(await t.gql(ContactsDocument, { filter: { country: 'fr' } }, acc.token)).contacts.nodes;
    expect(fr).toHaveLength(3);
    const search = ok(await t.gql(ContactsDocument, { filter: { search: 'MART' } }, acc.token)).contacts
      .nodes;
    expect(search.map((c) => c.lastName?.toLowerCase())).toEqual(['martin', 'martin']);
    expect(code(await t.gql(ContactsDocument, { after: 'bogus' }, acc.token))).toBe('BAD_USER_INPUT');
  });
});

describe('rights and accounts', () => {
  it('a GUEST reads but cannot write; another account sees NOT_FOUND', async () => {
    const c = ok(
      await t.gql(CreateContactDocument, { input: { email: 'guarded@example.com' } }, owner.token),
    ).createContact;
    const guest = await viewerWith(t, owner, { CONTACTS: 'GUEST' });
    expect(ok(await t.gql(ContactDocument, { id: c.id }, guest.token)).contact?.email).toBe(
      'guarded@example.com',
    );
    expect(
      code(await t.gql(CreateContactDocument, { input: { email: 'no@example.com' } }, guest.token)),
    ).toBe('FORBIDDEN');
    expect(code(await t.gql(UpdateContactDocument, { input: { id: c.id, city: 'X' } }, guest.token))).toBe(
      'FORBIDDEN',
    );
    expect(code(await t.gql(DeleteContactsDocument, { ids: [c.id] }, guest.token))).toBe('FORBIDDEN');
    const stranger = await signUpOwner(t, 'Stranger');
    expect(code(await t.gql(ContactDocument, { id: c.id }, stranger.token))).toBe('NOT_FOUND');
    expect(code(await t.gql(UpdateContactDocument, { input: { id: c.id, city: 'X' } }, stranger.token))).toBe(
      'NOT_FOUND',
    );
    expect(ok(await t.gql(DeleteContactsDocument, { ids: [c.id] }, stranger.token)).deleteContacts).toEqual(
      [],
    );
    expect(ok(await t.gql(ContactsDocument, {}, stranger.token)).contacts.nodes).toEqual([]);
    expect(ok(await t.gql(ContactDocument, { id: c.id }, owner.token)).contact?.id).toBe(c.id);
  });

  it('deletes contacts with their events and scores, at most 1000 ids per call', async () => {
    const c = ok(
      await t.gql(CreateContactDocument, { input: { email: 'gone@example.com' } }, owner.token),
    ).createContact;
    await t.sql.query(
      `insert into contact_event (account_id, contact_id, type, occurred_at) select account_id, id, 0, now() from contact where id = $1`,
      [c.id],
    );
    const score = await t.sql.query(
      `insert into score (account_id, name, description) select account_id, '[SCORE] t', '' from contact where id = $1 returning id`,
      [c.id],
    );
    await t.sql.query(
      `insert into contact_score (score_id, contact_id, account_id, state_value, event_value, value)
       select $1, id, account_id, 1, 0, 1 from contact where id = $2`,
      [score.rows[0].id, c.id],
    );
    expect(
      ok(await t.gql(DeleteContactsDocument, { ids: [c.id, '999999999'] }, owner.token)).deleteContacts,
    ).toEqual([c.id]);
    const { rows } = await t.sql.query('select count(*)::int as n from contact_event where contact_id = $1', [
      c.id,
    ]);
    expect(rows[0].n).toBe(0);
    const scores = await t.sql.query('select count(*)::int as n from contact_score where contact_id = $1', [
      c.id,
    ]);
    expect(scores.rows[0].n).toBe(0);
    const tooMany = Array.from({ length: 1001 }, (_, i) => String(i + 1));
    expect(code(await t.gql(DeleteContactsDocument, { ids: tooMany }, owner.token))).toBe('BAD_USER_INPUT');
  });
});

describe('changing the unique key', () => {
  it("re-keys when a contact's new value is another's old one, and refuses only real duplicates", async () => {
    const o = await signUpOwner(t, 'Rekey');
    ok(await t.gql(DefineContactFieldDocument, { input: { name: 'code', type: 'TEXT' } }, o.token));
    const make = async (email: string, codeValue: string) =>
      ok(
        await t.gql(
          CreateContactDocument,
          { input: { email, fields: [{ name: 'code', value: codeValue }] } },
          o.token,
        ),
      ).createContact.id;
    // The first contact's new key is the second's current one: a swap, not a duplicate.
    await make('a@swap.test', 'b@swap.test');
    await make('b@swap.test', 'a@swap.test');
    const rekeyed = await t.gql(UpdateAccountSettingsDocument, { input: { uniqueKey: 'code' } }, o.token);
    expect(rekeyed.errors).toBeUndefined();
    const { rows } = await t.sql.query(
      `select email, unique_value from contact where account_id = $1 order by email`,
      [o.accountId],
    );
    expect(rows).toEqual([
      { email: 'a@swap.test', unique_value: 'b@swap.test' },
      { email: 'b@swap.test', unique_value: 'a@swap.test' },
    ]);
    // Two contacts that really share a value of the new key: CONFLICT, and nothing changes.
    ok(await t.gql(UpdateAccountSettingsDocument, { input: { uniqueKey: 'email' } }, o.token));
    await make('c@swap.test', 'shared');
    await make('d@swap.test', 'shared');
    const dup = await t.gql(UpdateAccountSettingsDocument, { input: { uniqueKey: 'code' } }, o.token);
    expect(code(dup)).toBe('CONFLICT');
    const { rows: after } = await t.sql.query(
      `select count(*)::int as n from contact where account_id = $1 and unique_value is distinct from lower(email)`,
      [o.accountId],
    );
    expect(after[0].n).toBe(0);
    const { rows: settings } = await t.sql.query('select settings from account where id = $1', [o.accountId]);
    expect(settings[0].settings.uniqueKey).toBe('email');
  });
});
