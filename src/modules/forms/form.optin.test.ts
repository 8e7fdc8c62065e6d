/**
 * What a submission does to a contact that already exists: merged by default, left as it is
 * when the account rejects duplicates; and double opt-in for a contact that had unsubscribed
 * (mailed, still unsubscribed until the link's POST, then subscribed again), or that is already
 * subscribed (no mail).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, ok, signUpOwner, startTestApp, type TestApp } from '../../../test/harness.js';
import { confirmationToken } from './form.confirm.js';
import { publishedForm, submit } from './testing/forms.js';

let t: TestApp;
let owner: Actor;
const origin = () => new URL(t.url).origin;

beforeAll(async () => {
  t = await startTestApp({ FORM_RATE_PER_IP: '1000' });
  owner = await signUpOwner(t, 'Acme');
});
afterAll(() => t?.close());

const contact = async (email: string) =>
  (
    await t.sql.query<{ id: string; first_name: string | null; email_status: string }>(
      'select id::text, first_name, email_status from contact where account_id = $1 and email = $2',
      [owner.accountId, email],
    )
  ).rows[0];
const mailsTo = async (email: string) =>
  (await t.sql.query<{ text: string }>('select text from outbox_message where "to" = $1', [email])).rows;

describe('an existing contact', () => {
  it('is left as it is when the account rejects duplicates: outcome EXISTING', async () => {
    const other = await signUpOwner(t, 'Strict');
    ok(
      await t.gql(
        'mutation { updateAccountSettings(input: { rejectDuplicates: true }) { id } }',
        {},
        other.token,
      ),
    );
    const form = await publishedForm(t, other);
    ok(await submit(t, form.publicId, { email: 'kept@example.com', first: 'First', news: true }));
    const again = ok(
      await submit(t, form.publicId, { email: 'kept@example.com', first: 'Second', news: true }),
    ).submitForm;
    const { rows } = await t.sql.query<{ first_name: string; outcome: string }>(
      `select c.first_name, s.outcome from form_submission s join contact c on c.id = s.contact_id
        where s.id = $1`,
      [again.submissionId],
    );
    expect(rows).toEqual([{ first_name: 'First', outcome: 'EXISTING' }]);
  });
});

describe('double opt-in', () => {
  it('mails an unsubscribed contact, who stays out until the POST, then is subscribed again', async () => {
    const form = await publishedForm(t, owner, { settings: { doubleOptIn: true } });
    const { rows } = await t.sql.query<{ id: string }>(
      `insert into contact (account_id, email, unique_value, email_status)
       values ($1, 'back@example.com', 'back@example.com', 'UNSUBSCRIBED') returning id::text`,
      [owner.accountId],
    );
    const r = ok(await submit(t, form.publicId, { email: 'back@example.com', news: true })).submitForm;
    expect(r.confirmationRequired).toBe(true);
    expect((await contact('back@example.com')).email_status).toBe('UNSUBSCRIBED');
    expect(await mailsTo('back@example.com')).toHaveLength(1);
    const link = `${origin()}/f/confirm/${await confirmationToken(t.app.services, r.submissionId)}`;
    expect((await fetch(link)).status).toBe(200);
    expect((await contact('back@example.com')).email_status).toBe('UNSUBSCRIBED');
    const posted = await fetch(link, { method: 'POST' });
    expect(await posted.text()).toContain('Subscription confirmed');
    expect(await contact('back@example.com')).toMatchObject({ id: rows[0].id, email_status: 'VALID' });
    // A forged or altered token confirms nothing.
    expect((await fetch(`${link.slice(0, -2)}xx`, { method: 'POST' })).status).toBe(404);
  });

  it('sends no mail to a contact already subscribed', async () => {
    const form = await publishedForm(t, owner, { settings: { doubleOptIn: true } });
    await t.sql.query(
      `insert into contact (account_id, email, unique_value) values ($1, 'in@example.com', 'in@example.com')`,
      [owner.accountId],
    );
    const r = ok(await submit(t, form.publicId, { email: 'in@example.com', news: true })).submitForm;
    expect(r.confirmationRequired).toBe(false);
    expect(await mailsTo('in@example.com')).toHaveLength(0);
    expect((await contact('in@example.com')).email_status).toBe('VALID');
  });
});
