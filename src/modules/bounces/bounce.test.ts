import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  BounceReceivedDocument,
  ClassifyBounceDocument,
  ContactBouncesDocument,
  type ContactBouncesQuery,
  ContactsLastBounceDocument,
  CreateContactDocument,
  RecordBounceDocument,
} from '../../../test/generated/graphql.js';
import {
  type Actor,
  code,
  nextResults,
  ok,
  signUpOwner,
  startTestApp,
  type TestApp,
  viewerWith,
} from '../../../test/harness.js';
import { eventCode } from '../events/event.entity.js';

const CORPUS = join(import.meta.dirname, '../../../test/corpus/bounces/dev');
const corpus = (file: string) => readFileSync(join(CORPUS, file), 'utf8');
/** Postfix DSN: kijitora@2jo.example.jp, 5.1.1 "unknown user". */
const USER_UNKNOWN = corpus('bsd-lhost-postfix-14.eml');
const RECIPIENT = 'kijitora@2jo.example.jp';
/** ARF abuse report about kijitora@y.example.com. */
const COMPLAINT = corpus('bsd-arf-14.eml');
const mailboxFull = (to: string) => `452 4.2.2 <${to}>: Mailbox full`;

let t: TestApp;
let owner: Actor;

beforeAll(async () => {
  t = await startTestApp();
  owner = await signUpOwner(t);
});
afterAll(() => t.close());

async function createContact(email: string, who = owner): Promise<string> {
  return ok(await t.gql(CreateContactDocument, { input: { email } }, who.token)).createContact.id;
}

/** Row counts of everything a bounce could write. */
async function written(): Promise<string> {
  const { rows } = await t.sql.query(
    `select (select count(*) from bounce) as b, (select count(*) from contact_event) as e,
            (select count(*) from audit_entry) as a, (select md5(string_agg(c::text, '|' order by id)) from contact c) as c`,
  );
  return JSON.stringify(rows[0]);
}

async function contactBounces(id: string, first?: number, after?: string | null, who = owner) {
  return ok(await t.gql(ContactBouncesDocument, { id, first, after }, who.token)).contact;
}

describe('classifyBounce', () => {
  it('classifies a corpus DSN without writing anything', async () => {
    const before = await written();
    const [r, ...rest] = ok(
      await t.gql(ClassifyBounceDocument, { message: USER_UNKNOWN }, owner.token),
    ).classifyBounce;
    expect(rest).toEqual([]);
    expect(r).toMatchObject({
      recipient: RECIPIENT,
      status: '5.1.1',
      reason: 'userunknown',
      hard: true,
      type: 'DELIVERY_FAILED',
    });
    expect(r.message).toMatch(/unknown user/i);
    const [complaint] = ok(
      await t.gql(ClassifyBounceDocument, { message: COMPLAINT }, owner.token),
    ).classifyBounce;
    expect(complaint).toMatchObject({ reason: 'feedback', type: 'SPAM_REFUSED', feedbackType: 'abuse' });
    expect(await written()).toBe(before);
  });

  it('answers garbage and oversized input with BAD_USER_INPUT', async () => {
    expect(code(await t.gql(ClassifyBounceDocument, { message: 'hello, world' }, owner.token))).toBe(
      'BAD_USER_INPUT',
    );
    const huge = `550 5.1.1 <a@example.com> User unknown ${'x'.repeat(1024 * 1024)}`;
    expect(code(await t.gql(ClassifyBounceDocument, { message: huge }, owner.token))).toBe('BAD_USER_INPUT');
  });
});

describe('recordBounce', () => {
  it('stores the bounce on the contact, keeps the newest as lastBounce, and the whole history', async () => {
    const id = await createContact('Kijitora@2jo.Example.jp');
    const t0 = '2026-03-10T08:00:00.000Z';
    const [hard, ...more] = ok(
      await t.gql(RecordBounceDocument, { input: { message: USER_UNKNOWN, receivedAt: t0 } }, owner.token),
    ).recordBounce;
    expect(more).toEqual([]);
    expect(hard).toMatchObject({
      contactId: id,
      recipient: RECIPIENT,
      reason: 'userunknown',
      hard: true,
      date: t0,
    });

    let c = await contactBounces(id);
    expect(c?.emailStatus).toBe('HARD_BOUNCED');
    expect(c?.lastBounce).toMatchObject({ id: hard.id, date: t0 });
    expect(c?.lastBounce?.message).toMatch(/unknown user/i);

    // An older message arriving late does not replace the last bounce, nor soften the status.
    const older = ok(
      await t.gql(
        RecordBounceDocument,
        { input: { message: mailboxFull(RECIPIENT), receivedAt: '2026-03-01T08:00:00.000Z' } },
        owner.token,
      ),
    ).recordBounce[0];
    expect(older).toMatchObject({ contactId: id, reason: 'mailboxfull', hard: false });
    c = await contactBounces(id);
    expect(c?.lastBounce?.id).toBe(hard.id);
    expect(c?.emailStatus).toBe('HARD_BOUNCED');

    // A newer one does replace it (a soft bounce still does not undo the hard one).
    const newer = ok(
      await t.gql(
        RecordBounceDocument,
        { input: { message: mailboxFull(RECIPIENT), receivedAt: '2026-03-20T08:00:00.000Z' } },
        owner.token,
      ),
    ).recordBounce[0];
    c = await contactBounces(id);
    expect(c?.lastBounce).toMatchObject({
      id: newer.id,
      date: '2026-03-20T08:00:00.000Z',
      reason: 'mailboxfull',
    });
    expect(c?.emailStatus).toBe('HARD_BOUNCED');

    // The full history, newest first, page by page.
    expect(c?.bounces.nodes.map((b) => b.id)).toEqual([newer.id, hard.id, older.id]);
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page: NonNullable<ContactBouncesQuery['contact']>['bounces'] = (await contactBounces(
        id,
        2,
        after,
      ))!.bounces;
      seen.push(...page.nodes.map((b) => b.id));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    } while (after);
    expect(seen).toEqual([newer.id, hard.id, older.id]);
    expect(code(await t.gql(ContactBouncesDocument, { id, after: 'garbage' }, owner.token))).toBe(
      'BAD_USER_INPUT',
    );

    // One BOUNCE event per bounce, at the bounce's date; one history entry per call.
    const events = await t.sql.query(
      `select occurred_at from contact_event where contact_id = $1 and type = $2 order by occurred_at`,
      [id, eventCode('BOUNCE')],
    );
    expect(events.rows.map((r) => new Date(r.occurred_at).toISOString())).toEqual([
      '2026-03-01T08:00:00.000Z',
      t0,
      '2026-03-20T08:00:00.000Z',
    ]);
    const audit = await t.sql.query(
      `select object_id from audit_entry where action = 'recordBounce' and object_id = any($1)`,
      [[hard.id, older.id, newer.id]],
    );
    expect(audit.rows).toHaveLength(3);
  });

  it('sets SOFT_BOUNCED on a valid contact, COMPLAINED on a complaint, and keeps unmatched bounces', async () => {
    const soft = await createContact('soft@example.org');
    ok(
      await t.gql(RecordBounceDocument, { input: { message: mailboxFull('soft@example.org') } }, owner.token),
    );
    expect((await contactBounces(soft))?.emailStatus).toBe('SOFT_BOUNCED');

    const complainer = await createContact('kijitora@y.example.com');
    const [complaint] = ok(
      await t.gql(RecordBounceDocument, { input: { message: COMPLAINT } }, owner.token),
    ).recordBounce;
    expect(complaint).toMatchObject({ contactId: complainer, reason: 'feedback', type: 'SPAM_REFUSED' });
    const c = await contactBounces(complainer);
    expect(c?.emailStatus).toBe('COMPLAINED');
    // A later soft bounce does not hide the complaint.
    ok(
      await t.gql(
        RecordBounceDocument,
        { input: { message: mailboxFull('kijitora@y.example.com') } },
        owner.token,
      ),
    );
    expect((await contactBounces(complainer))?.emailStatus).toBe('COMPLAINED');

    const [orphan] = ok(
      await t.gql(
        RecordBounceDocument,
        { input: { message: mailboxFull('nobody@example.net') } },
        owner.token,
      ),
    ).recordBounce;
    expect(orphan).toMatchObject({ contactId: null, recipient: 'nobody@example.net' });
    const { rows } = await t.sql.query('select contact_id from bounce where id = $1', [orphan.id]);
    expect(rows).toEqual([{ contact_id: null }]);
  });

  it('stores a bounce that names no recipient with a null recipient, and the migration turns old empty ones into null', async () => {
    const [unnamed] = ok(
      await t.gql(RecordBounceDocument, { input: { message: '550 5.1.1 User unknown' } }, owner.token),
    ).recordBounce;
    expect(unnamed).toMatchObject({ contactId: null, recipient: null, reason: 'userunknown' });
    const stored = async (id: string) =>
      (await t.sql.query('select recipient from bounce where id = $1', [id])).rows;
    expect(await stored(unnamed.id)).toEqual([{ recipient: null }]);

    // Back to the schema before the fix (NOT NULL, '' for no recipient), a row written the old
    // way, then the migration again: the empty recipient becomes null and the column nullable.
    const migrator = t.app.services.orm.getMigrator();
    await migrator.down({ to: 'Migration20261123150000_ActivityLockOrder' });
    const { rows } = await t.sql.query(
      `insert into bounce (account_id, recipient, received_at, reason, hard, type)
       values ($1, '', now(), 'userunknown', true, 'DELIVERY_FAILED') returning id::text`,
      [owner.accountId],
    );
    expect(await stored(unnamed.id)).toEqual([{ recipient: '' }]);
    await migrator.up();
    expect(await stored(rows[0].id)).toEqual([{ recipient: null }]);
    expect(await stored(unnamed.id)).toEqual([{ recipient: null }]);
  });

  it('refuses garbage, a future date and an oversized message with BAD_USER_INPUT, writing nothing', async () => {
    await createContact('garbage@example.org');
    const before = await written();
    for (const input of [
      { message: 'this is not a bounce at all' },
      { message: '' },
      {
        message: mailboxFull('garbage@example.org'),
        receivedAt: new Date(Date.now() + 86_400_000).toISOString(),
      },
      { message: `${mailboxFull('garbage@example.org')} ${'x'.repeat(1024 * 1024)}` },
    ]) {
      const r = await t.gql(RecordBounceDocument, { input }, owner.token);
      expect(code(r), input.message.slice(0, 40)).toBe('BAD_USER_INPUT');
      expect(JSON.stringify(r.errors)).not.toMatch(/\bat .*\.ts:\d+/); // no stack trace
    }
    expect(await written()).toBe(before);
  });

  it('lets a GUEST classify and read bounces but not record them', async () => {
    const guest = await viewerWith(t, owner, { CONTACTS: 'GUEST' });
    const id = await createContact('guest-read@example.org');
    ok(
      await t.gql(
        RecordBounceDocument,
        { input: { message: mailboxFull('guest-read@example.org') } },
        owner.token,
      ),
    );
    expect(
      ok(await t.gql(ClassifyBounceDocument, { message: USER_UNKNOWN }, guest.token)).classifyBounce,
    ).toHaveLength(1);
    expect((await contactBounces(id, undefined, undefined, guest))?.lastBounce?.reason).toBe('mailboxfull');
    const before = await written();
    expect(code(await t.gql(RecordBounceDocument, { input: { message: USER_UNKNOWN } }, guest.token))).toBe(
      'FORBIDDEN',
    );
    expect(await written()).toBe(before);
    const editor = await viewerWith(t, owner, { CONTACTS: 'EDITOR' });
    expect(
      ok(
        await t.gql(RecordBounceDocument, { input: { message: mailboxFull('x@example.org') } }, editor.token),
      ).recordBounce,
    ).toHaveLength(1);
    expect(code(await t.gql(ClassifyBounceDocument, { message: USER_UNKNOWN }, null))).toBe(
      'UNAUTHENTICATED',
    );
  });

  it("never touches or shows another account's contacts", async () => {
    const other = await signUpOwner(t, 'Other');
    const mine = await createContact('shared@example.org');
    const theirs = await createContact('shared@example.org', other);
    const [b] = ok(
      await t.gql(
        RecordBounceDocument,
        { input: { message: mailboxFull('shared@example.org') } },
        other.token,
      ),
    ).recordBounce;
    expect(b.contactId).toBe(theirs);
    expect(await contactBounces(mine)).toMatchObject({
      emailStatus: 'VALID',
      lastBounce: null,
      bounces: { nodes: [] },
    });
    expect((await contactBounces(theirs, undefined, undefined, other))?.lastBounce?.id).toBe(b.id);
    // Our contact is not theirs to read, with or without its bounces.
    expect(code(await t.gql(ContactBouncesDocument, { id: mine }, other.token))).toBe('NOT_FOUND');
  });

  it('stores nothing for an auto-reply', async () => {
    const before = await written();
    const vacation = [
      'From: holiday@example.org',
      'To: sender@example.com',
      'Subject: Out of office',
      'Auto-Submitted: auto-replied',
      '',
      'I am away until Monday.',
    ].join('\n');
    const r = await t.gql(RecordBounceDocument, { input: { message: vacation } }, owner.token);
    expect(ok(r).recordBounce).toEqual([]);
    expect(await written()).toBe(before);
  });
});

describe('lastBounce and bounces on a list of contacts', () => {
  it('read every contact of a page in one query each, not one per contact', async () => {
    const other = await signUpOwner(t, 'Batch');
    for (let i = 0; i < 6; i++) {
      const email = `batch${i}@example.org`;
      await createContact(email, other);
      ok(await t.gql(RecordBounceDocument, { input: { message: mailboxFull(email) } }, other.token));
    }
    const conn = t.app.services.orm.em.getConnection();
    const spy = vi.spyOn(conn, 'execute');
    try {
      const nodes = ok(await t.gql(ContactsLastBounceDocument, { first: 50 }, other.token)).contacts.nodes;
      expect(nodes).toHaveLength(6);
      for (const n of nodes) {
        expect(n.lastBounce?.message).toMatch(/Mailbox full/);
        expect(n.bounces.nodes.map((b) => b.id)).toEqual([n.lastBounce?.id]);
      }
      const sql = spy.mock.calls.map((c) => String(c[0]));
      const bounceQueries = sql.filter((s) => /\bfrom bounce\b/.test(s));
      expect(bounceQueries).toHaveLength(2); // one for every lastBounce, one for every bounces page
    } finally {
      spy.mockRestore();
    }
  });
});

describe('bounceReceived', () => {
  it('streams a bounce recorded over HTTP to its account only', async () => {
    const stranger = await signUpOwner(t, 'Stranger');
    const guest = await viewerWith(t, owner, { CONTACTS: 'GUEST' });
    const mineSub = nextResults(t.ws(guest.token), BounceReceivedDocument, 1);
    const strangerSub = nextResults(t.ws(stranger.token), BounceReceivedDocument, 1);
    await new Promise((r) => setTimeout(r, 200));
    const id = await createContact('live@example.org');
    const [recorded] = ok(
      await t.gql(RecordBounceDocument, { input: { message: mailboxFull('live@example.org') } }, owner.token),
    ).recordBounce;
    const [first] = await mineSub.results;
    expect(first.errors).toBeUndefined();
    expect(first.data?.bounceReceived).toMatchObject({
      id: recorded.id,
      contactId: id,
      reason: 'mailboxfull',
    });

    // The stranger hears its own bounce first: nothing of ours reached it before.
    ok(
      await t.gql(RecordBounceDocument, { input: { message: mailboxFull('s@example.org') } }, stranger.token),
    );
    const [heard] = await strangerSub.results;
    expect(heard.data?.bounceReceived?.recipient).toBe('s@example.org');
    mineSub.stop();
    strangerSub.stop();
  });
});
