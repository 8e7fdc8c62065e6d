import type { EntityManager } from '@mikro-orm/postgresql';
import nodemailer, { type Transporter } from 'nodemailer';
import { badInput } from '../../shared/errors.js';
import { OutboxMessage } from './outbox.entity.js';

export interface Mail {
  accountId: string | null;
  to: string;
  subject: string;
  text: string;
  html?: string;
}

/**
 * Sends mail through SMTP_URL, or, with none configured, keeps it in the local outbox table so
 * a new install works and the owner can read what was sent. Callers send inside their
 * transaction: a mail that cannot be handed over rolls the change back with it.
 */
export interface Mailer {
  readonly kind: 'smtp' | 'outbox';
  send(em: EntityManager, mail: Mail): Promise<void>;
  /** The same on a plain pg transaction (a batch's settlement runs on one, not on the ORM). */
  sendOn(exec: SqlExec, mail: Mail): Promise<void>;
  close(): void;
}

type SqlExec = (sql: string, params: unknown[]) => Promise<unknown>;

export const FROM = 'Cible <no-reply@cible.local>';

export function createMailer(smtpUrl: string | null): Mailer {
  if (!smtpUrl) {
    return {
      kind: 'outbox',
      async send(em, mail) {
        em.create(OutboxMessage, {
          account: mail.accountId,
          to: mail.to,
          subject: mail.subject,
          text: mail.text,
          html: mail.html ?? null,
          createdAt: new Date(),
        });
        await em.flush();
      },
      async sendOn(exec, mail) {
        await exec(
          'insert into outbox_message (account_id, "to", subject, text, html) values ($1, $2, $3, $4, $5)',
          [mail.accountId, mail.to, mail.subject, mail.text, mail.html ?? null],
        );
      },
      close() {},
    };
  }
  const transport: Transporter = nodemailer.createTransport(smtpUrl);
  // SMTP takes the mail at once, whatever transaction the caller holds.
  const deliver = async (mail: Mail) => {
    try {
      await transport.sendMail({
        from: FROM,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
      });
    } catch (err) {
      const e = err as { command?: string; responseCode?: number; response?: string };
      // A permanent refusal of the recipient is the caller's input; anything else stays masked.
      if (e.command === 'RCPT TO' && (e.responseCode ?? 0) >= 500) {
        throw badInput(`The mail server refused ${mail.to}: ${e.response ?? e.responseCode}`, {
          field: 'email',
        });
      }
      throw err;
    }
  };
  return {
    kind: 'smtp',
    send: (_em, mail) => deliver(mail),
    sendOn: (_exec, mail) => deliver(mail),
    close: () => transport.close(),
  };
}
