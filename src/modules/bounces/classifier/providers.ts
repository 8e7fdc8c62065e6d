/**
 * What providers and MTAs document of their own replies and fields. First, providers that name
 * the reason of a refusal by a code of their own in the reply, and publish what each code means.
 * Such a code is the most specific evidence a reply holds: it is read before any wording or status
 * code, as Sisimai reads a known remote host's replies first. The codes are distinct enough
 * (`AUP#CXBL`, `AUP#I-1100`, `i.ua/err/2`) to need no host name. Then (below providerReason)
 * replies whose words mean more from their provider than they say (Microsoft's, au's, Yahoo's),
 * and PowerMTA's own category of a failure.
 */

import { lookupTable } from '../../../shared/lookup.js';

/**
 * Cox, "Email Error Codes" (cox.com/residential/support/email-error-codes.html): `AUP#` and a
 * code in its replies ("554 ... cox.net rejected ... AUP#CXBL").
 */
const COX = lookupTable<string>({
  cxbl: 'blocked', // the sending IP is blocked for spam-like behaviour
  cdrbl: 'blocked', // the same, temporarily
  cxdns: 'requireptr', // the reverse DNS of the sending IP fails
  cxsndr: 'authfailure', // SPF, DomainKeys or DKIM failed for the sending domain
  cxsmtp: 'rejected', // not verified to come from a legitimate sender
  cxcnct: 'toomanyconn', // too many concurrent connections from the IP
  cxmxrt: 'toomanyconn', // too many recipients sent to: wait before sending more
  cxthrt: 'securityerror', // sending limited: suspicious account activity
  cxmj: 'securityerror', // sending blocked: suspicious activity on the primary account
});

/**
 * Spectrum (Charter), "Understanding email error codes" (spectrumbusiness.net/support/internet/
 * understanding-email-error-codes): `AUP#I-nnnn` for mail coming in, `AUP#O-nnnn` going out;
 * ranges of codes share a meaning.
 */
const SPECTRUM: ReadonlyArray<[from: number, to: number, reason: string]> = [
  [1000, 1000, 'blocked'], // the sending IP is blocked for suspicious activity
  [1010, 1080, 'rejected'], // the sending account is blocked or limited
  [1090, 1090, 'systemerror'], // the message cannot be processed now
  [1100, 1150, 'requireptr'], // no full-circle DNS for the sending IP
  [1160, 1190, 'policyviolation'], // against the domain's security policies
  [1200, 1250, 'blocked'], // the IP is listed by Cloudmark CSI or Spamhaus
  [1260, 1260, 'networkerror'], // IPv6 is not accepted
  [1300, 1340, 'toomanyconn'], // concurrent or total connections over the limit
  [1350, 1490, 'speeding'], // messages, recipients or invalid recipients over the limit
  [1500, 1520, 'rejected'], // sending as another address than the one signed in
  [1530, 1530, 'mesgtoobig'], // over 20 MB
  [1540, 1550, 'speeding'], // too many messages in a session, or recipients in a message
  [1560, 1560, 'policyviolation'], // too many invalid recipients
  [1580, 1580, 'speeding'], // too many recipients in a short time
];

/** i.ua, its error pages (mail.i.ua/err/N), which its replies link to. */
const IUA = lookupTable<string>({
  '1': 'norelaying', // SMTP as a mail gate is forbidden
  '2': 'userunknown', // the user is not found
  '3': 'suspend', // the mailbox has not been used for more than 3 months
  '4': 'mailboxfull',
  '5': 'toomanyconn', // the sending limit is exceeded
  '6': 'norelaying', // use your provider's SMTP server
  '7': 'blocked', // a wrong HELO/EHLO name
  '8': 'rejected', // the sender address could not be checked
  '9': 'blocked', // the sending IP is blacklisted
  '10': 'filtered', // not in the recipient's list of allowed senders
});

/** The reason a provider's documented code in the (lower-cased) reply gives, or null. */
export function providerReason(t: string): string | null {
  if (!t.includes('aup#') && !t.includes('i.ua/err/')) return null;
  const cox = /\baup#([a-z]+|ipbl\d+|urlbl\d+)\b/.exec(t)?.[1];
  if (cox) {
    // Cox's IPBL codes name the DNSBLs the sending IP is on, its URLBL codes those of a URL in
    // the message.
    if (cox.startsWith('ipbl')) return 'blocked';
    if (cox.startsWith('urlbl')) return 'spamdetected';
    if (COX[cox]) return COX[cox];
  }
  const spectrum = /\baup#[io]-?(\d{4})\b/.exec(t)?.[1];
  if (spectrum) {
    const n = Number(spectrum);
    const range = SPECTRUM.find(([from, to]) => n >= from && n <= to);
    if (range) return range[2];
  }
  const iua = /\bi\.ua\/err\/(\d{1,2})\b/.exec(t)?.[1];
  return (iua && IUA[iua]) || null;
}

/**
 * Exchange Online reuses X.1.10 (null MX, RFC 7505) for its own directory lookup's miss,
 * "RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup" (Microsoft's "Fix
 * NDR error code 5.1.10 in Exchange Online").
 */
const EXCHANGE_NOT_FOUND =
  /\bresolver\.adr\.recipientnotfound\b|\brecipient not found by smtp address lookup\b/;

/**
 * Microsoft's other replies for an address its directory does not hold, each under its own
 * status: Outlook.com's "550 5.5.0 Requested action not taken: mailbox unavailable" and Exchange
 * Online's directory-based edge blocking, "550 5.4.1 Recipient address rejected: Access denied"
 * (Spam Resource, "Microsoft: multiple types of invalid user bounces", 2023; Microsoft's "Fix NDR
 * error code 5.4.1 in Exchange Online"). RFC 5321's own 550 text, "mailbox unavailable", says no
 * more than a refusal elsewhere (an IIS relay's 5.0.0).
 */
const MICROSOFT_NOT_FOUND: ReadonlyArray<[status: RegExp, words: RegExp]> = [
  [/^5\.1\.10$/, EXCHANGE_NOT_FOUND],
  [/^5\.5\.0$/, /\brequested action not taken: mailbox unavailable\b/],
  [/^5\.4\.1$/, /\brecipient address rejected: access denied\b/],
];

/**
 * au's (KDDI: ezweb.ne.jp, au.com) reply for an address it does not have names the address,
 * "550 <bob@ezweb.ne.jp>: User unknown"; its ": User unknown" without one is its recipients'
 * reception filter (as Sisimai's table of au's replies reads the two; au answers a filtered sender
 * with the same words so as not to tell the addresses apart).
 */
const AU_NOT_FOUND = /<[^<>\s@]+@(?:[\w-]+\.)*(?:ezweb\.ne\.jp|au\.com)>: user unknown\b/;

/**
 * Whether a provider's documented reply (lower-cased) says the address does not exist. These are
 * replies to RCPT TO; the caller leaves one reported after DATA to its rule there (filtered).
 */
export function providerMissingAddress(t: string, status: string | null): boolean {
  return (
    MICROSOFT_NOT_FOUND.some(([code, words]) => code.test(status ?? '') && words.test(t)) ||
    AU_NOT_FOUND.test(t)
  );
}

/**
 * Yahoo's deferral of a sending IP, "421 4.7.0 [TSS01] Messages from x temporarily deferred due to
 * unexpected volume or user complaints" (its postmaster pages: unusual traffic from the IP, or its
 * mail drawing Yahoo users' complaints): the IP's reputation, as Sisimai's BadReputation table
 * reads it. Sisimai's table of Yahoo's own hosts (*.yahoodns.net, in the words or the DSN's
 * Remote-MTA) reads the same words as a refusal of the sender, because Yahoo says them for
 * unauthenticated domains too: there they are left to the step (rejected at MAIL FROM), as
 * dev/'s labels have it.
 */
const YAHOO_COMPLAINTS = /\bdeferred due to (?:unexpected volume or |excessive )?user complaints\b/;
const YAHOO_MX = /\byahoodns\.net\b/;

/** Whether a (lower-cased) reply defers the sending IP for its reputation. */
export function reputationDeferral(t: string, remoteMta: string | null): boolean {
  return YAHOO_COMPLAINTS.test(t) && !YAHOO_MX.test(t) && !YAHOO_MX.test(remoteMta?.toLowerCase() ?? '');
}

/**
 * PowerMTA's bounce categories (its user's guide, "Bounce categories"; X-PowerMTA-BounceCategory
 * in its DSNs), those whose name says the reason: the MTA's own verdict on the failure, read
 * before the reply it classified, as Sisimai reads the fields of a known MTA first. "other",
 * "bad-connection", "protocol-errors" and the like name no reason and leave it to the reply.
 */
const POWERMTA_CATEGORY = lookupTable<string>({
  'bad-domain': 'hostunknown',
  'bad-mailbox': 'userunknown',
  'inactive-mailbox': 'suspend',
  'message-expired': 'expired',
  'no-answer-from-host': 'networkerror',
  'policy-related': 'policyviolation',
  'quota-issues': 'mailboxfull',
  'spam-related': 'spamdetected',
  'virus-related': 'virusdetected',
  'relaying-issues': 'norelaying',
});

/** The reason a reporting MTA's own category of the failure names, or null. */
export function categoryReason(category: string | null | undefined): string | null {
  return (category && POWERMTA_CATEGORY[category]) || null;
}
