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

/** Every email address of a text, lower-cased, in order. */
export function addressesIn(text: string | null | undefined): string[] {
  if (!text) return [];
  return [...text.matchAll(ADDRESS_RE)].map((m) => m[0].toLowerCase().replace(/[.-]+$/, ''));
}

function decode(content: Buffer): string {
  const utf8 = content.toString('utf8');
  // Mostly-binary or Latin-1 content: fall back to a byte-per-char reading.
  return utf8.includes('\uFFFD') && !/[\u3040-\u30ff\u4e00-\u9fff]/.test(utf8)
    ? content.toString('latin1')
    : utf8;
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
  let text = mail.text ?? '';
  const parts: BouncePart[] = mail.attachments.map((a) => ({
    contentType: a.contentType.toLowerCase(),
    text: decode(a.content),
  }));
  if (text.trim() === '' && !parts.some((p) => /delivery-status|feedback-report/.test(p.contentType))) {
    // Broken MIME structure (missing boundaries, badly folded headers): read the raw body.
    text = rawBody(raw);
  }
  const first = (name: string) => headers.get(name)?.[0] ?? '';
  return {
    headers,
    contentType,
    reportType,
    subject: mail.subject ?? first('subject'),
    from: addressesIn(first('from')),
    to: addressesIn((headers.get('to') ?? []).join(', ')),
    text,
    parts,
  };
}
