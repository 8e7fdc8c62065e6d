import { randomBytes } from 'node:crypto';
import { encodeWords, foldLines, hasLongerLines, isPlainText } from 'nodemailer/lib/mime-funcs';

/**
 * A bulk message as raw MIME, built by hand for the sending engine: nodemailer's composer builds a
 * tree of MIME nodes and streams it through a dozen transforms for every message, which was most of
 * the sending server's CPU (bench/sending.ts, src/modules/sending/README.md). What is the same for
 * every recipient of an operation (From, Reply-To, the fixed headers, the boundary) is encoded once
 * by `mimeComposer`; each message then only encodes its own parts, with nodemailer's own header
 * encoders (Q-encoded words, line folding) and its choices of encoding, so a message reads as
 * nodemailer would have written it: multipart/alternative, text then HTML, UTF-8, 7bit when the
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

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what nodemailer counts as non-Latin
const NON_LATIN = /[\x00-\x08\x0b\x0c\x0e-\x1f\u0080-\uffff]/g;
const LATIN = /[A-Za-z]/g;

/**
 * MimeNode._getTextEncoding: more Latin letters than binary or non-ASCII characters: Q, else B.
 * Counted by regular expressions (a loop over the characters was a fifth of a message's MIME).
 */
function mostlyLatin(value: string, plain: boolean): boolean {
  if (plain) return /[A-Za-z]/.test(value);
  const nonLatin = value.length - value.replace(NON_LATIN, '').length;
  return nonLatin < value.length - value.replace(LATIN, '').length;
}

const CRLF = /\r?\n|\r/g;

/** `=XX` of every byte. */
const HEX = Array.from({ length: 256 }, (_, b) => `=${b.toString(16).toUpperCase().padStart(2, '0')}`);

/** A code point's UTF-8 bytes as `=XX` sequences (a lone surrogate as U+FFFD, as Buffer.from does). */
function hexUtf8(cp: number): string {
  if (cp < 0x80) return HEX[cp];
  if (cp < 0x800) return HEX[0xc0 | (cp >> 6)] + HEX[0x80 | (cp & 63)];
  if (cp < 0x10000) {
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
    return HEX[0xe0 | (cp >> 12)] + HEX[0x80 | ((cp >> 6) & 63)] + HEX[0x80 | (cp & 63)];
  }
  return (
    HEX[0xf0 | (cp >> 18)] +
    HEX[0x80 | ((cp >> 12) & 63)] +
    HEX[0x80 | ((cp >> 6) & 63)] +
    HEX[0x80 | (cp & 63)]
  );
}

/** What is not written as it is: anything but tab, space and printable ASCII except "=". */
const SPECIAL = /[^\t\x20-\x3c\x3e-\x7e]/g;

/**
 * Quoted-printable (RFC 2045 6.7) of a text whose line breaks are CRLF, in one pass over the
 * string: runs of printable ASCII (found by a regular expression, so scanned natively) are copied
 * by slices, the rest written as the `=XX` of its UTF-8 bytes (one character's bytes never split
 * by a soft break), a space or tab before a line end encoded, lines at most 76 characters with
 * the soft break. nodemailer's encode and wrap do the same in two passes (a Buffer, then a regular
 * expression per line): 43 us against 17 us for the 3 KB HTML of bench/sending.ts.
 */
export function quotedPrintable(s: string): string {
  let out = '';
  let line = 0;
  const n = s.length;
  let i = 0;
  while (i < n) {
    SPECIAL.lastIndex = i;
    const j = SPECIAL.exec(s)?.index ?? n;
    if (j > i) {
      const last = s.charCodeAt(j - 1);
      const blankAtEnd = (last === 0x20 || last === 0x09) && (j === n || s.charCodeAt(j) === 0x0d);
      const end = blankAtEnd ? j - 1 : j;
      for (let k = i; k < end; ) {
        if (line >= 75) {
          out += '=\r\n';
          line = 0;
        }
        const take = Math.min(75 - line, end - k);
        out += s.slice(k, k + take);
        line += take;
        k += take;
      }
      if (blankAtEnd) {
        if (line + 3 > 75) {
          out += '=\r\n';
          line = 0;
        }
        out += HEX[last];
        line += 3;
      }
      i = j;
      continue;
    }
    const c = s.charCodeAt(i);
    if (c === 0x0d && s.charCodeAt(i + 1) === 0x0a) {
      out += '\r\n';
      line = 0;
      i += 2;
      continue;
    }
    let cp = c;
    let width = 1;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        cp = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
        width = 2;
      }
    }
    const hex = hexUtf8(cp);
    if (line + hex.length > 75) {
      out += '=\r\n';
      line = 0;
    }
    out += hex;
    line += hex.length;
    i += width;
  }
  return out;
}

/** One text part: its headers and body, every line ending CRLF. */
function part(type: 'plain' | 'html', content: string): string {
  const head = `Content-Type: text/${type}; charset=utf-8\r\nContent-Transfer-Encoding: `;
  const plain = isPlainText(content);
  if (plain && !hasLongerLines(content, 76)) return `${head}7bit\r\n\r\n${content.replace(CRLF, '\r\n')}`;
  if (mostlyLatin(content, plain))
    return `${head}quoted-printable\r\n\r\n${quotedPrintable(content.replace(CRLF, '\r\n'))}`;
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
