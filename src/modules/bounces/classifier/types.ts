/**
 * Public types of the bounce classifier, the reason -> type table and the hard/soft rule.
 */

export const BOUNCE_TYPES = [
  'DELIVERY_FAILED',
  'RETRY_LOOP_EXCEEDED',
  'MAX_ATTEMPTS_REACHED',
  'SPAM_REFUSED',
] as const;

export type BounceType = (typeof BOUNCE_TYPES)[number];

export interface BounceClassification {
  /** lower-cased email address of the failed recipient */
  recipient: string | null;
  /** enhanced delivery status, e.g. "5.1.1" */
  status: string | null;
  /** SMTP reply code, e.g. "550" */
  replyCode: string | null;
  /** Sisimai vocabulary: userunknown, hostunknown, mailboxfull, expired, ... */
  reason: string;
  /** hard bounce? */
  hard: boolean;
  /** Sendethic's type, from REASON_TYPE */
  type: BounceType;
  /** the last message returned by the receiving server, trimmed */
  diagnostic: string | null;
  /** for ARF reports: the Feedback-Type field (abuse, fraud, auth-failure, ...) */
  feedbackType?: string | null;
}

/**
 * The single reason -> type table.
 *
 * SPAM_REFUSED groups the refusals that are about the sender being considered a spam source, or
 * the recipient complaining about it: content judged as spam or malware, complaints (ARF), IP or
 * host block lists and reputation, missing reverse DNS (an anti-spam check), SPF/DKIM/DMARC
 * failures and "policy" refusals (almost always anti-spam policies in practice).
 * RETRY_LOOP_EXCEEDED is the retry loop of the sending MTA that timed out (expired).
 * Everything else, including securityerror (too vague to call it spam), rejected (envelope sender
 * refused), filtered and the recipient-side reasons, is DELIVERY_FAILED.
 * MAX_ATTEMPTS_REACHED is never produced here: it comes from our own sending.
 */
export const REASON_TYPE: Readonly<Record<string, BounceType>> = {
  authfailure: 'SPAM_REFUSED',
  badreputation: 'SPAM_REFUSED',
  blocked: 'SPAM_REFUSED',
  contenterror: 'DELIVERY_FAILED',
  delivered: 'DELIVERY_FAILED',
  exceedlimit: 'DELIVERY_FAILED',
  expired: 'RETRY_LOOP_EXCEEDED',
  failedstarttls: 'DELIVERY_FAILED',
  feedback: 'SPAM_REFUSED',
  filtered: 'DELIVERY_FAILED',
  hasmoved: 'DELIVERY_FAILED',
  hostunknown: 'DELIVERY_FAILED',
  mailboxfull: 'DELIVERY_FAILED',
  mailererror: 'DELIVERY_FAILED',
  mesgtoobig: 'DELIVERY_FAILED',
  networkerror: 'DELIVERY_FAILED',
  norelaying: 'DELIVERY_FAILED',
  notaccept: 'DELIVERY_FAILED',
  notcompliantrfc: 'DELIVERY_FAILED',
  onhold: 'DELIVERY_FAILED',
  policyviolation: 'SPAM_REFUSED',
  rejected: 'DELIVERY_FAILED',
  requireptr: 'SPAM_REFUSED',
  securityerror: 'DELIVERY_FAILED',
  spamdetected: 'SPAM_REFUSED',
  speeding: 'DELIVERY_FAILED',
  suppressed: 'DELIVERY_FAILED',
  suspend: 'DELIVERY_FAILED',
  syntaxerror: 'DELIVERY_FAILED',
  systemerror: 'DELIVERY_FAILED',
  systemfull: 'DELIVERY_FAILED',
  toomanyconn: 'DELIVERY_FAILED',
  undefined: 'DELIVERY_FAILED',
  userunknown: 'DELIVERY_FAILED',
  vacation: 'DELIVERY_FAILED',
  virusdetected: 'SPAM_REFUSED',
};

/** Type of a reason; unknown reasons are plain delivery failures. */
export function typeFor(reason: string): BounceType {
  return REASON_TYPE[reason] ?? 'DELIVERY_FAILED';
}

/** Reasons that are always hard: the address or the domain does not (or no longer) exist. */
const ALWAYS_HARD = new Set(['userunknown', 'hostunknown', 'hasmoved']);

/**
 * Hard or soft bounce, after Sisimai's rule: the address-level failures are hard; notaccept
 * (the destination accepts no mail at all, e.g. null MX) is hard only when permanent (5xx);
 * every other reason (full mailbox, expiry, blocks, filters, policy, undecided ones such as
 * onhold/undefined...) is soft: retrying later or from elsewhere may succeed.
 */
export function hardFor(reason: string, status: string | null, replyCode: string | null): boolean {
  if (ALWAYS_HARD.has(reason)) return true;
  if (reason === 'notaccept') {
    // No code at all: the message is a final failure notice, treat it as permanent.
    const first = (status ?? replyCode ?? '5').charAt(0);
    return first === '5';
  }
  return false;
}

/** The most failed recipients one message may name; more is refused before any is classified. */
export const MAX_RECIPIENTS = 1000;

/** Thrown by classifyBounce for a message naming more than MAX_RECIPIENTS recipients. */
export class TooManyRecipients extends Error {
  constructor() {
    super(`message names more than ${MAX_RECIPIENTS} recipients`);
  }
}
