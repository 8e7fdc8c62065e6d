import type { EntityManager } from '@mikro-orm/postgresql';
import nodemailer, { type Transporter } from 'nodemailer';
import { type Exec, ormExec } from '../../db/exec.js';

export interface Mail {
  accountId: string | null;
  to: string;
  subject: string;
  text: string;
  html?: string;
}

/**
 * Workflow mail (invitations, approvals, low balance, failing webhooks, opt-in confirmations).
 * Callers send inside their transaction, which only writes the mail down: with SMTP_URL, into
 * the mail queue that mail.queue.ts hands to SMTP once the change committed (a rollback mails
 * nothing, an SMTP server down delays the mail, not the change); without it, into the local
 * outbox table, so a new install works and the owner can read what was sent.
 */
export interface Mailer {
  readonly kind: 'smtp' | 'outbox';
  send(em: EntityManager, mail: Mail): Promise<void>;
  /** The same on a plain pg transaction (a batch's settlement runs on one, not on the ORM). */
  sendOn(exec: Exec, mail: Mail): Promise<void>;
  /** Hands one queued mail to SMTP (the queue's workers call it); null without SMTP_URL. */
  readonly deliver: ((mail: Mail, messageId: string) => Promise<void>) | null;
  close(): void;
}

export const FROM = 'Cible <no-reply@cible.local>';
/** Connections the queue's transport keeps open, and so mails one process sends at once. */
export const SMTP_CONNECTIONS = 4;

/** Writes a mail down in `table` (outbox_message or mail_queue), in the caller's transaction. */
const writer = (table: string) => async (exec: Exec, mail: Mail) => {
  await exec(`insert into ${table} (account_id, "to", subject, text, html) values ($1, $2, $3, $4, $5)`, [
    mail.accountId,
    mail.to,
    mail.subject,
    mail.text,
    mail.html ?? null,
  ]);
};

export function createMailer(smtpUrl: string | null, timeoutMs = 30_000): Mailer {
  if (!smtpUrl) {
    const keep = writer('outbox_message');
    return {
      kind: 'outbox',
      send: (em, mail) => keep(ormExec(em), mail),
      sendOn: keep,
      deliver: null,
      close() {},
    };
  }
  // Pooled (the queue sends a batch over a few kept-alive connections), and every wait of one
  // exchange bounded, so that it ends within the claim's lease. The URL's own settings win.
  const url = new URL(smtpUrl);
  const defaults: Record<string, string> = { pool: 'true', maxConnections: String(SMTP_CONNECTIONS) };
  for (const k of ['connectionTimeout', 'greetingTimeout', 'socketTimeout']) defaults[k] = String(timeoutMs);
  for (const [k, v] of Object.entries(defaults)) if (!url.searchParams.has(k)) url.searchParams.set(k, v);
  const transport: Transporter = nodemailer.createTransport(url.href);
  const queue = writer('mail_queue');
  return {
    kind: 'smtp',
    send: (em, mail) => queue(ormExec(em), mail),
    sendOn: queue,
    async deliver(mail, messageId) {
      await transport.sendMail({
        from: FROM,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        messageId,
      });
    },
    close: () => transport.close(),
  };
}
