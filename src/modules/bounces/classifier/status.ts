/**
 * Enhanced status codes (RFC 3463 / IANA registry) and SMTP reply codes: finding them in text and
 * the table from a status code to the reason it points at.
 */

/**
 * Status code -> reason. Codes missing from the table (x.0.0, 4.3.0, 4.4.0, 4.7.0, ...) say too
 * little by themselves; the diagnostic text has to decide.
 */
const STATUS_REASON: Readonly<Record<string, string>> = {
  '4.1.6': 'hasmoved',
  '4.1.7': 'rejected',
  '4.1.8': 'rejected',
  '4.1.9': 'systemerror',
  '4.2.1': 'blocked',
  '4.2.2': 'mailboxfull',
  '4.2.3': 'exceedlimit',
  '4.2.4': 'filtered',
  '4.3.1': 'systemfull',
  '4.3.2': 'notaccept',
  '4.3.3': 'systemerror',
  '4.3.5': 'systemerror',
  '4.4.1': 'expired',
  '4.4.2': 'networkerror',
  '4.4.3': 'systemerror',
  '4.4.4': 'networkerror',
  '4.4.5': 'systemfull',
  '4.4.6': 'networkerror',
  '4.4.7': 'expired',
  '4.4.8': 'networkerror',
  '4.5.3': 'systemerror',
  '4.5.5': 'systemerror',
  '4.6.0': 'contenterror',
  '4.6.2': 'contenterror',
  '4.6.5': 'contenterror',
  '4.7.1': 'blocked',
  '4.7.2': 'blocked',
  '4.7.5': 'securityerror',
  '4.7.6': 'securityerror',
  '4.7.7': 'securityerror',
  '4.7.12': 'securityerror',
  '4.7.15': 'securityerror',
  '4.7.16': 'mesgtoobig',
  '4.7.24': 'authfailure',
  '4.7.25': 'requireptr',
  '4.7.26': 'authfailure',
  '5.1.0': 'userunknown',
  '5.1.1': 'userunknown',
  '5.1.2': 'hostunknown',
  '5.1.3': 'userunknown',
  '5.1.4': 'filtered',
  '5.1.6': 'hasmoved',
  '5.1.7': 'rejected',
  '5.1.8': 'rejected',
  '5.1.9': 'systemerror',
  '5.1.10': 'notaccept',
  '5.2.0': 'filtered',
  '5.2.1': 'filtered',
  '5.2.2': 'mailboxfull',
  '5.2.3': 'exceedlimit',
  '5.2.4': 'filtered',
  '5.3.0': 'systemerror',
  '5.3.1': 'systemfull',
  '5.3.2': 'notaccept',
  '5.3.3': 'systemerror',
  '5.3.4': 'mesgtoobig',
  '5.3.5': 'systemerror',
  '5.4.0': 'networkerror',
  '5.4.3': 'systemerror',
  '5.4.4': 'hostunknown',
  '5.5.2': 'syntaxerror',
  '5.5.3': 'toomanyconn',
  '5.5.4': 'systemerror',
  '5.5.5': 'systemerror',
  '5.5.6': 'syntaxerror',
  '5.6.0': 'contenterror',
  '5.6.1': 'contenterror',
  '5.6.2': 'contenterror',
  '5.6.3': 'contenterror',
  '5.6.5': 'contenterror',
  '5.6.6': 'contenterror',
  '5.6.7': 'contenterror',
  '5.6.8': 'contenterror',
  '5.6.9': 'contenterror',
  '5.7.0': 'securityerror',
  '5.7.1': 'securityerror',
  '5.7.2': 'securityerror',
  '5.7.3': 'securityerror',
  '5.7.4': 'securityerror',
  '5.7.5': 'securityerror',
  '5.7.6': 'securityerror',
  '5.7.7': 'securityerror',
  '5.7.8': 'securityerror',
  '5.7.9': 'securityerror',
  '5.7.10': 'securityerror',
  '5.7.11': 'securityerror',
  '5.7.13': 'suspend',
  '5.7.14': 'securityerror',
  '5.7.15': 'securityerror',
  '5.7.16': 'mesgtoobig',
  '5.7.17': 'hasmoved',
  '5.7.18': 'hasmoved',
  '5.7.19': 'securityerror',
  '5.7.20': 'authfailure',
  '5.7.21': 'authfailure',
  '5.7.22': 'authfailure',
  '5.7.23': 'authfailure',
  '5.7.24': 'authfailure',
  '5.7.25': 'requireptr',
  '5.7.26': 'authfailure',
  '5.7.27': 'notaccept',
  '5.7.28': 'spamdetected',
  '5.7.29': 'authfailure',
  '5.7.30': 'failedstarttls',
};

/** Reason a status code points at, or '' when the code alone does not tell. */
export function reasonOfStatus(status: string | null): string {
  if (!status) return '';
  if (status.startsWith('2.')) return 'delivered';
  return STATUS_REASON[status] ?? '';
}

/**
 * Reasons a status code may point at that are weak: the diagnostic text is checked before
 * trusting them (a 5.1.1 saying "mailbox full" is a full mailbox).
 */
export const WEAK_REASONS = new Set([
  '',
  'undefined',
  'onhold',
  'systemerror',
  'securityerror',
  'expired',
  'networkerror',
  'hostunknown',
  'userunknown',
]);

const STATUS_RE = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/;
// Not part of a longer dotted number ("[5.9.147.154]", an IP address, held "5.9.14"), and of a
// subject RFC 3463 defines (0 to 7).
const STATUS_RE_G = /(?:^|[^\d.])([245]\.[0-7]\.\d{1,3})(?!\d|\.\d)/g;

/** Normalises a status code ("5.1.1 (permanent failure)" -> "5.1.1"). */
export function normaliseStatus(value: string | null | undefined): string | null {
  if (!value) return null;
  const m = STATUS_RE.exec(value);
  return m ? `${m[1]}.${Number(m[2])}.${Number(m[3])}` : null;
}

/**
 * The most meaningful enhanced status code in a text: the first one that is not the vague
 * x.0.0, else the first one.
 */
export function findStatus(text: string | null | undefined): string | null {
  if (!text) return null;
  const found: string[] = [];
  for (const m of text.matchAll(STATUS_RE_G)) {
    const s = normaliseStatus(m[1]);
    // A success status counts after a success reply ("250 2.1.5 Ok") only: elsewhere in a text
    // "2.0.12" is a version ("RELEASED Mailman 2.0.12" in a subject), not a delivery.
    const at = m.index + m[0].length - m[1].length;
    if (s?.startsWith('2') && !/\b2\d\d[ -]$/.test(text.slice(Math.max(0, at - 5), at))) continue;
    if (s) found.push(s);
  }
  if (found.length === 0) return null;
  return found.find((s) => !/^\d\.0\.0$/.test(s)) ?? found[0];
}

/** The first SMTP reply code (4xx or 5xx; 2xx only at the start) in a text. */
export function findReplyCode(text: string | null | undefined): string | null {
  if (!text) return null;
  const lead = /^\s*(?:smtp;\s*)?([245]\d\d)(?=[\s\-:]|$)/i.exec(text);
  if (lead) return lead[1];
  const m = /(?:^|[\s:;([])([45][0-7]\d)(?=[\s\-:,)\]]|$)(?![.\d])/.exec(text);
  return m ? m[1] : null;
}
