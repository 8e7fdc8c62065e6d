import type { AppServices } from '../../context.js';
import { verpAddress } from '../bounces/bounce.verp.js';
import type { RenderedEmail } from '../operations/operation.preview.js';
import type { EmailResult, EmailTransport } from '../transport/email.js';
import { type MimeComposer, mimeComposer } from '../transport/mime.js';
import { type LinkSigner, linkSigner } from './sending.links.js';

export interface Decorated {
  html: string;
  text: string;
  headers: Record<string, string>;
}

// An opening <a ...> tag's href: quoted with " or ', absolute http(s) only (mailto:, tel:, anchors
// and relative links are left as they are; a relative link means nothing in a mail anyway).
const HREF = /(<a\b[^>]*?\bhref\s*=\s*)(["'])(https?:\/\/[^"']+)\2/gi;

const decodeEntities = (u: string) =>
  u.includes('&')
    ? u
        .replace(/&amp;/g, '&')
        .replace(/&#x2F;/gi, '/')
        .replace(/&#47;/g, '/')
        .replace(/&quot;/g, '"')
    : u;

/**
 * What a real send adds to the rendered message of one recipient (never a preview or a test send),
 * with the send's link signer (sending.links.ts):
 * - each http(s) link of the HTML becomes a signed click link (`/t/c/<token>`) that records an
 *   EMAIL_CLICK with the operation and redirects to the link as written (entities decoded);
 * - an open pixel (`/t/o/<token>.gif`) before </body> (or at the end);
 * - an unsubscribe link in a footer of both parts, and RFC 8058's `List-Unsubscribe` (the same
 *   URL: a POST there unsubscribes at once, a GET only shows a button) with
 *   `List-Unsubscribe-Post: List-Unsubscribe=One-Click`, and `Precedence: bulk`.
 */
export function decorate(
  links: LinkSigner,
  contactId: string,
  message: { html: string; text: string },
): Decorated {
  const html = message.html.replace(HREF, (whole, head: string, quote: string, raw: string) => {
    const tracked = links.click(contactId, decodeEntities(raw));
    return tracked === null ? whole : `${head}${quote}${tracked}${quote}`;
  });
  const unsubscribe = links.unsubscribe(contactId);
  const pixel = `<img src="${links.open(contactId)}" width="1" height="1" alt="" style="display:block;border:0">`;
  const footer = `<p style="font-size:12px;color:#666">You receive this message as a contact of ours. <a href="${unsubscribe}">Unsubscribe</a></p>`;
  const at = html.search(/<\/body>/i);
  const decoratedHtml =
    at >= 0 ? `${html.slice(0, at)}${footer}${pixel}${html.slice(at)}` : `${html}${footer}${pixel}`;
  return {
    html: decoratedHtml,
    text: `${message.text}\n\n--\nUnsubscribe: ${unsubscribe}\n`,
    headers: { 'List-Unsubscribe': `<${unsubscribe}>`, ...BULK_HEADERS },
  };
}

/** The headers every message of a send carries alike (List-Unsubscribe is the recipient's). */
const BULK_HEADERS = { 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click', Precedence: 'bulk' };

/** The Message-ID of an operation's message to a contact: the same on every attempt. */
export const messageIdOf = (operationId: string, contactId: string, from: string) =>
  `<${operationId}.${contactId}@${from.split('@')[1] || 'cible.invalid'}>`;

/**
 * Sends one operation's rendered emails, decorated for each recipient, with the envelope sender
 * of its VERP return path (a DSN names this operation and this contact). Through SMTP the message
 * goes as raw MIME written here (src/modules/transport/mime.ts: a fraction of nodemailer's
 * composer's CPU, and one socket write instead of one per line), with the fixed headers encoded
 * once per send; to the outbox, or for an address mime.ts does not write, as parts.
 */
export function operationMailer(
  app: AppServices,
  key: Buffer,
  op: { id: string; accountId: string },
  transport: EmailTransport,
): (m: RenderedEmail, r: { contactId: string; address: string }) => Promise<EmailResult> {
  const fixed = { ...BULK_HEADERS, 'X-Cible-Operation': op.id };
  const links = linkSigner(app.config, key, op.accountId, op.id);
  // From and Reply-To are the operation's (the content's, not templated): one composer per send.
  let composer: MimeComposer | null | undefined;
  return (m, r) => {
    const d = decorate(links, r.contactId, m);
    const messageId = messageIdOf(op.id, r.contactId, m.from.address);
    const envelopeFrom = verpAddress(
      key,
      { operationId: op.id, contactId: r.contactId },
      app.config.bounceDomain ?? (m.from.address.split('@')[1] || 'cible.invalid'),
    );
    if (transport.sendRaw) {
      if (composer === undefined)
        composer = mimeComposer({ from: m.from, replyTo: m.replyTo, headers: fixed });
      const raw = composer?.({
        to: r.address,
        subject: m.subject,
        html: d.html,
        text: d.text,
        messageId,
        headers: { 'List-Unsubscribe': d.headers['List-Unsubscribe'] },
      });
      if (raw) return transport.sendRaw({ raw, messageId, envelope: { from: envelopeFrom, to: r.address } });
    }
    return transport.send(app.orm.em.fork(), {
      accountId: op.accountId,
      from: m.from,
      replyTo: m.replyTo,
      to: r.address,
      subject: m.subject,
      html: d.html,
      text: d.text,
      headers: { ...d.headers, ...fixed },
      messageId,
      kind: 'OPERATION',
      envelopeFrom,
    });
  };
}
