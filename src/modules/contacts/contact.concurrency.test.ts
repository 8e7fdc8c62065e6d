import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateContactDocument,
  DeleteContactsDocument,
  UpdateAccountSettingsDocument,
  UpdateContactDocument,
} from '../../../test/generated/graphql.js';
import {
  type Actor,
  code,
  type GqlResult,
  ok,
  signUpOwner,
  startTestApp,
  type TestApp,
} from '../../../test/harness.js';
import { CONCURRENT_WRITE_CODES, lockWait, shuffled } from '../../../test/wait.js';

/**
 * Contact writers, deletes and uniqueKey changes at once on one account. They used to deadlock
 * now and then (deletes locking overlapping sets in different orders, a re-key against writers)
 * and answer a masked INTERNAL_SERVER_ERROR, and a writer could key a contact by the uniqueKey it
 * had read just before a re-key committed.
 */
let t: TestApp;
let owner: Actor;
beforeAll(async () => {
  t = await startTestApp();
  owner = await signUpOwner(t);
});
afterAll(() => t.close());

const phone = (i: number) => `+336${String(10_000_000 + i)}`;

describe('concurrent contact writes, deletes and uniqueKey changes', () => {
  it('every answer is data or a typed error, and the final state is consistent', async () => {
    const seeded: string[] = [];
    for (let i = 0; i < 60; i++) {
      const r = ok(
        await t.gql(
          CreateContactDocument,
          { input: { email: `s${i}@conc.test`, phone: phone(i) } },
          owner.token,
        ),
      );
      seeded.push(r.createContact.id);
    }
    const calls: Promise<GqlResult<unknown>>[] = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 40; i++) {
        const n = 1000 + round * 100 + i;
        // Some new contacts, some merging into seeded ones (same email, or same phone).
        const input =
          i % 3 === 0
            ? { email: `s${i}@conc.test`, firstName: `r${round}` }
            : i % 3 === 1
              ? { phone: phone(i + 1), lastName: `r${round}` }
              : { email: `n${n}@conc.test`, phone: phone(n) };
        calls.push(t.gql(CreateContactDocument, { input }, owner.token));
      }
      for (let i = 0; i < 12; i++) {
        // Overlapping sets, each in its own order.
        const ids = shuffled(seeded.slice(i * 3, i * 3 + 20), round * 100 + i);
        calls.push(t.gql(DeleteContactsDocument, { ids }, owner.token));
      }
      for (let i = 0; i < 8; i++) {
        calls.push(
          t.gql(UpdateContactDocument, { input: { id: seeded[40 + i], city: `c${round}` } }, owner.token),
        );
      }
      for (const key of ['phone', 'email', 'phone', 'email']) {
        calls.push(t.gql(UpdateAccountSettingsDocument, { input: { uniqueKey: key } }, owner.token));
      }
    }
    const answers = await Promise.all(calls);
    const untyped = answers.filter((a) => a.errors?.length && !CONCURRENT_WRITE_CODES.has(String(code(a))));
    expect(untyped.map((a) => a.errors)).toEqual([]);
    expect(answers.every((a) => a.status < 500)).toBe(true);

    // Every contact is keyed by the uniqueKey in force, and no two share a key (the index).
    const { rows: acc } = await t.sql.query('select settings from account where id = $1', [owner.accountId]);
    const key = acc[0].settings.uniqueKey as string;
    const { rows: miskeyed } = await t.sql.query(
      `select id from contact where account_id = $1
          and unique_value is distinct from ${key === 'email' ? 'lower(email)' : 'phone'}`,
      [owner.accountId],
    );
    expect(miskeyed).toEqual([]);

    // Counts add up: contacts = created - deleted, as the history tells them.
    const { rows: counts } = await t.sql.query(
      `select (select count(*)::int from contact where account_id = $1) as contacts,
              (select count(*)::int from audit_entry where account_id = $1 and action = 'createContact') as created,
              (select count(*)::int from audit_entry where account_id = $1 and action = 'deleteContacts') as deleted`,
      [owner.accountId],
    );
    expect(counts[0].contacts).toBe(counts[0].created - counts[0].deleted);
  });

  it('a deleteContacts that loses a deadlock is rerun and answers its data', async () => {
    const ids: string[] = [];
    for (const n of [1, 2]) {
      const r = ok(await t.gql(CreateContactDocument, { input: { email: `dl${n}@conc.test` } }, owner.token));
      ids.push(r.createContact.id);
    }
    // A transaction elsewhere locks the second contact, then (once the delete waits for it) the
    // first: a deadlock. Its own detector waits 10 s, so PostgreSQL aborts the delete's side.
    const other = await t.sql.connect();
    try {
      await other.query('begin');
      await other.query(`set local deadlock_timeout = '10s'`);
      await other.query('select 1 from contact where id = $1 for update', [ids[1]]);
      const deleting = t.gql(DeleteContactsDocument, { ids }, owner.token);
      await lockWait(
        t.sql,
        // deleteContacts locks its contacts in id order before anything else (contact.service.ts).
        'select id from contact where account_id%for update',
        'the deleteContacts to wait for the contact locked elsewhere',
      );
      await other.query('select 1 from contact where id = $1 for update', [ids[0]]);
      await other.query('commit');
      const answer = await deleting;
      expect(answer.errors).toBeUndefined();
      expect(ok(answer).deleteContacts.sort()).toEqual([...ids].sort());
    } finally {
      other.release();
    }
  });
});
