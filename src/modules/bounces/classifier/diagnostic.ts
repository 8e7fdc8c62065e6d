/**
 * What a DSN's fields and a server's reply say about one recipient: the reply joined into one
 * line, the best status among the field and the codes quoted, the reporting MTA's own verdicts.
 */
import { findStatus, normaliseStatus } from './status.js';

/** Joins a multi-line SMTP reply: "550-5.7.1 foo\n550-5.7.1 bar" -> "550-5.7.1 foo bar". */
export function joinReply(text: string | null): string | null {
  if (!text) return null;
  const lines = text.split(/\r?\n/);
  const joined = lines
    .map((l, i) => (i === 0 ? l : l.replace(/^\s*[245]\d\d[\s-](?:[245]\.\d{1,3}\.\d{1,3}\s)?/, ' ')))
    .join(' ');
  // The same prefixes inside a line that was already unfolded.
  return joined
    .replace(/(\S)\s+[245]\d\d-?\s?[245]\.\d{1,3}\.\d{1,3}\s+(?=\S)/g, '$1 ')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * The DSN status, or a better one from the diagnostic: the status a remote server quoted in its
 * reply ("550 5.7.1 ...") knows better than the reporting MTA's summary of it, and any specific
 * status beats an x.0.0.
 */
export function bestStatus(fieldStatus: string | null, diagnostic: string | null): string | null {
  const status = normaliseStatus(fieldStatus);
  const inText = findStatus(diagnostic);
  if (!status) return inText;
  const quoted = normaliseStatus(/\b[45]\d\d[-\s]'?([45]\.\d{1,3}\.\d{1,3})\b/.exec(diagnostic ?? '')?.[1]);
  const specific = [quoted, inText].find((s) => s && !/^\d\.0\.0$/.test(s) && s[0] === status[0]);
  if (specific && (/^\d\.0\.0$/.test(status) || specific === quoted)) return specific;
  return status;
}

/**
 * A DSN status in the protocol class (X.5.Y: the session broke, e.g. a pipelined reply refused at
 * DATA) says how the session ended, not why this address failed. When the reporting MTA wrote its
 * own verdict on the address in its transcript (Sendmail's "550 5.1.1 <bob@x>... User unknown"),
 * that status is the one about the recipient.
 */
export function protocolStatusOverruled(
  status: string | null,
  verdicts: () => ReadonlyMap<string, string>,
  recipient: string | null,
): string | null {
  if (!recipient || !/^\s*[45]\.5\.\d{1,3}\b/.test(status ?? '')) return status;
  return verdicts().get(recipient) ?? status;
}

/**
 * The reporting MTA's own verdicts in a transcript ("550 5.1.1 <bob@x>... User unknown"): address
 * (lower-cased) -> the status of its first such line. Read once for all recipients.
 */
export function ownVerdicts(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r\n?|\n/)) {
    const m = /^[45]\d\d[ -]([45]\.\d{1,3}\.\d{1,3}) <?(.+?)>?\.\.\. /.exec(line);
    const address = m?.[2].toLowerCase();
    if (m && address && !out.has(address)) out.set(address, m[1]);
  }
  return out;
}

/**
 * The addresses a transcript shows refused at RCPT TO (Sendmail's "... while talking to x.:",
 * ">>> RCPT To:<bob@x>", then "<<< 554 ..."), lower-cased: when a notice lists several recipients
 * and their transcripts apart, each recipient's step is read there. Read once for all recipients.
 */
export function refusedAtRcpt(text: string): Set<string> {
  const out = new Set<string>();
  const lines = text.split(/\r\n?|\n/);
  for (const [i, line] of lines.entries()) {
    const m = /^>>> RCPT TO:\s*<([^<>\s]+)>/i.exec(line);
    if (m && /^<<< [45]\d\d\b/.test(lines[i + 1] ?? '')) out.add(m[1].toLowerCase());
  }
  return out;
}
