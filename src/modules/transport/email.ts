import type { EntityManager } from '@mikro-orm/postgresql';
import nodemailer, { type Transporter } from 'nodemailer';
import type { DkimConfig } from '../../config.js';
import { OutboxMessage } from '../mail/outbox.entity.js';

/** One message as the sending engine and test sends hand it over, already rendered. */
export interface EmailMessage {
  accountId: string | null;
  from: { name: string | null; address: string };
  replyTo: string | null;
  to: string;
  subject: string;
  html: string;
  text: string;
  /** Extra headers (X-Cible-Test, later List-Unsubscribe, Precedence): name -> value. */
  headers: Record<string, string>;
  /**
   * Deterministic `<...@domain>` chosen by the caller (e.g. from operation and contact), so a
   * message sent twice after a crash can be recognised as the same one.
   */
  messageId: string;
  /** Written in the outbox's kind column: TEST or OPERATION. */
  kind: 'TEST' | 'OPERATION';
  /**
   * The envelope sender (SMTP MAIL FROM, which the receiving server writes as Return-Path and
   * sends DSNs to): an operation's VERP address. Absent: the From address.
   */
  envelopeFrom?: string;
}

export interface EmailResult {
  /** The Message-ID that went out (the one given). */
  messageId: string;
  /** The SMTP server's final reply ("250 ..."), or 'outbox'. */
  response: string;
  /** Recipients the server refused at RCPT (a hard refusal: 5xx). */
  rejected: string[];
}

/** A message already written as MIME (src/modules/transport/mime.ts), with its envelope. */
export interface RawEmail {
  raw: Buffer;
  messageId: string;
  envelope: { from: string; to: string };
}

export interface EmailTransport {
  readonly kind: 'smtp' | 'outbox';
  send(em: EntityManager, message: EmailMessage): Promise<EmailResult>;
  /**
   * SMTP only (undefined for the outbox, which stores parts, not MIME): hands the raw message to
   * the pool as it is, DKIM-signed like any other, without an EntityManager.
   */
  sendRaw?(message: RawEmail): Promise<EmailResult>;
  close(): void;
}

/**
 * The header fields signed: nodemailer's default list, plus List-Unsubscribe-Post, which RFC 8058
 * (section 4) requires a DKIM signature to cover with List-Unsubscribe, and receivers (Gmail,
 * Yahoo) check before offering one-click unsubscribe; and X-Cible-Operation, which a bounce names.
 */
export const DKIM_SIGNED_HEADERS = [
  'From',
  'Sender',
  'Reply-To',
  'Subject',
  'Date',
  'Message-ID',
  'To',
  'Cc',
  'MIME-Version',
  'Content-Type',
  'Content-Transfer-Encoding',
  'Content-ID',
  'Content-Description',
  'Resent-Date',
  'Resent-From',
  'Resent-Sender',
  'Resent-To',
  'Resent-Cc',
  'Resent-Message-ID',
  'In-Reply-To',
  'References',
  'List-Id',
  'List-Help',
  'List-Unsubscribe',
  'List-Unsubscribe-Post',
  'List-Subscribe',
  'List-Post',
  'List-Owner',
  'List-Archive',
  'X-Cible-Operation',
].join(':');

export const SMTP_TIMEOUTS_MS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 };

const formatFrom = (from: EmailMessage['from']) =>
  from.name ? { name: from.name, address: from.address } : from.address;

/**
 * nodemailer's pooled SMTP transport on SMTP_URL (connections are reused across messages, which
 * is what a bulk send needs); without SMTP_URL, the local outbox table, so a fresh install works and
 * tests read what would have gone out. Unlike the mailer (invitations), a refused recipient is
 * returned, not thrown: the engine records it as a bounce, a test send reports it. With a DKIM key
 * (DKIM_DOMAIN, DKIM_SELECTOR, DKIM_PRIVATE_KEY) nodemailer signs every message, test sends too:
 * one key for the install, d= its domain (see src/modules/sending/README.md for why not per sender).
 */
export function createEmailTransport(smtpUrl: string | null, dkim: DkimConfig | null = null): EmailTransport {
  if (!smtpUrl) {
    return {
      kind: 'outbox',
      async send(em, m) {
        em.create(OutboxMessage, {
          account: m.accountId,
          to: m.to,
          subject: m.subject,
          text: m.text,
          html: m.html,
          fromAddress: m.from.name ? `${m.from.name} <${m.from.address}>` : m.from.address,
          replyTo: m.replyTo,
          messageId: m.messageId,
          headers: m.headers,
          kind: m.kind,
          createdAt: new Date(),
        });
        await em.flush();
        return { messageId: m.messageId, response: 'outbox', rejected: [] };
      },
      close() {},
    };
  }
  const url = new URL(smtpUrl);
  url.searchParams.set('pool', 'true');
  // nodemailer waits 2 min to connect and 10 min on a silent socket by default: far too long for a
  // caller holding a transaction (test sends) or a claimed batch. A URL may still set its own.
  for (const [key, ms] of Object.entries(SMTP_TIMEOUTS_MS))
    if (!url.searchParams.has(key)) url.searchParams.set(key, String(ms));
  const transport: Transporter = nodemailer.createTransport({
    url: url.toString(),
    ...(dkim ? { dkim: { ...dkim, headerFieldNames: DKIM_SIGNED_HEADERS } } : {}),
  });
  /** A refused recipient is returned, not thrown: nodemailer throws when no recipient is left. */
  const refused = (err: unknown, messageId: string, to: string): EmailResult => {
    const e = err as { command?: string; responseCode?: number; response?: string };
    if (e.command === 'RCPT TO' && (e.responseCode ?? 0) >= 500)
      return { messageId, response: e.response ?? String(e.responseCode), rejected: [to] };
    throw err;
  };
  const result = (messageId: string, info: { response?: unknown; rejected?: unknown[] }): EmailResult => ({
    messageId,
    response: String(info.response ?? ''),
    rejected: (info.rejected ?? []).map(String),
  });
  return {
    kind: 'smtp',
    async send(_em, m) {
      try {
        const info = await transport.sendMail({
          from: formatFrom(m.from),
          replyTo: m.replyTo ?? undefined,
          to: m.to,
          subject: m.subject,
          html: m.html,
          text: m.text,
          headers: m.headers,
          messageId: m.messageId,
          ...(m.envelopeFrom ? { envelope: { from: m.envelopeFrom, to: m.to } } : {}),
        });
        return result(m.messageId, info);
      } catch (err) {
        return refused(err, m.messageId, m.to);
      }
    },
    async sendRaw(m) {
      try {
        // messageId only names the message to nodemailer (a raw message's headers are its own):
        // without it, nodemailer draws a random one from five randomBytes calls per message.
        const info = await transport.sendMail({ raw: m.raw, envelope: m.envelope, messageId: m.messageId });
        return result(m.messageId, info);
      } catch (err) {
        return refused(err, m.messageId, m.envelope.to);
      }
    },
    close: () => transport.close(),
  };
}
