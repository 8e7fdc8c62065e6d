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
import { hashSecret } from '../users/credentials.js';
import { isVerifiedSender } from './sender.service.js';

const SENDERS = 'query { senders { id email name status createdAt verifiedAt createdBy { id } } }';
const ADD = `mutation ($input: AddSenderInput!) { addSender(input: $input) { id email name status verifiedAt } }`;
const REMOVE = 'mutation ($id: ID!) { removeSender(id: $id) }';
const PUBLIC = 'https://cible.example.test';

interface SenderOut {
  id: string;
  email: string;
  name: string | null;
  status: string;
  verifiedAt: string | null;
}

let t: TestApp;
let base: string;
let owner: Actor;
let editor: Actor;
let guest: Actor;
let nobody: Actor;
let other: Actor;

const add = (who: Actor | null, email: string, name?: string | null) =>
  t.gql<{ addSender: SenderOut }, Record<string, unknown>>(ADD, { input: { email, name } }, who?.token);
const addOk = async (email: string, name?: string) => ok(await add(editor, email, name)).addSender;
const list = async (who: Actor) =>
  ok(await t.gql<{ senders: SenderOut[] }, never>(SENDERS, undefined, who.token)).senders;

/** The newest confirmation mail to `email`: its link must be PUBLIC_URL's, with the token after it. */
async function linkFor(email: string): Promise<{ token: string; mails: number }> {
  const { rows } = await t.sql.query<{ text: string }>(
    'select text from outbox_message where "to" = $1 order by id desc',
    [email.toLowerCase()],
  );
  const m = /https:\/\/cible\.example\.test\/senders\/confirm\/(snd_[A-Za-z0-9_-]+)/.exec(
    rows[0]?.text ?? '',
  );
  if (!m) throw new Error(`no confirmation mail for ${email}`);
  return { token: m[1], mails: rows.length };
}

const visit = (token: string, method: 'GET' | 'POST' = 'GET') =>
  fetch(`${base}/senders/confirm/${token}`, { method, redirect: 'manual' });

const statusOf = async (id: string) =>
  (await t.sql.query<{ status: string }>('select status from sender where id = $1', [id])).rows[0]?.status;

const audits = async (action: string, objectId: string) =>
  (
    await t.sql.query<{ user_id: string | null; feature: string; account_id: string }>(
      'select user_id, feature, account_id from audit_entry where action = $1 and object_id = $2',
      [action, objectId],
    )
  ).rows;

const verified = (accountId: string, email: string) =>
  isVerifiedSender(t.app.services.orm.em.fork(), accountId, email);

beforeAll(async () => {
  t = await startTestApp({ PUBLIC_URL: PUBLIC });
  base = t.url.replace(/\/graphql$/, '');
  owner = await signUpOwner(t);
  editor = await viewerWith(t, owner, { SETTINGS: 'EDITOR' });
  guest = await viewerWith(t, owner, { SETTINGS: 'GUEST' });
  nobody = await viewerWith(t, owner, { CONTACTS: 'APPROVER' });
  other = await signUpOwner(t, 'Other');
});

afterAll(async () => {
  await t?.close();
});

describe('addSender and the confirmation link', () => {
  it('adds a PENDING sender and mails the address a link whose token is stored only as its sha256', async () => {
    const email = uniqueEmail('news');
    const s = await addOk(email.toUpperCase(), '  The News ');
    expect(s).toMatchObject({ email, name: 'The News', status: 'PENDING', verifiedAt: null });
    const { token, mails } = await linkFor(email);
    expect(mails).toBe(1);
    expect(token).toMatch(/^snd_[A-Za-z0-9_-]{43}$/); // 32 random bytes
    const { rows } = await t.sql.query('select token_hash, token_expires_at from sender where id = $1', [
      s.id,
    ]);
    expect(rows[0].token_hash).toBe(hashSecret(token));
    const hours = (new Date(rows[0].token_expires_at).getTime() - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(47.9);
    expect(hours).toBeLessThanOrEqual(48);
    expect(await audits('addSender', s.id)).toEqual([
      { user_id: editor.userId, feature: 'SETTINGS', account_id: owner.accountId },
    ]);
    expect(await verified(owner.accountId, email)).toBe(false);
  });

  it('GET shows a Confirm form and verifies nothing (link scanners follow every GET)', async () => {
    const email = uniqueEmail('scan');
    const s = await addOk(email);
    const { token } = await linkFor(email);
    for (let i = 0; i < 2; i++) {
      const res = await visit(token);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      const html = await res.text();
      expect(html).toMatch(/<form method="post"><button type="submit">Confirm<\/button><\/form>/);
      expect(html).toContain(email);
    }
    expect(await statusOf(s.id)).toBe('PENDING');
    expect(await verified(owner.accountId, email)).toBe(false);
  });

  it('POST verifies once; the token is single-use, a second POST changes nothing', async () => {
    const email = uniqueEmail('confirm');
    const s = await addOk(email);
    const { token } = await linkFor(email);
    const res = await visit(token, 'POST');
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('Sender confirmed');
    const [row] = (await list(guest)).filter((x) => x.id === s.id);
    expect(row.status).toBe('VERIFIED');
    expect(row.verifiedAt).not.toBeNull();
    expect(await verified(owner.accountId, email.toUpperCase())).toBe(true);
    expect(await verified(other.accountId, email)).toBe(false);
    const confirms = await audits('confirmSender', s.id);
    expect(confirms).toEqual([{ user_id: null, feature: 'SETTINGS', account_id: owner.accountId }]);

    const again = await visit(token, 'POST');
    expect(again.status).toBe(410);
    expect(await again.text()).toContain('already used');
    expect((await visit(token)).status).toBe(410);
    expect(await audits('confirmSender', s.id)).toHaveLength(1);
  });

  it('five presses at once verify once: one 200, the others 410, one audit entry', async () => {
    const email = uniqueEmail('race');
    const s = await addOk(email);
    const { token } = await linkFor(email);
    // Holding the row makes the five overlap for sure: each has read the token before any commits,
    // unless the confirmation reads it under the row lock.
    const holder = await t.sql.connect();
    try {
      await holder.query('begin');
      await holder.query('select 1 from sender where id = $1 for update', [s.id]);
      const presses = Promise.all([1, 2, 3, 4, 5].map(() => visit(token, 'POST')));
      await new Promise((r) => setTimeout(r, 500));
      await holder.query('commit');
      const statuses = (await presses).map((r) => r.status);
      expect(statuses.sort()).toEqual([200, 410, 410, 410, 410]);
    } finally {
      holder.release();
    }
    expect(await audits('confirmSender', s.id)).toHaveLength(1);
  });

  it('an expired link answers 410 and verifies nothing', async () => {
    const email = uniqueEmail('late');
    const s = await addOk(email);
    const { token } = await linkFor(email);
    await t.sql.query("update sender set token_expires_at = now() - interval '1 second' where id = $1", [
      s.id,
    ]);
    const get = await visit(token);
    expect(get.status).toBe(410);
    expect(await get.text()).toContain('expired');
    const post = await visit(token, 'POST');
    expect(post.status).toBe(410);
    expect(await statusOf(s.id)).toBe('PENDING');
  });

  it('re-adding a PENDING sender mails a fresh link and voids the old one; a VERIFIED one is CONFLICT', async () => {
    const email = uniqueEmail('again');
    const first = await addOk(email, 'First');
    const old = (await linkFor(email)).token;
    const second = ok(await add(owner, email, null)).addSender;
    expect(second.id).toBe(first.id);
    expect(second.name).toBe('First'); // kept when not given
    const fresh = await linkFor(email);
    expect(fresh.mails).toBe(2);
    expect(fresh.token).not.toBe(old);
    expect(await audits('resendSenderConfirmation', first.id)).toHaveLength(1);

    expect((await visit(old, 'POST')).status).toBe(404);
    expect(await statusOf(first.id)).toBe('PENDING');
    expect((await visit(fresh.token, 'POST')).status).toBe(200);
    expect(await statusOf(first.id)).toBe('VERIFIED');

    const dup = await add(editor, email.toUpperCase());
    expect(code(dup)).toBe('CONFLICT');
    expect((await linkFor(email)).mails).toBe(2); // no mail for a refusal
  });

  it('unknown and malformed tokens answer a plain 404 page, no stack trace; other methods 405', async () => {
    for (const token of [`snd_${'A'.repeat(43)}`, 'nope', '%ZZ', `snd_${'x'.repeat(5000)}`, '']) {
      for (const method of ['GET', 'POST'] as const) {
        const res = await visit(token, method);
        expect(res.status, `${method} ${token.slice(0, 20)}`).toBe(404);
        const html = await res.text();
        expect(html).toContain('Unknown link');
        expect(html).not.toMatch(/at \w+ \(|Error:/);
      }
    }
    const put = await fetch(`${base}/senders/confirm/snd_x`, { method: 'PUT' });
    expect(put.status).toBe(405);
  });

  it('escapes what the page shows', async () => {
    const email = `o'&x.${Date.now()}@example.com`;
    await addOk(email);
    const { token } = await linkFor(email);
    const html = await (await visit(token)).text();
    expect(html).toContain('o&#39;&amp;x.');
    expect(html).not.toContain("o'&x.");
  });

  it('removeSender kills its pending link; another account cannot see or remove it', async () => {
    const email = uniqueEmail('gone');
    const s = await addOk(email);
    const { token } = await linkFor(email);
    expect(code(await t.gql(REMOVE, { id: s.id }, other.token))).toBe('NOT_FOUND');
    expect((await list(other)).map((x) => x.id)).not.toContain(s.id);
    expect(
      ok(await t.gql<{ removeSender: string }, { id: string }>(REMOVE, { id: s.id }, editor.token)),
    ).toEqual({
      removeSender: s.id,
    });
    expect(await audits('removeSender', s.id)).toHaveLength(1);
    expect((await visit(token, 'POST')).status).toBe(404);
    expect(code(await t.gql(REMOVE, { id: s.id }, editor.token))).toBe('NOT_FOUND');
    expect(code(await t.gql(REMOVE, { id: 'not-a-uuid' }, editor.token))).toBe('NOT_FOUND');
  });
});

describe('validation', () => {
  it.each([
    ['no at sign', 'nope'],
    ['no domain dot', 'a@b'],
    ['a line break (header injection)', 'x@example.com\r\nBcc: all@example.com'],
    ['a control character', 'x\u0001y@example.com'],
    ['non-ASCII', 'é@example.com'],
    ['too long', `${'a'.repeat(320)}@example.com`],
    ['empty', '   '],
  ])('refuses an address with %s: BAD_USER_INPUT, nothing stored or mailed', async (_why, email) => {
    const before = await t.sql.query('select count(*)::int as n from outbox_message');
    const r = await add(editor, email);
    expect(code(r)).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0]?.extensions?.field).toBe('email');
    const after = await t.sql.query('select count(*)::int as n from outbox_message');
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  it.each([
    ['a line break', 'News\r\nBcc: x@example.com'],
    ['over 200 characters', 'n'.repeat(201)],
    ['a bidirectional override', 'News \u202egpj.exe'],
  ])('refuses a name with %s', async (_why, name) => {
    const r = await add(editor, uniqueEmail('named'), name);
    expect(code(r)).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0]?.extensions?.field).toBe('name');
  });

  it('keeps a name of 200 characters and emoji sequences (the zero-width joiner is not a control)', async () => {
    const family = '\u{1F468}\u200D\u{1F469}\u200D\u{1F467} News';
    expect((await addOk(uniqueEmail('emoji'), family)).name).toBe(family);
    expect((await addOk(uniqueEmail('long'), 'n'.repeat(200))).name).toBe('n'.repeat(200));
  });

  it('refuses a new sender past 100 in the account, but still re-sends to a PENDING one', async () => {
    const crowd = await signUpOwner(t, 'Crowd');
    const first = ok(await add(crowd, uniqueEmail('crowd'))).addSender;
    await t.sql.query(
      `insert into sender (account_id, email) select $1, 'filler' || g || '@example.com' from generate_series(1, 99) g`,
      [crowd.accountId],
    );
    const r = await add(crowd, uniqueEmail('one-too-many'));
    expect(code(r)).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0]?.message).toMatch(/at most 100 senders/);
    const again = await add(crowd, first.email);
    expect(ok(again).addSender.id).toBe(first.id);
  });

  it('isVerifiedSender is false for what cannot be a sender', async () => {
    expect(await verified('not-a-uuid', 'x@example.com')).toBe(false);
    expect(await verified(owner.accountId, '')).toBe(false);
    expect(await verified(owner.accountId, 'x'.repeat(400))).toBe(false);
  });
});

describe('rights (SETTINGS)', () => {
  it('GUEST lists but may not add or remove', async () => {
    const s = await addOk(uniqueEmail('rights'));
    expect((await list(guest)).map((x) => x.id)).toContain(s.id);
    expect(code(await add(guest, uniqueEmail('g')))).toBe('FORBIDDEN');
    expect(code(await t.gql(REMOVE, { id: s.id }, guest.token))).toBe('FORBIDDEN');
    expect(await statusOf(s.id)).toBe('PENDING');
  });

  it('NONE and anonymous get nothing', async () => {
    const s = await addOk(uniqueEmail('none'));
    expect(code(await t.gql(SENDERS, undefined, nobody.token))).toBe('FORBIDDEN');
    expect(code(await add(nobody, uniqueEmail('n')))).toBe('FORBIDDEN');
    expect(code(await t.gql(REMOVE, { id: s.id }, nobody.token))).toBe('FORBIDDEN');
    expect(code(await t.gql(SENDERS))).toBe('UNAUTHENTICATED');
    expect(code(await add(null, uniqueEmail('a')))).toBe('UNAUTHENTICATED');
    expect(code(await t.gql(REMOVE, { id: s.id }))).toBe('UNAUTHENTICATED');
    expect(await statusOf(s.id)).toBe('PENDING');
  });

  it('createdBy needs USERS >= GUEST: null for a SETTINGS-only guest, the user for the owner', async () => {
    const s = await addOk(uniqueEmail('who'));
    const asGuest = await t.gql<{ senders: { id: string; createdBy: { id: string } | null }[] }, never>(
      SENDERS,
      undefined,
      guest.token,
    );
    expect(asGuest.data?.senders.find((x) => x.id === s.id)?.createdBy).toBeNull();
    const asOwner = (await list(owner)) as unknown as { id: string; createdBy: { id: string } | null }[];
    expect(asOwner.find((x) => x.id === s.id)?.createdBy).toEqual({ id: editor.userId });
  });
});
