/**
 * Deciding the reason of one failed recipient from what the bounce says about it: the diagnostic
 * text, the enhanced status code, the SMTP reply code, the SMTP command that failed and the DSN
 * action. Same spirit as Sisimai: wording first for the reasons whose wording is specific, the
 * status code when it is specific, then vaguer wording, then the status class.
 */
import { matches, normalise } from './phrases.js';
import { categoryReason, providerMissingAddress, providerReason, reputationDeferral } from './providers.js';
import { reasonOfStatus, WEAK_REASONS } from './status.js';

/** SMTP command at which the session failed, when known. */
export type SmtpCommand = 'CONN' | 'HELO' | 'MAIL' | 'RCPT' | 'DATA' | null;

export interface Evidence {
  diagnostic: string | null;
  status: string | null;
  replyCode: string | null;
  command: SmtpCommand;
  /** DSN Action field, lower-cased: failed, delayed, expired, delivered, relayed... */
  action: string | null;
  /** Type of the Diagnostic-Code field: smtp, x-unix, x-postfix... */
  diagnosticType: string | null;
  /** The notice is qmail-send's ("Hi. This is the qmail-send program at ..."). */
  qmail?: boolean;
  /** The reporting MTA's own category of the failure (PowerMTA's X-PowerMTA-BounceCategory). */
  category?: string | null;
  /** The host that refused, from a DSN's Remote-MTA field ("dns; mta6.am0.yahoodns.net"). */
  remoteMta?: string | null;
}

const BEFORE_DATA = new Set<SmtpCommand>(['CONN', 'HELO', 'MAIL', 'RCPT']);

/**
 * RFC 5321's own 450 text, "Requested mail action not taken: mailbox unavailable (e.g., mailbox
 * busy or temporarily blocked for policy reasons)" (4.2.3): under a 4xx reply or status, a
 * transient refusal that says nothing of the address (Sisimai 5.3 leaves it onhold), neither an
 * unknown user nor a filter. Under a 5xx the same words are read as any "mailbox unavailable".
 */
const MAILBOX_BUSY = /\brequested mail action not taken: mailbox unavailable\b/;
const transientBusy = (t: string, ev: Evidence) =>
  (/^4/.test(ev.replyCode ?? '') || /^4/.test(ev.status ?? '')) && MAILBOX_BUSY.test(t);

type Probe = (t: string, code: string, ev: Evidence) => boolean;

/**
 * An unknown domain that is the envelope sender's, not the recipient's: Postfix's
 * reject_unknown_sender_domain ("Sender address rejected: Domain not found", postconf(5)),
 * Sendmail's "Domain of sender address ... does not exist". The sender is refused: Sisimai's
 * rejected ("rejected due to a sender's email address"). qmail's "envelope sender domain must
 * exist" is left to hostunknown, as Sisimai 4.25 reads it (libsisimai-perl, test/corpus/bounces/synth).
 */
const SENDER_DOMAIN_UNKNOWN =
  /\b(?:envelope sender|sender(?: address)?|mail from)(?: domain)?\b.{0,60}?(?:domain not found|not found|unknown|does not exist|no such domain|unresolvable)|\bdomain of sender address\b/;

/**
 * A refusal of the sending client's own name: any of Postfix's smtpd_helo_restrictions, whose
 * replies all read "Helo command rejected: ..." (reject_unknown_helo_hostname "Host not found",
 * reject_non_fqdn_helo_hostname "need fully-qualified hostname", reject_invalid_helo_hostname
 * "Invalid name", postconf(5)), and "your host name ... not found". The sending host is refused:
 * Sisimai's blocked ("rejected due to client IP address or a hostname").
 */
const CLIENT_NAME_REFUSED =
  /\bhelo command rejected\b|\b(?:your|client) host ?name\b.{0,60}?(?:not found|unknown|does not exist|could not be resolved)|\b(?:helo|ehlo) (?:name|host ?name)\b.{0,60}?(?:not found|unknown|does not exist)/;

/**
 * The notices of servers that report on their own mailboxes, in their own words: IMail's
 * ("Unknown user:", "Invalid final delivery userid:", as flufl.bounce's smtp32 detector reads
 * them), Exchange's Internet Mail Service ("The recipient name is not recognized", MSEXCH:IMS),
 * Verizon's MMS centre ("No valid recipients for this MM"), Lotus Domino's ("not listed in Domino
 * Directory", "not listed in public Name & Address Book" before Domino 6), and the Japanese
 * carriers' notices of their own subscribers ("送信先メールアドレスが見つかりません", notices.ts).
 * Sisimai's modules for these MTAs say userunknown.
 */
const OWN_LOOKUP =
  /\bnot listed in (?:domino directory|public name & address book)\b|\bunknown user:|\binvalid final delivery userid:|\bthe recipient name is not recognized\b|\bno valid recipients for this mm\b|送信先(?:の)?メールアドレスが見つかりません/;

const SENDING_QUOTA = /\bsending (?:quota|limit)|\bdaily message quota/;

/**
 * Replies that refuse the sending host for spam it sent, not the message for its content:
 * Exchange Online's 5.7.511 "Access denied, banned sender[ip]" and 5.7.501 "Spam abuse detected
 * from IP range", Gmail's 4.7.28 "unusual rate of unsolicited mail originating from your IP
 * address" (their references of SMTP replies). Sisimai's blocked: "rejected due to client IP
 * address". They beat the spam and rate wording they contain.
 */
const SENDING_HOST_REFUSED =
  /banned sender ?\[\d|spam abuse detected from ip range|unsolicited mail originating from your ip/;

/** Refusals of an unauthenticated client (Exchange Online's 5.7.57), not of the sender's address. */
const NOT_AUTHENTICATED =
  /\bnot authenticated to send\b|\bauthentication (?:is )?required\b|\bmust be authenticated\b/;

/** qmail-send's words when a message outlived its queue lifetime (qmail-send.c). */
const QUEUE_LIFETIME = /i'?m not going to try again; this message has been in the queue too long\.?/g;

/** A reason is chosen when its status code says so or its wording is found. */
const byCodeOrText =
  (reason: string): Probe =>
  (t, code) =>
    code === reason || matches(reason, t);

/**
 * First pass: reasons whose wording (or status code) is specific enough to be trusted whatever
 * else the status code says. Order matters: the first that agrees wins.
 */
const FIRST_PASS: ReadonlyArray<[string, Probe]> = [
  // The sender's quota ("Daily user sending quota exceeded", Gmail's 5.4.5) is not the mailbox's.
  ['mailboxfull', (t, code, ev) => !SENDING_QUOTA.test(t) && byCodeOrText('mailboxfull')(t, code, ev)],
  ['exceedlimit', byCodeOrText('exceedlimit')],
  ['mesgtoobig', byCodeOrText('mesgtoobig')],
  ['suspend', byCodeOrText('suspend')],
  // X.7.17 "Mailbox owner has changed" answers RFC 7293's RRVS parameter, which we never send:
  // a 5.7.17 whose words say the mailbox does not exist ("sorry, no mailbox here by that name",
  // qmail-local.c's wording, in a qmail patched to answer at RCPT TO) is an unknown user.
  [
    'hasmoved',
    (t, code, ev) =>
      matches('hasmoved', t) ||
      (code === 'hasmoved' && !(/\.7\.1[78]$/.test(ev.status ?? '') && matches('userunknown', t))),
  ],
  ['norelaying', (t) => matches('norelaying', t)],
  ['authfailure', byCodeOrText('authfailure')],
  [
    'userunknown',
    (t, code, ev) => {
      // A provider's documented reply for an address it does not have (a reply to RCPT TO, so not
      // one reported after DATA, where the rule below stands).
      if (ev.command !== 'DATA' && providerMissingAddress(t, ev.status)) return true;
      if (transientBusy(t, ev)) return false;
      if (code === 'userunknown') {
        // A 5.1.1 that actually talks about something else.
        return ![
          'norelaying',
          'blocked',
          'mailboxfull',
          'hasmoved',
          'rejected',
          'notaccept',
          'filtered',
        ].some((r) => matches(r, t));
      }
      if (code === 'suspend') return false;
      // Wording alone counts at RCPT TO. After DATA, an "unknown user" is a filter on the
      // recipient's side (see filtered), and so it is, as Sisimai 5 reads it, when the step is
      // unknown and the status says nothing more (a DSN's 5.0.0 included), unless the wording is
      // a server's lookup of its own mailboxes (OWN_LOOKUP) or a provider's documented reply for
      // a missing address (above).
      return (
        (ev.command === 'RCPT' || (ev.command === null && code === '' && OWN_LOOKUP.test(t))) &&
        matches('userunknown', t)
      );
    },
  ],
  [
    'filtered',
    (t, code, ev) => {
      if (code === 'suspend' || transientBusy(t, ev)) return false;
      if (code === 'filtered') return matches('userunknown', t) || matches('filtered', t);
      if (ev.command && BEFORE_DATA.has(ev.command)) return false;
      if (matches('filtered', t)) return true;
      // "Unknown user" after DATA (or at an unknown step): the recipient filters the sender.
      return matches('userunknown', t);
    },
  ],
  ['requireptr', byCodeOrText('requireptr')],
  ['notcompliantrfc', (t) => matches('notcompliantrfc', t)],
  [
    'badreputation',
    (t, _code, ev) => matches('badreputation', t) || reputationDeferral(t, ev.remoteMta ?? null),
  ],
  [
    'rejected',
    (t, code, ev) => {
      if (code === 'rejected') return true;
      if (ev.command === 'MAIL') {
        // Refused at MAIL FROM: the envelope sender is refused, unless the wording says the
        // refusal is about the sending host,
        // the content, the sending rate, or an unauthenticated client.
        if (SENDING_HOST_REFUSED.test(t) || NOT_AUTHENTICATED.test(t)) return false;
        return (
          WEAK_REASONS.has(code) &&
          !['blocked', 'spamdetected', 'speeding', 'toomanyconn'].some((r) => matches(r, t))
        );
      }
      if (SENDER_DOMAIN_UNKNOWN.test(t) && WEAK_REASONS.has(code) && code !== 'userunknown') return true;
      if (!matches('rejected', t)) return false;
      if (ev.command === 'DATA') return code !== 'userunknown';
      // X.1.0 is "other address status" (RFC 3463): it does not say whose address, the wording
      // does ("550 5.1.0 Sender rejected").
      if (/^[45]\.1\.0$/.test(ev.status ?? '')) return true;
      return code === '' || code === 'onhold' || code === 'securityerror' || code === 'systemerror';
    },
  ],
  [
    'hostunknown',
    (t, code, ev) => {
      // "No MX" (nothing to deliver to) is notaccept, not an unknown host.
      if (matches('notaccept', t)) return false;
      // Sendmail's "Name service error for name=x type=MX: Malformed or unexpected name server
      // reply" under a 5.4.4: the lookup failed; nothing says the domain does not exist.
      if (code === 'hostunknown') return !(matches('dnsfailure', t) && !matches('hostunknown', t));
      if (!matches('hostunknown', t)) return false;
      // The host or domain not found is the sender's side (see above), not the recipient's.
      if (SENDER_DOMAIN_UNKNOWN.test(t) || CLIENT_NAME_REFUSED.test(t)) return false;
      // A transient DNS failure (4.x.x, "try again") is a network error, not a missing domain.
      return !(ev.status?.startsWith('4') || /not found, try again|try again later|temporar/.test(t));
    },
  ],
  [
    'spamdetected',
    (t, code, ev) => !SENDING_HOST_REFUSED.test(t) && byCodeOrText('spamdetected')(t, code, ev),
  ],
  ['toomanyconn', byCodeOrText('toomanyconn')],
  ['speeding', (t) => !SENDING_HOST_REFUSED.test(t) && matches('speeding', t)],
  [
    'blocked',
    (t, code) =>
      code === 'blocked' ||
      matches('blocked', t) ||
      CLIENT_NAME_REFUSED.test(t) ||
      SENDING_HOST_REFUSED.test(t),
  ],
];

/**
 * Second pass, for vaguer wording, used when the status code did not settle the matter:
 * [phrase list, reason].
 */
const SECOND_PASS: ReadonlyArray<string | [string, string]> = [
  'mailboxfull',
  'authfailure',
  'badreputation',
  'speeding',
  'spamdetected',
  'virusdetected',
  'policyviolation',
  'norelaying',
  'notaccept',
  ['dnsfailure', 'networkerror'],
  'expired',
  'systemerror',
  'networkerror',
  'suspend',
  'contenterror',
  'systemfull',
  'failedstarttls',
  'securityerror',
  'suppressed',
  'mailererror',
];

/** Decides the reason of one failed recipient. */
export function decideReason(ev: Evidence): string {
  const t = normalise(ev.diagnostic);
  const code = reasonOfStatus(ev.status);
  if (code === 'delivered' || ev.action === 'delivered' || ev.action === 'relayed') return 'delivered';

  // Only a local delivery program (X-Unix) is judged differently from an SMTP reply.
  const type = (ev.diagnosticType ?? 'smtp').toLowerCase();
  const smtp = !type.startsWith('x-unix');
  if (smtp) {
    // A category is the MTA's verdict on a failure: not on a delivery still being retried.
    const failure = ev.action !== 'delayed' && !/^4/.test(ev.status ?? '');
    const byProvider = providerReason(t) ?? (failure ? categoryReason(ev.category) : null);
    if (byProvider) return byProvider;
    for (const [reason, probe] of FIRST_PASS) {
      if (probe(t, code, ev)) return reason;
    }
  }

  if (code !== '' && !WEAK_REASONS.has(code) && smtp) return code;
  // A local delivery program's own failure, whatever its output says (Postfix's local(8) and
  // pipe(8): "Command died with status N", "Command output: ..."): a mailer error.
  if (/\bcommand output:|\bcommand died with status\b/.test(t)) return 'mailererror';
  // qmail-send appends its queue lifetime sentence to the last error qmail-remote reported
  // (qmail-send.c): in its notices, that error's own wording or code (a connection never made,
  // an LDAP server down) is the reason, as in Sisimai's qmail module; the delivery expired only
  // when it names nothing else. Other MTAs that copied the sentence (Sisimai's X2) mean expiry.
  const text = ev.qmail ? t.replace(QUEUE_LIFETIME, ' ') : t;
  const gaveUp = text !== t;
  for (const entry of SECOND_PASS) {
    const [list, reason] = typeof entry === 'string' ? [entry, entry] : entry;
    if (matches(list, text)) return reason;
  }
  if (gaveUp) return code === '' || code === 'onhold' ? 'expired' : code;
  if (code !== '') return code;

  const subject = (ev.status ?? '').slice(0, 3);
  if (subject === '5.6' || subject === '4.6') return 'contenterror';
  if (subject === '5.7' || subject === '4.7') return 'securityerror';
  if (type.startsWith('x-unix')) return 'mailererror';
  if (matches('syntaxerror', t) || /^50[0-4]$/.test(ev.replyCode ?? '')) return 'syntaxerror';
  if (ev.action === 'delayed' || ev.action === 'expired') return 'expired';
  if (ev.command === 'HELO' || ev.command === 'CONN') return 'blocked';
  if (matches('vacation', t)) return 'vacation';
  return t ? 'onhold' : 'undefined';
}
