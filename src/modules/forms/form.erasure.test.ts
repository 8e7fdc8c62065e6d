/**
 * Deleting a contact erases what its form submissions say about it (form.erasure.ts): typed
 * answers, contact and hidden fields, consents and the address go; closed answers stay, so their
 * results do not change; another contact's submission is untouched.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Actor, ok, signUpOwner, startTestApp, type TestApp } from '../../../test/harness.js';
import { publishedForm, submit } from './testing/forms.js';

let t: TestApp;
let owner: Actor;

beforeAll(async () => {
  t = await startTestApp({ FORM_RATE_PER_IP: '1000' });
  owner = await signUpOwner(t, 'Erasure');
});
afterAll(() => t?.close());

const SURVEY = {
  kind: 'SURVEY',
  name: 'Feedback',
  fields: [
    { key: 'email', kind: 'EMAIL', label: 'Email', required: true },
    { key: 'first', kind: 'TEXT', label: 'First name', contactField: 'firstName' },
    { key: 'source', kind: 'HIDDEN', label: 'Source', defaultValue: 'spring-campaign' },
    { key: 'ok', kind: 'CONSENT', label: 'I agree to hear from you', required: true },
  ],
  questions: [
    { key: 'nps', kind: 'NPS', label: 'Would you recommend us?', required: true },
    { key: 'likes', kind: 'MULTIPLE_CHOICE', label: 'What do you like?', options: ['Price', 'Speed'] },
    { key: 'note', kind: 'TEXT', label: 'Anything else?' },
  ],
};

const RESULTS = `query($id: ID!) { form(id: $id) { submissionCount
  results { submissions items { key answered average nps choices { value count } } } } }`;

const rows = async (formId: string) =>
  (
    await t.sql.query<{
      email: string | null;
      answers: Record<string, unknown>;
      consents: unknown[];
      ip: string | null;
    }>(
      `select c.email, s.answers, s.consents, s.ip from form_submission s left join contact c on c.id = s.contact_id
        where s.form_id = $1 order by s.id`,
      [formId],
    )
  ).rows;

it("erases the personal part of a deleted contact's submissions and keeps the results", async () => {
  const survey = await publishedForm(t, owner, SURVEY);
  const values = (email: string, note: string) => ({
    email,
    first: 'Zoé',
    ok: true,
    nps: 9,
    likes: ['Speed'],
    note,
  });
  ok(await submit(t, survey.publicId, values('gone@example.com', 'Call me on 06 12 34 56 78')));
  ok(await submit(t, survey.publicId, values('stays@example.com', 'Fine')));
  const before = ok(await t.gql(RESULTS, { id: survey.id }, owner.token));
  const [gone, stays] = await rows(survey.id);
  expect(gone.answers).toMatchObject({ email: 'gone@example.com', note: 'Call me on 06 12 34 56 78' });
  expect(gone.consents).toHaveLength(1);

  const { rows: contact } = await t.sql.query<{ id: string }>(
    `select id::text from contact where account_id = $1 and email = 'gone@example.com'`,
    [owner.accountId],
  );
  // Mails to the contact, queued and kept (as mailer.ts writes them), and one to someone else.
  for (const [table, to] of [
    ['mail_queue', 'gone@example.com'],
    ['outbox_message', 'gone@example.com'],
    ['outbox_message', 'stays@example.com'],
  ])
    await t.sql.query(
      `insert into ${table} (account_id, "to", subject, text) values ($1, $2, 'Confirm', 'x')`,
      [owner.accountId, to],
    );
  ok(
    await t.gql(
      'mutation($ids: [ID!]!) { deleteContacts(ids: $ids) }',
      { ids: [contact[0].id] },
      owner.token,
    ),
  );
  const mails = await t.sql.query<{ to: string }>(
    `select "to" from mail_queue where account_id = $1
     union all select "to" from outbox_message where account_id = $1 and subject = 'Confirm'`,
    [owner.accountId],
  );
  expect(mails.rows).toEqual([{ to: 'stays@example.com' }]);

  const [erased, kept] = await rows(survey.id);
  expect(erased).toEqual({ email: null, answers: { nps: 9, likes: ['Speed'] }, consents: [], ip: null });
  expect(JSON.stringify(erased)).not.toMatch(/gone@|Zoé|06 12|spring/);
  expect(kept).toEqual(stays);
  // The closed questions' results are the same; the erased text answer no longer counts.
  const after = ok(await t.gql(RESULTS, { id: survey.id }, owner.token));
  const items = (r: typeof before) =>
    (r as { form: { results: { items: { key: string }[] } } }).form.results.items;
  expect(items(after).filter((i) => i.key !== 'note')).toEqual(items(before).filter((i) => i.key !== 'note'));
  expect(items(after).find((i) => i.key === 'note')).toMatchObject({ answered: 1 });
  expect(items(before).find((i) => i.key === 'note')).toMatchObject({ answered: 2 });
});
