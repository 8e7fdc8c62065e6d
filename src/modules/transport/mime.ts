import { randomBytes } from 'node:crypto';
import { encodeWords, foldLines, hasLongerLines, isPlainText } from 'nodemailer/lib/mime-funcs';
import { encode as qpEncode, wrap as qpWrap } from 'nodemailer/lib/qp';

/**
 * A bulk message as raw MIME, built by hand for the sending engine: nodemailer's composer builds a
 * tree of MIME nodes and streams it through a dozen transforms for every message, which was most of
 * the sending server's CPU (bench/sending.ts, src/modules/sending/README.md). What is the same for
 * every recipient of an operation (From, Reply-To, the fixed headers, the boundary) is encoded once
 * by `mimeComposer`; each message then only encodes its own parts, with nodemailer's own encoders
 * (Q-encoded words, quoted-printable, line folding) and its choices of encoding, so a message reads
 * as nodemailer would have written it: multipart/alternative, text then HTML, UTF-8, 7bit when the
 * part is plain ASCII with short lines, quoted-printable when mostly Latin, base64 otherwise.
 * nodemailer still sends it (its pool, dot-stuffing, DKIM signing of raw messages).
 */
export interface MimeFixed {
  from: { name: string | null; address: string };
  replyTo: string | null;
  /** Headers equal for every message (X-Cible-Operation, List-Unsubscribe-Post, Precedence). */
  headers: Record<string, string>;
}

export interface MimeMessage {
  to: string;
  subject: string;
  html: string;
  text: string;
  messageId: string;
  /** Headers of this recipient (List-Unsubscribe). */
  headers: Record<string, string>;
  date?: Date;
}

/** Only ASCII addresses without anything that could end a header or an address. */
const PLAIN_ADDRESS = /^[\x21-\x7e]+@[\x21-\x7e]+$/;
const UNSAFE_IN_ADDRESS = /[<>(),;:"\\[\]\s]/;
const plainAddress = (a: string) => PLAIN_ADDRESS.test(a) && !UNSAFE_IN_ADDRESS.test(a);

/** A header value on one line (as nodemailer does: a line break in a value becomes a space). */
const oneLine = (v: string) => v.replace(/\r?\n|\r/g, ' ');

/** nodemailer's MimeNode.encodeHeaderValue for unstructured values: Q-encoded words when not plain. */
const unstructured = (v: string) => {
  const value = oneLine(v);
  return isPlainText(value) ? value : encodeWords(value, 'Q', 52);
};

const header = (name: string, value: string) => foldLines(`${name}: ${value}`, 76);

/** nodemailer's display name rule: a Q-encoded word when not plain, quoted when it holds specials. */
function mailbox(from: MimeFixed['from']): string {
  const name = oneLine(from.name ?? '').trim();
  if (!name) return from.address;
  if (!isPlainText(name)) return `${encodeWords(name, 'Q', 52)} <${from.address}>`;
  return /^[\w ']*$/.test(name)
    ? `${name} <${from.address}>`
    : `"${name.replace(/["\\]/g, '\\$&')}" <${from.address}>`;
}

/** MimeNode._getTextEncoding: more Latin letters than binary or non-ASCII characters: Q, else B. */
function mostlyLatin(value: string): boolean {
  let nonLatin = 0;
  let latin = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c <= 0x08 || c === 0x0b || c === 0x0c || (c >= 0x0e && c <= 0x1f) || c >= 0x80) nonLatin++;
    else if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) latin++;
  }
  return nonLatin < latin;
}

const CRLF = /\r?\n|\r/g;

/** One text part: its headers and body, every line ending CRLF. */
function part(type: 'plain' | 'html', content: string): string {
  const head = `Content-Type: text/${type}; charset=utf-8\r\nContent-Transfer-Encoding: `;
  if (isPlainText(content) && !hasLongerLines(content, 76))
    return `${head}7bit\r\n\r\n${content.replace(CRLF, '\r\n')}`;
  if (mostlyLatin(content))
    return `${head}quoted-printable\r\n\r\n${qpWrap(qpEncode(content.replace(CRLF, '\r\n')), 76)}`;
  const b64 = Buffer.from(content, 'utf8').toString('base64');
  return `${head}base64\r\n\r\n${b64.replace(/.{76}(?!$)/g, '$&\r\n')}`;
}

/** RFC 5322 date as nodemailer writes it ("Thu, 03 Dec 2026 08:28:03 +0000"). */
const rfc5322Date = (d: Date) => d.toUTCString().replace(/GMT/, '+0000');

export type MimeComposer = (m: MimeMessage) => Buffer | null;

/**
 * The builder for one operation's messages. Returns null for a message it does not write
 * (an address that is not plain ASCII, which needs nodemailer's IDN and SMTPUTF8 handling): the
 * caller sends that one through nodemailer's composer.
 */
export function mimeComposer(fixed: MimeFixed): MimeComposer | null {
  if (!plainAddress(fixed.from.address) || (fixed.replyTo && !plainAddress(fixed.replyTo))) return null;
  // "=_" never occurs in quoted-printable or base64 text, so no part can contain the boundary.
  const boundary = `=_cible-${randomBytes(12).toString('hex')}`;
  const head = [
    header('From', mailbox(fixed.from)),
    ...(fixed.replyTo ? [header('Reply-To', fixed.replyTo)] : []),
    'MIME-Version: 1.0',
    ...Object.entries(fixed.headers).map(([k, v]) => header(k, unstructured(v))),
    `Content-Type: multipart/alternative;\r\n boundary="${boundary}"`,
  ].join('\r\n');
  let second = -1;
  let date = '';
  return (m) => {
    if (!plainAddress(m.to)) return null;
    const now = m.date ?? new Date();
    // One Date string per second: the same text nodemailer would write, made once.
    const s = Math.floor(now.getTime() / 1000);
    if (s !== second || m.date) {
      second = m.date ? -1 : s;
      date = rfc5322Date(now);
    }
    const own = [
      header('To', m.to),
      header('Subject', unstructured(m.subject)),
      header('Message-ID', oneLine(m.messageId)),
      `Date: ${date}`,
      ...Object.entries(m.headers).map(([k, v]) => header(k, unstructured(v))),
    ].join('\r\n');
    return Buffer.from(
      `${own}\r\n${head}\r\n\r\n--${boundary}\r\n${part('plain', m.text)}\r\n--${boundary}\r\n${part('html', m.html)}\r\n--${boundary}--\r\n`,
      'utf8',
    );
  };
}
