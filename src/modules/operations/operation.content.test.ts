/**
 * Every refusal of content at save, over HTTP: each is BAD_USER_INPUT naming what is wrong (the
 * field, or the template part with its line and column), and a refused save writes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Actor,
  code,
  type GqlResult,
  ok,
  signUpOwner,
  startTestApp,
  type TestApp,
} from '../../../test/harness.js';
import { LIMITS } from './operation.content.js';
import { emailing, FROM, ops, smsOp, verifiedSender } from './testing/helpers.js';

let t: TestApp;
let owner: Actor;
let other: Actor;
let o: ReturnType<typeof ops>;
let mailId: string;
let smsId: string;

beforeAll(async () => {
  t = await startTestApp();
  o = ops(t);
  owner = await signUpOwner(t, 'Content');
  other = await signUpOwner(t, 'Other');
  await verifiedSender(t, owner.accountId);
  // Verified in another account only: not a sender of this one.
  await verifiedSender(t, other.accountId, 'theirs@other.example');
  await t.gql(
    'mutation { defineContactField(input: { name: "tier", type: TEXT }) { name } }',
    {},
    owner.token,
  );
  ok(
    await t.gql(
      `mutation { createScore(input: { name: "Engagement", conditions: [{ mode: FIXED, value: "1", criterion: { field: { name: "email", op: IS_SET } } }] }) { id } }`,
      {},
      owner.token,
    ),
  );
  mailId = ok(await o.create(owner, emailing('Mail'))).createOperation.id;
  smsId = ok(await o.create(owner, smsOp('Text'))).createOperation.id;
});
afterAll(() => t.close());

/** The refusal's message and extensions, after checking it is BAD_USER_INPUT. */
function refusal(r: GqlResult<unknown>): { message: string; ext: Record<string, unknown> } {
  expect(code(r), JSON.stringify(r.errors ?? r.data)).toBe('BAD_USER_INPUT');
  const e = r.errors![0];
  return { message: e.message, ext: (e.extensions ?? {}) as Record<string, unknown> };
}

const state = async (id: string) =>
  (await t.sql.query('select version, content from operation where id = $1', [id])).rows[0];
const operationsCount = async () =>
  Number(
    (await t.sql.query('select count(*)::int as n from operation where account_id = $1', [owner.accountId]))
      .rows[0].n,
  );

/** Refused on update (nothing written) and on create (no row). */
async function refusedBoth(
  kind: 'email' | 'sms',
  patch: Record<string, unknown>,
): Promise<{ message: string; ext: Record<string, unknown> }> {
  const id = kind === 'email' ? mailId : smsId;
  const before = await state(id);
  const updated = refusal(await o.update(owner, { id, [kind]: patch }));
  expect(await state(id)).toEqual(before);
  const count = await operationsCount();
  const base: Record<string, unknown> = kind === 'email' ? emailing('refused') : smsOp('refused');
  const created = refusal(
    await o.create(owner, { ...base, [kind]: { ...(base[kind] as object), ...patch } }),
  );
  expect(await operationsCount()).toBe(count);
  expect(created.message).toBe(updated.message);
  return updated;
}

describe('email content refused at save', () => {
  it('a from address that is not a verified sender of this account (another account’s neither)', async () => {
    for (const fromEmail of ['stranger@acme.example', 'theirs@other.example']) {
      const r = await refusedBoth('email', { fromEmail });
      expect(r.ext.field).toBe('fromEmail');
      expect(r.message).toContain(fromEmail);
      expect(r.message).toMatch(/not a verified sender/);
    }
    // A pending sender is not verified either.
    await t.sql.query(
      `insert into sender (account_id, email, status) values ($1, 'pending@acme.example', 'PENDING')`,
      [owner.accountId],
    );
    expect((await refusedBoth('email', { fromEmail: 'pending@acme.example' })).ext.field).toBe('fromEmail');
  });

  it('addresses that are not addresses, and parts over their limits', async () => {
    expect((await refusedBoth('email', { fromEmail: 'not an address' })).ext.field).toBe('fromEmail');
    expect((await refusedBoth('email', { replyTo: 'help@' })).ext.field).toBe('replyTo');
    for (const [field, max] of [
      ['subject', LIMITS.subject],
      ['preheader', LIMITS.preheader],
      ['fromName', LIMITS.fromName],
    ] as const) {
      const r = await refusedBoth('email', { [field]: 'x'.repeat(max + 1) });
      expect(r.ext.field).toBe(field);
      expect(r.message).toContain(`at most ${max}`);
    }
  });

  it('a template that does not parse: the part, line and column', async () => {
    const r = await refusedBoth('email', { subject: 'Hello {{ contact.firstName ' });
    expect(r.ext).toMatchObject({ part: 'subject', line: 1 });
    expect(r.ext.column).toBeGreaterThanOrEqual(7);
    expect(r.message).toMatch(/^subject: line 1, column \d+: /);
    const html = '<p>Hi</p>\n<p>{% if contact.firstName %}Dear</p>\n  {% endfor %}';
    const h = await refusedBoth('email', { html });
    expect(h.ext).toMatchObject({ part: 'html' });
    expect(h.ext.line).toBeGreaterThanOrEqual(2);
  });

  it('a field, score or filter the account does not have: named, with its line and column', async () => {
    const field = await refusedBoth('email', { html: '<p>Hi</p>\n<p>Hi {{ contact.nickname }}</p>' });
    // The column of the name itself, inside the tag.
    expect(field.ext).toMatchObject({ part: 'html', line: 2, column: 10 });
    expect(field.message).toContain('nickname');
    const score = await refusedBoth('email', { text: 'Your score: {{ score["Loyalty"] }}' });
    expect(score.ext).toMatchObject({ part: 'text', line: 1 });
    expect(score.message).toContain('Loyalty');
    const filter = await refusedBoth('email', { preheader: '{{ contact.firstName | shout }}' });
    expect(filter.ext).toMatchObject({ part: 'preheader', line: 1 });
    expect(filter.message).toContain('shout');
    // What the account has is accepted: standard and custom fields, scores by name, defaults.
    ok(
      await o.update(owner, {
        id: mailId,
        email: {
          subject: '{{ contact.firstName | default: "Hi" }} ({{ contact.tier }})',
          html: '<p>{{ score["[SCORE] Engagement"] }} points</p>',
        },
      }),
    );
  });

  it('content of the other kind', async () => {
    const r = refusal(await o.update(owner, { id: mailId, sms: { text: 'Hi STOP 36111' } }));
    expect(r.ext.field).toBe('sms');
    expect(refusal(await o.update(owner, { id: smsId, email: { subject: 'Hi' } })).ext.field).toBe('email');
  });
});

describe('SMS content refused at save', () => {
  it('a text without an opt-out mention ("nonstop" does not count)', async () => {
    for (const text of ['Flash sale today!', 'Nonstop deals all week']) {
      const r = await refusedBoth('sms', { text });
      expect(r.ext.field).toBe('text');
      expect(r.message).toMatch(/opt-out/);
    }
  });

  it('a sender id that carriers refuse; letters and digits, or a number, pass', async () => {
    for (const senderId of ['ACMEFASHIONS', 'ACME SHOP', 'Acmé', '12', '+1234567890123456']) {
      const r = await refusedBoth('sms', { senderId });
      expect(r.ext.field, senderId).toBe('senderId');
    }
    for (const senderId of ['ACME2026', '36111', '+33612345678'])
      expect(ok(await o.update(owner, { id: smsId, sms: { senderId } })).updateOperation.sms?.senderId).toBe(
        senderId,
      );
  });

  it('a template error in the text: line and column', async () => {
    const r = await refusedBoth('sms', { text: 'Hi {{ contact.shoeSize }} STOP 36111' });
    expect(r.ext).toMatchObject({ part: 'text', line: 1, column: 7 });
  });
});

describe('an incomplete operation is refused at submit, naming every missing part', () => {
  it('an Emailing without audience, subject, from or HTML; an SMS without text or sender id', async () => {
    const mail = ok(await o.create(owner, { kind: 'EMAILING', name: 'Bare mail' })).createOperation.id;
    const r = refusal(await o.step(owner, 'submitOperation', mail));
    expect(r.ext.missing).toEqual(['audience (segments or allContacts)', 'subject', 'fromEmail', 'html']);
    const sms = ok(await o.create(owner, { kind: 'SMS', name: 'Bare sms', audience: { allContacts: true } }))
      .createOperation.id;
    expect(refusal(await o.step(owner, 'submitOperation', sms)).ext.missing).toEqual(['text', 'senderId']);
    const statuses = await t.sql.query('select status from operation where id in ($1, $2)', [mail, sms]);
    expect(statuses.rows.map((x) => x.status)).toEqual(['DRAFT', 'DRAFT']);
  });

  it('a sender removed after the save stops the submit', async () => {
    const id = ok(await o.create(owner, emailing('Sender removed'))).createOperation.id;
    await t.sql.query('delete from sender where account_id = $1 and email = $2', [owner.accountId, FROM]);
    try {
      const r = refusal(await o.step(owner, 'submitOperation', id));
      expect(r.ext.field).toBe('fromEmail');
    } finally {
      await verifiedSender(t, owner.accountId);
    }
    expect(ok(await o.step(owner, 'submitOperation', id)).submitOperation.status).toBe('PENDING_APPROVAL');
  });
});
