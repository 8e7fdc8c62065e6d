import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AppServices, Context } from '../../context.js';
import { retryTransaction } from '../../db/retry.js';
import { AppError, conflict, notFound } from '../../shared/errors.js';
import { mutate } from '../audit/audit.service.js';
import { lockAccountForContactWrite } from '../contacts/contact.locks.js';
import { normaliseContact } from '../contacts/contact.normalise.js';
import { writeContacts } from '../contacts/contact.repository.js';
import { loadFields } from '../contacts/fields.js';
import { eventCode } from '../events/event.entity.js';
import { insertEvents } from '../events/event.service.js';
import { countAttempt } from '../users/throttle.js';
import { sendConfirmation } from './form.confirm.js';
import { type FormDefinition, type FormKind, type FormStatus, HONEYPOT } from './form.definition.js';
import { SUBMISSION_SELECT, type SubmissionView } from './form.submissions.js';
import { checkValues, FormValueError, type SubmittedValues } from './form.values.js';

/** A published form as the public endpoint sees it: its answering version and its state. */
export interface PublicForm {
  id: string;
  accountId: string;
  accountName: string;
  kind: FormKind;
  name: string;
  status: FormStatus;
  publicId: string;
  version: number | null;
  definition: FormDefinition | null;
  submissionCount: number;
}

export interface SubmitResult {
  submissionId: string;
  message: string | null;
  redirectUrl: string | null;
  confirmationRequired: boolean;
}

const MAX_KEY = 100;
const PUBLIC_ID = /^[A-Za-z0-9]{12}$/;

export async function findPublicForm(em: EntityManager, publicId: string): Promise<PublicForm | null> {
  if (!PUBLIC_ID.test(publicId)) return null;
  const [row] = await em.execute<PublicForm[]>(
    `select f.id, f.account_id as "accountId", a.name as "accountName", f.kind, f.name, f.status,
            f.public_id as "publicId", f.published_version as version, v.definition,
            f.submission_count as "submissionCount"
       from form f join account a on a.id = f.account_id
       left join form_version v on v.form_id = f.id and v.version = f.published_version
      where f.public_id = ?`,
    [publicId],
  );
  return row ?? null;
}

/**
 * Why a form takes no submission now, as the visitor is told; null when it does. A draft never
 * published is NOT_FOUND, like an unknown id: its existence is nobody's business yet.
 */
export function closedReason(f: PublicForm | null, now = new Date()): AppError | null {
  if (!f?.definition || f.status === 'DRAFT') return notFound('Form');
  const s = f.definition.settings;
  if (f.status === 'UNPUBLISHED')
    return conflict('This form is not available at the moment', { reason: 'FORM_UNPUBLISHED' });
  if (f.status === 'CLOSED' || (s.closesAt && now >= new Date(s.closesAt)))
    return conflict('This form is closed', { reason: 'FORM_CLOSED' });
  if (s.opensAt && now < new Date(s.opensAt))
    return conflict(`This form opens on ${s.opensAt}`, { reason: 'FORM_NOT_OPEN', opensAt: s.opensAt });
  if (s.submissionLimit !== null && f.submissionCount >= s.submissionLimit)
    return conflict('This form has all the answers it takes', { reason: 'FORM_FULL' });
  return null;
}

const rateLimited = () => new AppError('RATE_LIMITED', 'Too many submissions: try again later');

/**
 * A visitor's submission, public (no login): validated against the published version, then in
 * one transaction, rerun on a deadlock: the idempotency key claimed first (`unique (form_id,
 * idempotency_key)`: of 20 concurrent double clicks one inserts, the others wait for it and then
 * read its submission, writing nothing), the form's counter (its limit), the contact created or
 * merged by the account's uniqueness key and duplicate setting, the FORM_SUBMIT event (which
 * webhooks forward and criteria target), the double opt-in mail and a history entry. Published
 * on `formSubmitted` after the commit.
 * A filled honeypot gets a success that wrote nothing; a rate limit gets RATE_LIMITED.
 */
export async function submitForm(
  app: AppServices,
  p: { publicId: string; values: SubmittedValues; idempotencyKey: string | null; ip: string | null },
): Promise<SubmitResult> {
  const em = app.orm.em.fork();
  const form = await findPublicForm(em, p.publicId);
  const closed = closedReason(form);
  if (closed || !form?.definition) throw closed ?? notFound('Form');
  const d = form.definition;
  const done = (submissionId: string, confirmationRequired: boolean): SubmitResult => ({
    submissionId,
    message: d.settings.redirectUrl ? null : d.settings.successMessage,
    redirectUrl: d.settings.redirectUrl,
    confirmationRequired,
  });
  const pot = p.values[HONEYPOT];
  if (typeof pot === 'string' ? pot.trim() !== '' : pot !== undefined && pot !== null)
    return done(`0`, false); // a bot: told it worked, nothing written or counted
  const key = p.idempotencyKey?.trim() || randomUUID();
  if (key.length > MAX_KEY)
    throw new AppError('BAD_USER_INPUT', `idempotencyKey: at most ${MAX_KEY} characters`, {
      field: 'idempotencyKey',
    });
  const limits = app.config.forms;
  const ctx: Context = { app, em, viewer: null, ip: p.ip };
  if ((await countAttempt(ctx, `form:${form.id}`, limits.windowMinutes)) > limits.perForm)
    throw rateLimited();
  if (p.ip && (await countAttempt(ctx, `form-ip:${form.id}:${p.ip}`, limits.windowMinutes)) > limits.perIp)
    throw rateLimited();
  const checked = checkValues(d, p.values);
  const outcome = await retryTransaction(() =>
    mutate({ ...ctx, em: app.orm.em.fork() }, async ({ em, audit }) => {
      const settings = await lockAccountForContactWrite(em, form.accountId);
      const [claimed] = await em.execute<{ id: string }[]>(
        `insert into form_submission (account_id, form_id, version, idempotency_key, answers, ip, one_per_contact)
         values (?, ?, ?, ?, '{}', ?, ?)
         on conflict (form_id, idempotency_key) do nothing returning id::text`,
        [form.accountId, form.id, form.version, key, p.ip, d.settings.onePerContact],
      );
      if (!claimed) {
        // The same click again: its first submission, as it was answered.
        const [first] = await em.execute<{ id: string; confirmation_required: boolean }[]>(
          'select id::text, confirmation_required from form_submission where form_id = ? and idempotency_key = ?',
          [form.id, key],
        );
        return { submission: null, result: done(first.id, first.confirmation_required) };
      }
      const [counted] = await em.execute<{ n: number }[]>(
        `update form set submission_count = submission_count + 1
          where id = ? and status = 'PUBLISHED' and (?::int is null or submission_count < ?::int)
          returning submission_count as n`,
        [form.id, d.settings.submissionLimit, d.settings.submissionLimit],
      );
      if (!counted) {
        const again = await findPublicForm(em, form.publicId);
        throw (
          closedReason(again) ?? conflict('This form has all the answers it takes', { reason: 'FORM_FULL' })
        );
      }
      const fields = await loadFields(em, form.accountId);
      const row = contactOf(d, () => normaliseContact(checked.contact, fields, settings.uniqueKey));
      const [written] = await writeContacts(em, form.accountId, [row], settings.rejectDuplicates);
      const contactId = written.contactId;
      const outcome = written.outcome === 'DUPLICATE' ? 'EXISTING' : written.outcome;
      if (d.settings.onePerContact) {
        const [answered] = await em.execute(
          'select 1 from form_submission where form_id = ? and contact_id = ? and one_per_contact',
          [form.id, contactId],
        );
        if (answered) throw conflict('You have already answered this survey', { reason: 'ALREADY_ANSWERED' });
      }
      const [c] = await em.execute<{ email: string | null; email_status: string }[]>(
        'select email, email_status from contact where account_id = ? and id = ?',
        [form.accountId, contactId],
      );
      let status = c.email_status;
      if (d.settings.doubleOptIn && outcome === 'CREATED' && c.email) {
        status = 'UNCONFIRMED';
        await em.execute(`update contact set email_status = 'UNCONFIRMED' where account_id = ? and id = ?`, [
          form.accountId,
          contactId,
        ]);
      }
      const confirm =
        d.settings.doubleOptIn && c.email !== null && (status === 'UNCONFIRMED' || status === 'UNSUBSCRIBED');
      const now = new Date().toISOString();
      const consents = checked.consents.map((x) => ({ ...x, at: now, ip: p.ip, version: form.version }));
      const event = { contact_id: contactId, type: eventCode('FORM_SUBMIT'), occurred_at: now };
      await insertEvents(
        em,
        form.accountId,
        JSON.stringify([{ ...event, operation_id: null, form_id: form.id, url: null }]),
      );
      await em.execute(
        `update form_submission set contact_id = ?, outcome = ?, answers = ?::jsonb, consents = ?::jsonb,
                confirmation_required = ? where id = ?`,
        [contactId, outcome, JSON.stringify(checked.answers), JSON.stringify(consents), confirm, claimed.id],
      );
      if (confirm && c.email)
        await sendConfirmation(app, em, { form, submissionId: claimed.id, email: c.email });
      audit({
        action: 'submitForm',
        feature: 'FORMS',
        objectType: 'FormSubmission',
        objectId: claimed.id,
        accountId: form.accountId,
        diff: { formId: form.id, version: form.version, contactId, outcome },
      });
      const [submission] = await em.execute<SubmissionView[]>(`${SUBMISSION_SELECT} where s.id = ?`, [
        claimed.id,
      ]);
      return { submission, result: done(claimed.id, confirm) };
    }),
  );
  if (outcome.submission) app.pubsub.publish('formSubmitted', form.accountId, outcome.submission);
  return outcome.result;
}

/**
 * The contact's own checks (a first name's 200 characters, a custom field's type) come after the
 * form's: their refusal names the contact field, turned here into the form field that fills it,
 * so the page shows it beside its input like the form's own errors.
 */
function contactOf<T>(d: FormDefinition, normalise: () => T): T {
  try {
    return normalise();
  } catch (err) {
    const field = err instanceof AppError ? err.extensions.field : undefined;
    const key = d.fields.find((f) => f.contactField === field)?.key;
    if (key && err instanceof AppError) throw new FormValueError([{ key, message: err.message }]);
    throw err;
  }
}
