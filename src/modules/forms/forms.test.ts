/**
 * Forms end to end on a real server: the workflow and its rights (drafts, publication by an
 * approver, a published version that keeps answering while its next draft is edited), and the
 * public submission: contact created or merged by the unique key, FORM_SUBMIT recorded, answers
 * and consents stored, idempotent under 20 concurrent double clicks, honeypot, closed forms.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Actor,
  code,
  ok,
  signUpOwner,
  startTestApp,
  type TestApp,
  viewerWith,
} from '../../../test/harness.js';
import { eventCode } from '../events/event.entity.js';
import {
  CREATE_FORM,
  FORM_FIELDS,
  type FormT,
  PUBLISH_FORM,
  publishedForm,
  SIGNUP_FIELDS,
  submit,
} from './testing/forms.js';

let t: TestApp;
let owner: Actor;

beforeAll(async () => {
  t = await startTestApp({ FORM_RATE_PER_IP: '1000' });
  owner = await signUpOwner(t, 'Acme');
});
afterAll(() => t?.close());

const UPDATE = `mutation($id: ID!, $input: UpdateFormInput!) { updateForm(id: $id, input: $input) { ${FORM_FIELDS} } }`;
const contactsByEmail = async (email: string) =>
  (
    await t.sql.query<{ id: string; first_name: string | null; email_status: string }>(
      'select id::text, first_name, email_status from contact where account_id = $1 and email = $2',
      [owner.accountId, email],
    )
  ).rows;

describe('workflow and rights', () => {
  it('EDITOR drafts, only APPROVER publishes; the published version answers while the next is edited', async () => {
    const editor = await viewerWith(t, owner, { FORMS: 'EDITOR' });
    const guest = await viewerWith(t, owner, { FORMS: 'GUEST' });
    const input = { kind: 'FORM', name: 'Sign-up', fields: SIGNUP_FIELDS };
    expect(code(await t.gql(CREATE_FORM, { input }, guest.token))).toBe('FORBIDDEN');
    const draft = ok(
      await t.gql<{ createForm: FormT }, Record<string, unknown>>(CREATE_FORM, { input }, editor.token),
    ).createForm;
    expect(draft).toMatchObject({ status: 'DRAFT', published: null, submissionCount: 0 });
    expect(draft.publicId).toMatch(/^[A-Za-z0-9]{12}$/);
    expect(draft.embedHtml).toContain(`/f/${draft.publicId}`);
    // A draft is not public yet.
    expect(code(await submit(t, draft.publicId, { email: 'a@example.com', news: true }))).toBe('NOT_FOUND');
    expect(code(await t.gql(PUBLISH_FORM, { id: draft.id }, editor.token))).toBe('FORBIDDEN');
    const live = ok(
      await t.gql<{ publishForm: FormT }, { id: string }>(PUBLISH_FORM, { id: draft.id }, owner.token),
    ).publishForm;
    expect(live).toMatchObject({
      status: 'PUBLISHED',
      published: { version: 1 },
      hasUnpublishedChanges: false,
    });
    // Edited by the editor: a new draft; version 1 keeps answering (no "phone" there yet).
    const fields = [...SIGNUP_FIELDS, { key: 'phone', kind: 'PHONE', label: 'Mobile', required: true }];
    const edited = ok(
      await t.gql<{ updateForm: FormT }, Record<string, unknown>>(
        UPDATE,
        { id: draft.id, input: { fields } },
        editor.token,
      ),
    ).updateForm;
    expect(edited).toMatchObject({
      status: 'PUBLISHED',
      hasUnpublishedChanges: true,
      published: { version: 1 },
    });
    ok(await submit(t, live.publicId, { email: 'v1@example.com', news: 'true' }));
    const v2 = ok(
      await t.gql<{ publishForm: FormT }, { id: string }>(PUBLISH_FORM, { id: draft.id }, owner.token),
    ).publishForm;
    expect(v2.published?.version).toBe(2);
    const missing = await submit(t, live.publicId, { email: 'v2@example.com', news: 'true' });
    expect(code(missing)).toBe('BAD_USER_INPUT');
    expect(missing.errors?.[0].extensions?.fields).toEqual([{ key: 'phone', message: 'Required' }]);
    // Guests read; editors cannot delete what was published; every step is in the history.
    const read = ok(
      await t.gql<{ form: FormT }, { id: string }>(
        `query($id: ID!) { form(id: $id) { ${FORM_FIELDS} } }`,
        { id: draft.id },
        guest.token,
      ),
    ).form;
    expect(read.submissionCount).toBe(1);
    expect(
      code(await t.gql('mutation($id: ID!) { deleteForm(id: $id) }', { id: draft.id }, editor.token)),
    ).toBe('FORBIDDEN');
    const { rows } = await t.sql.query<{ action: string }>(
      `select action from audit_entry where object_id = $1 order by id`,
      [draft.id],
    );
    expect(rows.map((r) => r.action)).toEqual(['createForm', 'publishForm', 'updateForm', 'publishForm']);
  });

  it('refuses to publish a form that does not ask for the unique key, and names what is missing', async () => {
    const made = ok(
      await t.gql<{ createForm: FormT }, Record<string, unknown>>(
        CREATE_FORM,
        {
          input: {
            kind: 'FORM',
            name: 'No key',
            fields: [{ key: 'first', kind: 'TEXT', label: 'Name', contactField: 'firstName' }],
          },
        },
        owner.token,
      ),
    ).createForm;
    const r = await t.gql(PUBLISH_FORM, { id: made.id }, owner.token);
    expect(code(r)).toBe('CONFLICT');
    expect(r.errors?.[0].message).toMatch(/identifies contacts by email/);
  });

  it("answers NOT_FOUND for another account's form, and bad definitions with BAD_USER_INPUT", async () => {
    const other = await signUpOwner(t, 'Other');
    const theirs = await publishedForm(t, other);
    for (const q of [
      'query($id: ID!) { form(id: $id) { id } }',
      'mutation($id: ID!) { publishForm(id: $id) { id } }',
    ])
      expect(code(await t.gql(q, { id: theirs.id }, owner.token))).toBe('NOT_FOUND');
    const bad = [
      { kind: 'FORM', name: 'x', fields: [{ key: '1bad', kind: 'TEXT', label: 'x' }] },
      { kind: 'FORM', name: 'x', fields: [{ key: 'a', kind: 'SELECT', label: 'x' }] },
      {
        kind: 'FORM',
        name: 'x',
        fields: [
          { key: 'a', kind: 'TEXT', label: 'x' },
          { key: 'a', kind: 'TEXT', label: 'y' },
        ],
      },
      { kind: 'FORM', name: 'x', questions: [{ key: 'q', kind: 'NPS', label: 'x' }] },
      { kind: 'FORM', name: 'x', settings: { redirectUrl: 'http://example.com/' } },
      { kind: 'SURVEY', name: 'x', questions: [{ key: 'q', kind: 'RATING', label: 'x', scale: 7 }] },
    ];
    for (const input of bad)
      expect(code(await t.gql(CREATE_FORM, { input }, owner.token)), JSON.stringify(input)).toBe(
        'BAD_USER_INPUT',
      );
    const { rows } = await t.sql.query('select 1 from form where account_id = $1 and name = $2', [
      owner.accountId,
      'x',
    ]);
    expect(rows).toHaveLength(0);
  });
});

describe('public submission', () => {
  it('creates the contact, records FORM_SUBMIT, stores answers and consent; merges on the next one', async () => {
    const form = await publishedForm(t, owner);
    const r = ok(
      await submit(t, form.publicId, { email: 'Ann@Example.com', first: 'Ann', news: 'on' }),
    ).submitForm;
    expect(r).toMatchObject({ message: 'Thank you!', redirectUrl: null, confirmationRequired: false });
    const [c] = await contactsByEmail('ann@example.com');
    expect(c).toMatchObject({ first_name: 'Ann', email_status: 'VALID' });
    const { rows: events } = await t.sql.query<{ form_id: string }>(
      'select form_id from contact_event where contact_id = $1 and type = $2',
      [c.id, eventCode('FORM_SUBMIT')],
    );
    expect(events.map((e) => e.form_id)).toContain(form.id);
    const { rows: subs } = await t.sql.query<{
      answers: Record<string, unknown>;
      consents: { key: string; text: string; ip: string; version: number }[];
      outcome: string;
    }>('select answers, consents, outcome from form_submission where id = $1', [r.submissionId]);
    expect(subs[0].outcome).toBe('CREATED');
    expect(subs[0].answers).toEqual({
      email: 'ann@example.com',
      first: 'Ann',
      news: true,
      source: 'website',
    });
    expect(subs[0].consents).toEqual([
      expect.objectContaining({
        key: 'news',
        text: 'I agree to receive the newsletter',
        ip: '127.0.0.1',
        version: 1,
      }),
    ]);
    // Segments target it through the usual criteria: FORM_SUBMIT events of this form.
    const preview = ok(
      await t.gql<{ previewSegment: { count: number; contacts: { id: string }[] } }, Record<string, unknown>>(
        'query($c: Criterion!) { previewSegment(criterion: $c) { count contacts { id } } }',
        { c: { event: { type: 'FORM_SUBMIT', formId: form.id } } },
        owner.token,
      ),
    ).previewSegment;
    expect(preview).toEqual({ count: 1, contacts: [{ id: c.id }] });
    // The same person again, another first name: merged into the same contact.
    const again = ok(
      await submit(t, form.publicId, { email: 'ann@example.com', first: 'Anne', news: true }),
    ).submitForm;
    expect(again.submissionId).not.toBe(r.submissionId);
    expect(await contactsByEmail('ann@example.com')).toEqual([
      expect.objectContaining({ id: c.id, first_name: 'Anne' }),
    ]);
  });

  it('makes one submission and one contact of 20 concurrent double clicks with one key', async () => {
    const form = await publishedForm(t, owner);
    const values = { email: 'double@example.com', first: 'Dee', news: true };
    const results = await Promise.all(
      Array.from({ length: 20 }, () => submit(t, form.publicId, values, 'click-1')),
    );
    const ids = new Set(results.map((r) => ok(r).submitForm.submissionId));
    expect(ids.size).toBe(1);
    const { rows } = await t.sql.query<{ n: number }>(
      'select count(*)::int as n from form_submission where form_id = $1',
      [form.id],
    );
    expect(rows[0].n).toBe(1);
    expect(await contactsByEmail('double@example.com')).toHaveLength(1);
    const [c] = await contactsByEmail('double@example.com');
    const { rows: ev } = await t.sql.query<{ n: number }>(
      'select count(*)::int as n from contact_event where contact_id = $1 and form_id = $2',
      [c.id, form.id],
    );
    expect(ev[0].n).toBe(1);
    const { rows: f } = await t.sql.query<{ submission_count: number }>(
      'select submission_count from form where id = $1',
      [form.id],
    );
    expect(f[0].submission_count).toBe(1);
  });

  it('tells a bot filling the honeypot it worked, and writes nothing', async () => {
    const form = await publishedForm(t, owner);
    const r = ok(
      await submit(t, form.publicId, { email: 'bot@example.com', news: true, _homepage: 'http://spam' }),
    ).submitForm;
    expect(r.message).toBe('Thank you!');
    expect(await contactsByEmail('bot@example.com')).toHaveLength(0);
    const { rows } = await t.sql.query('select 1 from form_submission where form_id = $1', [form.id]);
    expect(rows).toHaveLength(0);
  });

  it('lists every field at fault, and writes nothing', async () => {
    const form = await publishedForm(t, owner);
    const r = await submit(t, form.publicId, { email: 'not-an-email', first: 'x'.repeat(6000), extra: '1' });
    expect(code(r)).toBe('BAD_USER_INPUT');
    const keys = ((r.errors?.[0].extensions?.fields ?? []) as { key: string }[]).map((f) => f.key).sort();
    expect(keys).toEqual(['email', 'extra', 'first', 'news']);
    const { rows } = await t.sql.query('select 1 from form_submission where form_id = $1', [form.id]);
    expect(rows).toHaveLength(0);
    // Past the contact's own limit (200 characters of first name): named by the form's key,
    // found inside the transaction, which leaves nothing behind either.
    const long = await submit(t, form.publicId, {
      email: 'long@example.com',
      first: 'x'.repeat(300),
      news: true,
    });
    expect(long.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ key: 'first' }] });
    expect(await contactsByEmail('long@example.com')).toHaveLength(0);
    const { rows: after } = await t.sql.query('select 1 from form_submission where form_id = $1', [form.id]);
    expect(after).toHaveLength(0);
  });

  it('answers closed, unpublished, full and not-yet-open forms with a clear CONFLICT', async () => {
    const full = await publishedForm(t, owner, { settings: { submissionLimit: 1 } });
    ok(await submit(t, full.publicId, { email: 'first@example.com', news: true }));
    const over = await submit(t, full.publicId, { email: 'second@example.com', news: true });
    expect(over.errors?.[0].extensions).toMatchObject({ code: 'CONFLICT', reason: 'FORM_FULL' });
    expect(await contactsByEmail('second@example.com')).toHaveLength(0);
    const later = await publishedForm(t, owner, {
      settings: { opensAt: new Date(Date.now() + 86_400_000).toISOString() },
    });
    expect(
      (await submit(t, later.publicId, { email: 'x@example.com', news: true })).errors?.[0].extensions
        ?.reason,
    ).toBe('FORM_NOT_OPEN');
    const form = await publishedForm(t, owner);
    ok(await t.gql('mutation($id: ID!) { unpublishForm(id: $id) { id } }', { id: form.id }, owner.token));
    expect(
      (await submit(t, form.publicId, { email: 'x@example.com', news: true })).errors?.[0].extensions?.reason,
    ).toBe('FORM_UNPUBLISHED');
    ok(await t.gql('mutation($id: ID!) { closeForm(id: $id) { id } }', { id: form.id }, owner.token));
    expect(
      (await submit(t, form.publicId, { email: 'x@example.com', news: true })).errors?.[0].extensions?.reason,
    ).toBe('FORM_CLOSED');
    expect(code(await submit(t, 'AAAAAAAAAAAA', { email: 'x@example.com' }))).toBe('NOT_FOUND');
  });
});

describe('rate limits', () => {
  it('refuses one address past its limit per form with RATE_LIMITED, and writes nothing', async () => {
    const tight = await startTestApp({ FORM_RATE_PER_IP: '3' });
    try {
      const boss = await signUpOwner(tight, 'Tight');
      const form = await publishedForm(tight, boss);
      const codes = [];
      for (let i = 0; i < 5; i++)
        codes.push(code(await submit(tight, form.publicId, { email: `r${i}@example.com`, news: true })));
      expect(codes).toEqual([null, null, null, 'RATE_LIMITED', 'RATE_LIMITED']);
      const { rows } = await tight.sql.query<{ n: number }>(
        'select count(*)::int as n from form_submission where form_id = $1',
        [form.id],
      );
      expect(rows[0].n).toBe(3);
    } finally {
      await tight.close();
    }
  });
});
