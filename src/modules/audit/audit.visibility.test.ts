/**
 * History must not leak another feature's data (issue 10, 2): an entry's diff, changes and
 * objectId need GUEST in the entry's feature; without it the entry still says who did what, when,
 * from where. Over HTTP and over auditEntryAdded, where the rights of the moment apply.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Actor,
  code,
  ok,
  signUpOwner,
  startTestApp,
  type TestApp,
  uniqueEmail,
  viewerWith,
} from '../../../test/harness.js';
import { type Message, type Stream, settle, until, wsStream } from '../../../test/live-streams.js';
import { encodeCursor } from '../../shared/pagination.js';

const ENTRY = 'action userEmail feature objectType objectId diff changes { field before after } ip createdAt';
const LOG = `query ($filter: AuditFilter, $after: String) { auditLog(first: 50, filter: $filter, after: $after) { nodes { ${ENTRY} } } }`;
const ADDED = `subscription { auditEntryAdded { ${ENTRY} } }`;
const CREATE_CONTACT = 'mutation ($email: String) { createContact(input: { email: $email }) { id } }';
const UPDATE_USER = 'mutation ($input: UpdateUserInput!) { updateUser(input: $input) { id } }';
const SET_RIGHTS = 'mutation ($input: SetUserRightsInput!) { setUserRights(input: $input) { id } }';

interface Entry {
  action: string;
  userEmail: string | null;
  feature: string | null;
  objectType: string | null;
  objectId: string | null;
  diff: unknown;
  changes: unknown[];
  ip: string | null;
  createdAt: string;
}

let t: TestApp;
let owner: Actor;
/** CONTACTS = NONE, USERS = GUEST: reads everyone's history, no contact data. */
let blind: Actor;
/** CONTACTS = GUEST, USERS = GUEST. */
let sighted: Actor;
let contactEmail: string;
let contactId: string;

const log = async (who: Actor, filter: Record<string, unknown>) =>
  (ok(await t.gql(LOG, { filter }, who.token)) as { auditLog: { nodes: Entry[] } }).auditLog.nodes;
const createContact = async (email: string) =>
  (ok(await t.gql(CREATE_CONTACT, { email }, owner.token)) as { createContact: { id: string } }).createContact
    .id;

beforeAll(async () => {
  t = await startTestApp();
  owner = await signUpOwner(t);
  blind = await viewerWith(t, owner, { CONTACTS: 'NONE', USERS: 'GUEST' });
  sighted = await viewerWith(t, owner, { CONTACTS: 'GUEST', USERS: 'GUEST' });
  contactEmail = uniqueEmail('secret');
  contactId = await createContact(contactEmail);
});
afterAll(() => t?.close());

describe('auditLog over HTTP', () => {
  it('hides the diff, changes and objectId of an entry of a feature the viewer has no rights in, and shows who did what', async () => {
    const [entry] = await log(blind, { action: 'createContact', userId: owner.userId });
    expect(entry).toMatchObject({
      action: 'createContact',
      userEmail: owner.email,
      feature: 'CONTACTS',
      objectType: 'Contact',
      objectId: null,
      diff: null,
      changes: [],
    });
    expect(entry.ip).toBeTruthy();
    expect(entry.createdAt).toBeTruthy();
    const page = await t.gql(LOG, { filter: {} }, blind.token);
    expect(JSON.stringify(page)).not.toContain(contactEmail);
  });

  it('shows them with GUEST in the feature', async () => {
    const [entry] = await log(sighted, { action: 'createContact', userId: owner.userId });
    expect(entry.objectId).toBe(contactId);
    expect(JSON.stringify(entry.diff)).toContain(contactEmail);
    expect(entry.changes.length).toBeGreaterThan(0);
  });

  it('shows the data of entries of a feature the viewer reads, and of entries of no feature, as before', async () => {
    const [invite] = await log(blind, { action: 'inviteUser', objectId: sighted.userId });
    expect(invite.objectId).toBe(sighted.userId);
    expect(JSON.stringify(invite.diff)).toContain(sighted.email);
    const { rows } = await t.sql.query(
      `select object_id from audit_entry where account_id = $1 and feature is null and object_id is not null
        order by id limit 1`,
      [owner.accountId],
    );
    expect(rows.length).toBe(1);
    const none = (await log(blind, {})).filter((e) => e.feature === null);
    expect(none.map((e) => e.objectId)).toContain(rows[0].object_id);
  });

  it('does not find entries by an objectId it would hide (it would tell which objects have history)', async () => {
    expect(await log(blind, { objectId: contactId })).toEqual([]);
    expect((await log(sighted, { objectId: contactId })).length).toBeGreaterThan(0);
  });

  it('refuses an over-long or out-of-range cursor with BAD_USER_INPUT, not an internal error', async () => {
    for (const after of [
      encodeCursor('99999999999999999999'),
      encodeCursor('9223372036854775808'),
      encodeCursor('0'),
      encodeCursor('9'.repeat(10_000)),
      'A'.repeat(10_240),
    ]) {
      const r = await t.gql(LOG, { filter: {}, after }, owner.token);
      expect(code(r), after.slice(0, 40)).toBe('BAD_USER_INPUT');
    }
    // The largest id is still a cursor.
    ok(await t.gql(LOG, { filter: {}, after: encodeCursor('9223372036854775807') }, owner.token));
  });
});

const entryOf = (m: Message) => (typeof m === 'object' ? (m.data?.auditEntryAdded as Entry) : null);
const pokeContact = async (tag: string) => {
  await createContact(`${tag}@example.org`);
};

describe('auditEntryAdded', () => {
  let streams: Stream[] = [];
  afterAll(() => {
    for (const s of streams) s.close();
    streams = [];
  });

  it('streams the entry without the data of a feature the viewer has no rights in', async () => {
    const stream = wsStream(t.url, blind.token, ADDED);
    streams.push(stream);
    // Settled on entries of USERS, whose data this viewer reads.
    const pokeUser = async (tag: string) => {
      ok(await t.gql(UPDATE_USER, { input: { id: sighted.userId, name: tag } }, owner.token));
    };
    await settle(stream, pokeUser, (m, tag) => JSON.stringify(entryOf(m)?.diff ?? '').includes(tag));
    const email = uniqueEmail('streamed');
    await createContact(email);
    const m = await until(stream, (x) => entryOf(x)?.action === 'createContact');
    expect(entryOf(m)).toMatchObject({
      feature: 'CONTACTS',
      objectType: 'Contact',
      objectId: null,
      diff: null,
      changes: [],
    });
    expect(JSON.stringify(m)).not.toContain(email);
  });

  it('applies the rights of the moment to each entry: lowered, the data goes; raised, it comes back', async () => {
    const member = await viewerWith(t, owner, { CONTACTS: 'GUEST', USERS: 'GUEST' });
    const stream = wsStream(t.url, member.token, ADDED);
    streams.push(stream);
    const hasTag = (m: Message, tag: string) => JSON.stringify(entryOf(m)?.diff ?? '').includes(tag);
    await settle(stream, pokeContact, hasTag);
    const setContacts = async (level: string) =>
      ok(
        await t.gql(
          SET_RIGHTS,
          { input: { userId: member.userId, rights: [{ feature: 'CONTACTS', level }] } },
          owner.token,
        ),
      );

    await setContacts('NONE');
    await createContact(uniqueEmail('hidden'));
    const hidden = await until(stream, (m) => entryOf(m)?.action === 'createContact');
    expect(entryOf(hidden)).toMatchObject({ objectId: null, diff: null, changes: [] });

    await setContacts('GUEST');
    const shown = uniqueEmail('shown');
    await createContact(shown);
    const back = await until(stream, (m) => entryOf(m)?.action === 'createContact');
    expect(JSON.stringify(entryOf(back)?.diff)).toContain(shown);
    expect(entryOf(back)?.objectId).toBeTruthy();
  });
});
