/**
 * The verdict on one recipient of a free-text notice, from its block of text, the server reply
 * found in it, and what the notice says around it (classify.ts finds the blocks).
 */
import { commandIn } from './command.js';
import { SCAN_CHARS } from './free-text.js';
import { decideReason, type Evidence } from './reasons.js';
import { findReplyCode, findStatus } from './status.js';
import { type BounceClassification, hardFor, typeFor } from './types.js';

/** One result from the evidence gathered, decided now unless a reason is given. */
export function result(
  recipient: string | null,
  ev: Evidence,
  diagnostic: string | null,
  reason = decideReason(ev),
): BounceClassification {
  return {
    recipient,
    status: ev.status,
    replyCode: ev.replyCode,
    reason,
    hard: hardFor(reason, ev.status, ev.replyCode),
    type: typeFor(reason),
    diagnostic: diagnostic?.replace(/\s+/g, ' ').trim() || null,
  };
}

/**
 * A qmail notice: qmail-send's greeting (qmail-send.c), or, in the notices of qmail's clones that
 * greet otherwise, qmail-remote.c's own words for the step a session failed at.
 */
const QMAIL_NOTICE =
  /\bthis is the qmail-send program\b|^\S+ does not like recipient\.$|^connected to \S+ but (?:greeting failed|my name was rejected|sender was rejected)\.$|^\S+ failed (?:after i sent the message|on data command)\.$/im;

/** A line that starts with an SMTP reply code: a server's answer quoted by the notice. */
const QUOTES_REPLY = /(?:^|\n)[ \t]*(?:<<<[ \t]*)?[245]\d\d[ -]/;

export function fromTextBlock(
  recipient: string | null,
  block: string,
  diagnostic: string | null,
  explanation: string,
  notice: { recipients: number; listRefusal: boolean; preamble: string },
): BounceClassification {
  const { recipients, listRefusal, preamble } = notice;
  // With a single recipient, the whole explanation is about it (some MTAs give the reason
  // before the address).
  const context = recipients === 1 && block !== explanation ? `${block}\n${explanation}` : block;
  const head = block.slice(0, SCAN_CHARS);
  const groups = recipient?.endsWith('@googlegroups.com') && !/\b[45]\d\d\b/.test(head);
  const ev: Evidence = {
    diagnostic: `${diagnostic ?? ''}\n${context.slice(0, SCAN_CHARS)}`,
    status:
      findStatus(diagnostic) ??
      findStatus(head) ??
      (recipients === 1 ? findStatus(context.slice(0, SCAN_CHARS)) : null),
    replyCode: findReplyCode(diagnostic),
    command: commandIn(context),
    action: /delayed|warning|will be retried|not yet been delivered/i.test(head) ? 'delayed' : null,
    diagnosticType: 'smtp',
    qmail: QMAIL_NOTICE.test(explanation.slice(0, SCAN_CHARS)),
  };
  // Google Groups answers a post it refuses (sender not a member, no permission) with a
  // localised notice and no SMTP reply: the sender is refused.
  let reason = groups || listRefusal ? 'rejected' : decideReason(ev);
  if (
    context !== block &&
    !groups &&
    !listRefusal &&
    !ev.status &&
    !ev.replyCode &&
    !QUOTES_REPLY.test(context.slice(0, SCAN_CHARS))
  ) {
    // The recipient's own line, when it says something specific, beats the notice's general
    // words around it (Smail: "no valid recipients were found" above "x@y ... unknown host"),
    // unless those words quote a server's reply: then they are the evidence (RFC 5321 4.2).
    const own = decideReason({
      ...ev,
      diagnostic: `${diagnostic ?? ''}\n${head}`,
      command: commandIn(block),
    });
    if (own !== 'onhold' && own !== reason) reason = own;
  }
  if (reason === 'onhold' && preamble && !ev.status && !ev.replyCode) {
    // The recipient's own lines say nothing specific: the reason the notice gave for all of them.
    reason = decideReason({
      ...ev,
      diagnostic: `${ev.diagnostic}\n${preamble}`,
      command: commandIn(preamble),
    });
  }
  // Nothing identifies a recipient nor says anything specific: undecidable.
  if (recipient === null && reason === 'onhold' && !ev.status && !ev.replyCode) reason = 'undefined';
  return result(recipient, ev, diagnostic, reason);
}
