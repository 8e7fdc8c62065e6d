/**
 * MIME structure of a bounce, through mailparser: headers, the human-readable text and the
 * machine-readable parts (message/delivery-status, message/feedback-report, the returned message
 * or its headers). mailparser hands non-text parts over as attachments; their content is read here.
 */
import { simpleParser } from 'mailparser';

export interface BouncePart {
  contentType: string;
  text: string;
}

export interface ParsedBounce {
  /** lower-cased header name -> raw (unfolded) values, in order */
  headers: Map<string, string[]>;
  contentType: string;
  reportType: string | null;
  subject: string;
  /** addresses of the From header, lower-cased */
  from: string[];
  /** addresses of the To header, lower-cased */
  to: string[];
  /** decoded human-readable text of the message (text/plain, or text from text/html) */
  text: string;
  /** every attachment, decoded as text */
  parts: BouncePart[];
}

// The lookbehind lets a match start only where a run of local-part characters starts: without
// it a long run with no "@" is rescanned from every position (quadratic on hostile input), and
// the leftmost match of a run always starts there anyway.
const ADDRESS_RE =
  /(?<![A-Za-z0-9.!#$%&'*+/=?^_`{|}~-])[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+/g;

/**
 * Every email address of a text, lower-cased, in order. Without what the local-part characters
 * take in around it: a closing dot or dash, an opening quote ('bob@x.org', as Demon's notices
 * quote it), and Exchange's X.400 "SMTP=" (dda:SMTP=bob@x.org, in its NDRs).
 */
export function addressesIn(text: string | null | undefined): string[] {
  if (!text) return [];
  return [...text.matchAll(ADDRESS_RE)].map((m) =>
    m[0]
      .toLowerCase()
      .replace(/[.-]+$/, '')
      .replace(/^(?:'|smtp=)/, ''),
  );
}

/** How many attachments are decoded by their charset (the others byte per char). */
const DECODED_PARTS = 32;

/** Charsets a byte-per-char reading (or UTF-8) already gets right. */
const PLAIN_CHARSETS = /^(?:us-ascii|ascii|utf-?8|iso-8859-1|latin1)$/i;

/**
 * Decodes the content of a part as a mail reader would: by its declared charset, through
 * mailparser's own decoder (libmime: iconv-lite, and encoding-japanese for ISO-2022-JP and the
 * other Japanese charsets), given the bytes as a one-part message. mailparser decodes text parts
 * so but hands other parts (message/delivery-status, attachments) over as bytes.
 */
async function decodeAs(content: Buffer, charset: string): Promise<string> {
  const name = charset.replace(/[^\w.:-]/g, '');
  const head = `Content-Type: text/plain; charset="${name}"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n`;
  const mail = await simpleParser(Buffer.concat([Buffer.from(head), content]));
  return mail.text ?? '';
}

async function decode(content: Buffer, charset: string | null): Promise<string> {
  if (charset && !PLAIN_CHARSETS.test(charset)) return decodeAs(content, charset);
  const text = plain(content);
  return hasJisEscape(text) ? decodeAs(content, 'iso-2022-jp') : text;
}

/** UTF-8, or for mostly-binary or Latin-1 content a byte-per-char reading. */
function plain(content: Buffer): string {
  const utf8 = content.toString('utf8');
  return utf8.includes('\uFFFD') && !/[\u3040-\u30ff\u4e00-\u9fff]/.test(utf8)
    ? content.toString('latin1')
    : utf8;
}

/**
 * ISO-2022-JP's escape into JIS X 0208 (RFC 1468). Japanese mail is still sent in it without a
 * charset (or under us-ascii): a mail reader recognises the escapes and decodes it.
 */
const hasJisEscape = (text: string) => text.includes('\x1b$B') || text.includes('\x1b$@');

/** A text still holding ISO-2022-JP escapes (7-bit only: nothing else was decoded in it), decoded. */
async function undeclaredJis(text: string): Promise<string> {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: any character past 7 bits.
  if (!hasJisEscape(text) || /[^\x00-\x7f]/.test(text)) return text;
  return decodeAs(Buffer.from(text, 'latin1'), 'iso-2022-jp');
}

/** Raw header block of a message (up to the first blank line), as a name -> values map. */
export function headerMap(raw: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  const head = raw.replace(/\r\n?/g, '\n').split(/\n\n/, 1)[0] ?? '';
  let last: string | null = null;
  for (const line of head.split('\n')) {
    if (/^[ \t]/.test(line) && last) {
      const values = map.get(last);
      if (values) values[values.length - 1] += ` ${line.trim()}`;
      continue;
    }
    const m = /^([!-9;-~]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    last = m[1].toLowerCase();
    const values = map.get(last) ?? [];
    values.push(m[2]);
    map.set(last, values);
  }
  return map;
}

/** The body of a raw message, without MIME boundary lines and part headers, decoded loosely. */
function rawBody(raw: string): string {
  const normalised = raw.replace(/\r\n?/g, '\n');
  const start = normalised.indexOf('\n\n');
  if (start < 0) return '';
  return normalised
    .slice(start + 2)
    .split('\n')
    .filter((l) => !/^--[\w'()+,./:=?-]{6,}$/.test(l.trim()))
    .filter(
      (l) =>
        !/^content-(?:type|transfer-encoding|disposition|description):/i.test(l) && !/^\s*boundary=/i.test(l),
    )
    .join('\n');
}

/** Parses a raw message. */
export async function parseBounce(raw: string): Promise<ParsedBounce> {
  const mail = await simpleParser(raw, { skipImageLinks: true });
  const headers = new Map<string, string[]>();
  for (const { key, line } of mail.headerLines) {
    const value = line
      .slice(line.indexOf(':') + 1)
      .replace(/\r?\n[ \t]+/g, ' ')
      .trim();
    const values = headers.get(key) ?? [];
    values.push(value);
    headers.set(key, values);
  }
  const ct = mail.headers.get('content-type');
  let contentType = '';
  let reportType: string | null = null;
  if (ct && typeof ct === 'object' && 'value' in ct) {
    contentType = String(ct.value).toLowerCase();
    const params = (ct as { params?: Record<string, string> }).params ?? {};
    reportType = params['report-type']?.toLowerCase() ?? null;
  }
  let text = await undeclaredJis(mail.text ?? '');
  const parts: BouncePart[] = [];
  for (const [i, a] of mail.attachments.entries()) {
    const charset = (a.headers.get('content-type') as { params?: Record<string, string> } | undefined)?.params
      ?.charset;
    // A bounce has a handful of parts: past DECODED_PARTS, hostile input would only make each
    // one cost a parse of its own.
    const text = i < DECODED_PARTS ? await decode(a.content, charset ?? null) : plain(a.content);
    parts.push({ contentType: a.contentType.toLowerCase(), text });
  }
  if (
    text.trim() === '' &&
    !parts.some((p) => /delivery-status|feedback-report|^text\/plain/.test(p.contentType))
  ) {
    // Broken MIME structure (missing boundaries, badly folded headers): read the raw body.
    text = rawBody(raw);
  }
  const first = (name: string) => headers.get(name)?.[0] ?? '';
  return {
    headers,
    contentType,
    reportType,
    subject: await undeclaredJis(mail.subject ?? first('subject')),
    from: addressesIn(first('from')),
    to: addressesIn((headers.get('to') ?? []).join(', ')),
    text,
    parts,
  };
}
