import { createHmac, timingSafeEqual } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AppServices, Context } from '../../context.js';
import { retryTransaction } from '../../db/retry.js';
import { mutate } from '../audit/audit.service.js';
import { lockAccountForContactWrite } from '../contacts/contact.locks.js';
import { trackingKey } from '../events/tracking.token.js';

/*
 * Double opt-in: the confirmation link names the submission and is signed with the tracking key
 * (kind `doi`, so no tracking or unsubscribe token is ever one). Following it shows a page whose
 * button POSTs: a GET confirms nothing, since mail scanners follow every link, and a
 * confirmation a scanner made would prove nothing. The first POST confirms; the link then says so.
 */

const mac = (key: Buffer, id: string) => createHmac('sha256', key).update(`doi.${id}`).digest('base64url');

export async function confirmationToken(app: AppServices, submissionId: string): Promise<string> {
  return `${submissionId}.${mac(await trackingKey(app.config, app.logger.warn), submissionId)}`;
}

/** The submission id a token names, or null for anything this server did not sign. */
export async function verifyConfirmation(app: AppServices, token: string): Promise<string | null> {
  const m = /^(\d{1,18})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m) return null;
  const expected = Buffer.from(mac(await trackingKey(app.config, app.logger.warn), m[1]));
  const given = Buffer.from(m[2]);
  return given.length === expected.length && timingSafeEqual(given, expected) ? m[1] : null;
}

export const confirmationUrl = (app: AppServices, token: string) =>
  `${app.config.publicUrl}/f/confirm/${token}`;

/** The mail, sent in the submission's transaction (it goes out only if the submission commits). */
export async function sendConfirmation(
  app: AppServices,
  em: EntityManager,
  p: { form: { accountId: string; accountName: string; name: string }; submissionId: string; email: string },
): Promise<void> {
  const url = confirmationUrl(app, await confirmationToken(app, p.submissionId));
  await app.mailer.send(em, {
    accountId: p.form.accountId,
    to: p.email,
    subject: `Confirm your subscription to ${p.form.accountName}`,
    text: [
      'Hello,',
      '',
      `You signed up with "${p.form.name}" from ${p.form.accountName}. To confirm, open this link:`,
      url,
      '',
      'If it was not you, ignore this message: nothing will be sent to you.',
    ].join('\n'),
  });
}

export type ConfirmState = 'unknown' | 'pending' | 'confirmed' | 'already';

/** What the link's page shows, without changing anything. */
export async function peekConfirmation(app: AppServices, submissionId: string): Promise<ConfirmState> {
  const [row] = await app.orm.em
    .fork()
    .execute<{ confirmed_at: string | null; contact_id: string | null }[]>(
      'select confirmed_at, contact_id from form_submission where id = ? and confirmation_required',
      [submissionId],
    );
  if (!row?.contact_id) return 'unknown';
  return row.confirmed_at ? 'already' : 'pending';
}

/**
 * Confirms once: the submission's confirmed_at, and its contact subscribed again (UNCONFIRMED
 * or UNSUBSCRIBED to VALID: a confirmed opt-in is fresh consent). Other statuses (a hard bounce,
 * a complaint) stay. Under the contact-write lock order; the submission row serialises two POSTs.
 */
export async function confirmSubmission(
  app: AppServices,
  submissionId: string,
  ip: string | null,
): Promise<ConfirmState> {
  const [found] = await app.orm.em
    .fork()
    .execute<{ account_id: string }[]>('select account_id from form_submission where id = ?', [submissionId]);
  if (!found) return 'unknown';
  const ctx: Context = { app, em: app.orm.em.fork(), viewer: null, ip };
  return retryTransaction(() =>
    mutate(ctx, async ({ em, audit }) => {
      await lockAccountForContactWrite(em, found.account_id);
      const [s] = await em.execute<
        { contact_id: string | null; confirmed_at: string | null; form_id: string }[]
      >(
        `select contact_id, confirmed_at, form_id from form_submission
          where id = ? and confirmation_required for update`,
        [submissionId],
      );
      if (!s?.contact_id) return 'unknown';
      if (s.confirmed_at) return 'already';
      await em.execute('update form_submission set confirmed_at = now() where id = ?', [submissionId]);
      const [c] = await em.execute<{ email_status: string }[]>(
        `update contact set email_status = 'VALID', updated_at = now()
          where account_id = ? and id = ? and email_status in ('UNCONFIRMED', 'UNSUBSCRIBED')
          returning email_status`,
        [found.account_id, s.contact_id],
      );
      audit({
        action: 'confirmSubscription',
        feature: 'CONTACTS',
        objectType: 'Contact',
        objectId: s.contact_id,
        accountId: found.account_id,
        diff: { formId: s.form_id, submissionId, ...(c ? { emailStatus: { to: 'VALID' } } : {}) },
      });
      return 'confirmed';
    }),
  );
}
