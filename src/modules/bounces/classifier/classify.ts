/**
 * Bounce classifier entry point: reads a raw bounce (or a bare SMTP reply) and returns one result
 * per failed recipient. Pure: no I/O besides parsing the given string.
 */

import { commandIn } from './command.js';
import { bestStatus, joinReply, ownVerdicts, protocolStatusOverruled, refusedAtRcpt } from './diagnostic.js';
import { type DsnRecipient, parseDsnFields } from './dsn.js';
import {
  feedbackRecipients,
  hasFailureWording,
  isAutoReply,
  isFeedbackReport,
  isFromMailSystem,
  looksLikeBounce,
  sesRecipients,
} from './formats.js';
import { explanationOf, recipientsInText, SCAN_CHARS, serverReplyIn } from './free-text.js';
import { clearTextMemos } from './memo.js';
import { isListRefusal } from './notices.js';
import { addressesIn, type ParsedBounce, parseBounce } from './parse.js';
import { quotedReply, returnedTo } from './quoted.js';
import type { Evidence } from './reasons.js';
import { findReplyCode, findStatus, normaliseStatus } from './status.js';
import { fromTextBlock, result } from './text-block.js';
import { type BounceClassification, MAX_RECIPIENTS, TooManyRecipients } from './types.js';

export type { BounceClassification, BounceType } from './types.js';
export { BOUNCE_TYPES, hardFor, MAX_RECIPIENTS, REASON_TYPE, TooManyRecipients, typeFor } from './types.js';

/** A reply code and nothing else. */
const BARE_CODE = /^[245]\d\d$/;

const SMTP_REPLY = /^\s*(?:[245]\d\d[\s-]|#?[245]\.\d{1,3}\.\d{1,3}\b)/;

/** A bare SMTP reply ("550 5.1.1 <bob@x>: ... User unknown"), or [] for anything else. */
function classifyReply(text: string): BounceClassification[] {
  if (!SMTP_REPLY.test(text)) return [];
  const oneLine = text.replace(/\s+/g, ' ').trim();
  const ev: Evidence = {
    diagnostic: oneLine,
    status: findStatus(oneLine),
    replyCode: findReplyCode(oneLine),
    command: commandIn(oneLine),
    action: null,
    diagnosticType: 'smtp',
  };
  return [result(addressesIn(oneLine)[0] ?? null, ev, oneLine)];
}

/** The headers given to a notice's text that came without any (see classify). */
const HEADERLESS = 'Content-Type: text/plain; charset=utf-8\n\n';

/**
 * Whether the input starts like an email message (a header line). A field name may hold any
 * printable character but the colon (RFC 5322, 2.2); none holds "<", ">" or "@", which open a
 * notice's recipient line ("<bob@example.com>: host ... said:") instead.
 */
function looksLikeMessage(text: string): boolean {
  return /^(?:From [^\n]*\n)?[!-9;=?A-~]+:[ \t]*\S?/.test(text) && /\n\r?\n/.test(text);
}

function fromDsn(mail: ParsedBounce, dsn: DsnRecipient[], humanText: string): BounceClassification[] {
  const exclude = new Set([...mail.to, ...mail.from]);
  const blocks = recipientsInText(humanText, exclude);
  if (dsn.length > MAX_RECIPIENTS) throw new TooManyRecipients();
  const blockOf = new Map<string, string>();
  for (const b of blocks)
    if (b.recipient !== null && !blockOf.has(b.recipient)) blockOf.set(b.recipient, b.block);
  let verdicts: Map<string, string> | undefined;
  const verdictsOnce = () => {
    verdicts ??= ownVerdicts(humanText);
    return verdicts;
  };
  let atRcpt: Set<string> | undefined;
  const refusedAtRcptOnce = (recipient: string | null) => {
    atRcpt ??= refusedAtRcpt(humanText);
    return recipient !== null && atRcpt.has(recipient);
  };
  return dsn.map((r) => {
    const block = (r.recipient !== null && blockOf.get(r.recipient)) || '';
    const statusComment = /\((.+)\)/.exec(r.status ?? '')?.[1] ?? null;
    // A Diagnostic-Code that is missing or holds the reply code alone (Google Workspace's
    // "smtp; 550") says less than the reply the notice's text quotes for the recipient: in its
    // own lines, or, with one recipient, anywhere in the text.
    const dsnReply = joinReply(r.diagnostic);
    const quoted =
      dsnReply === null || BARE_CODE.test(dsnReply)
        ? ((block ? quotedReply(block) : null) ??
          (dsn.length === 1 ? quotedReply(explanationOf(humanText)) : null))
        : null;
    const diagnostic =
      quoted ?? dsnReply ?? (block ? serverReplyIn(block, r.recipient) : null) ?? statusComment;
    const status = protocolStatusOverruled(bestStatus(r.status, diagnostic), verdictsOnce, r.recipient);
    const ev: Evidence = {
      diagnostic: [diagnostic, statusComment].filter(Boolean).join(' '),
      status,
      replyCode: findReplyCode(r.diagnostic) ?? findReplyCode(block),
      command:
        commandIn(`${r.diagnostic ?? ''}\n${block}`) ?? (refusedAtRcptOnce(r.recipient) ? 'RCPT' : null),
      action: r.action,
      diagnosticType: r.diagnosticType,
      category: r.category,
      remoteMta: r.remoteMta,
    };
    return result(r.recipient, ev, diagnostic);
  });
}

function fromFreeText(mail: ParsedBounce, text: string): BounceClassification[] {
  const exclude = new Set([...mail.to, ...mail.from]);
  const failed = addressesIn((mail.headers.get('x-failed-recipients') ?? []).join(', '));
  const explanation = explanationOf(text);
  let found = recipientsInText(text, exclude);
  if (failed.length > 0) {
    const blockOf = new Map(found.map((f) => [f.recipient, f.block]));
    found = failed.map((recipient) => ({ recipient, block: blockOf.get(recipient) ?? explanation }));
  }
  if (found.length > MAX_RECIPIENTS) throw new TooManyRecipients();
  // Recipients whose own lines say nothing share the explanation: what is decided from a block
  // and a diagnostic is decided once (the cost stays linear in the text, not recipients × text).
  const decided = new Map<string, Map<string, Omit<BounceClassification, 'recipient'>>>();
  // A list manager refusing a post refuses its sender: Sisimai's "rejected" (its FML module
  // reads fml's "NOT MEMBER" titles so; Mailman's rejections say the same in other words).
  const listRefusal = isListRefusal(mail, explanation);
  // What a notice says once before it lists several recipients (Netscape's "not reachable within
  // the allowed queue period ... The following recipients did not receive your message:").
  const at = found.length > 1 ? explanation.indexOf(found[0].block) : -1;
  const preamble = at > 0 ? explanation.slice(Math.max(0, at - SCAN_CHARS), at) : '';
  // A notice that names no recipient (Google Workspace's "** Message not delivered ** You're
  // sending this from a different address...") returned the message: its one To: is whom it did
  // not reach; with several, the recipient stays unknown. The verdict is the one decided without
  // a recipient (undefined when the notice says nothing).
  const anonymous = found.length === 1 && found[0].recipient === null;
  const to = anonymous ? returnedTo(mail).filter((a) => !exclude.has(a)) : [];
  const named = to.length === 1 ? to[0] : null;
  return found.map(({ recipient, block }) => {
    let diagnostic = joinReply(serverReplyIn(block, recipient));
    if (
      found.length === 1 &&
      block !== explanation &&
      !findReplyCode(diagnostic) &&
      !findStatus(diagnostic)
    ) {
      // The recipient's own lines quote no server: the one reply the explanation quotes is its.
      const wider = joinReply(serverReplyIn(explanation, recipient));
      if (findReplyCode(wider) || findStatus(wider)) diagnostic = wider;
    }
    const byDiagnostic = decided.get(block) ?? new Map<string, Omit<BounceClassification, 'recipient'>>();
    decided.set(block, byDiagnostic);
    const groups = recipient?.endsWith('@googlegroups.com') === true;
    const key = `${groups}\n${recipient === null}\n${diagnostic ?? ''}`;
    let r = byDiagnostic.get(key);
    if (!r) {
      const { recipient: _, ...rest } = fromTextBlock(recipient, block, diagnostic, explanation, {
        recipients: found.length,
        listRefusal,
        preamble,
      });
      r = rest;
      byDiagnostic.set(key, r);
    }
    return { recipient: recipient ?? named, ...r };
  });
}

/**
 * How much of a message is read. What a bounce says (its explanation, its delivery-status
 * report) comes before the copy of the returned message, which can be megabytes of attachments;
 * reading only the head bounds the time any input can take (the largest corpus bounce is 72 KB).
 */
export const READ_CHARS = 256 * 1024;

/** Classifies a raw bounce message (or a bare SMTP reply): one result per failed recipient. */
export async function classifyBounce(raw: string): Promise<BounceClassification[]> {
  try {
    return await classify(raw.length > READ_CHARS ? raw.slice(0, READ_CHARS) : raw, 0);
  } finally {
    clearTextMemos();
  }
}

async function classify(raw: string, depth: number, headerless = false): Promise<BounceClassification[]> {
  const input = raw.replace(/^\uFEFF/, '').trim();
  if (input === '') return [];
  if (!looksLikeMessage(input)) {
    const reply = classifyReply(input);
    if (reply.length > 0) return reply;
    // A notice's text without its headers (copied out of a mail reader, or the text part alone
    // that some inbound webhooks pass on) is read as the body of a message that has none.
    return classify(`${HEADERLESS}${input}`, depth, true);
  }

  let mail: ParsedBounce;
  try {
    mail = await parseBounce(input);
  } catch {
    return classifyReply(input);
  }

  if (isFeedbackReport(mail, input)) {
    return feedbackRecipients(mail, input).map((f) => ({
      ...result(f.recipient, emptyEvidence(), f.diagnostic, 'feedback'),
      feedbackType: f.feedbackType,
    }));
  }

  const ses = sesRecipients(mail.text);
  if (ses) {
    return ses.map((s) => {
      if (s.kind === 'complaint') {
        return { ...result(s.recipient, emptyEvidence(), null, 'feedback'), feedbackType: s.feedbackType };
      }
      const ev: Evidence = {
        ...emptyEvidence(),
        diagnostic: s.diagnostic,
        status: normaliseStatus(s.status),
        replyCode: findReplyCode(s.diagnostic?.replace(/^\s*smtp;\s*/i, '')),
        action: s.action,
      };
      return result(s.recipient, ev, s.diagnostic?.replace(/^\s*smtp;\s*/i, '') ?? null);
    });
  }

  const reportParts = mail.parts.filter((p) => /delivery-status/.test(p.contentType));
  const textParts = mail.parts.filter((p) => p.contentType.startsWith('text/plain')).map((p) => p.text);
  const humanText = [mail.text, ...textParts].join('\n');
  let dsn = reportParts.flatMap((p) => parseDsnFields(p.text));
  if (dsn.length === 0) dsn = parseDsnFields(humanText);
  dsn = dsn.filter((r) => r.action !== 'delivered' && r.action !== 'relayed' && r.action !== 'expanded');
  if (dsn.some((r) => r.recipient)) return fromDsn(mail, dsn, humanText);

  const explanation = explanationOf(humanText);
  if (isAutoReply(mail) && !isFromMailSystem(mail) && !hasFailureWording(explanation)) {
    return [vacation(mail)];
  }
  // Without headers there is no sender nor subject to go by: a failure's wording and an address
  // are what a bounce's text has and a bare reply has not.
  const bounce =
    looksLikeBounce(mail, explanation) ||
    (headerless && hasFailureWording(explanation) && /@/.test(explanation));
  if (depth === 0 && (!bounce || !/@/.test(explanation))) {
    // Some gateways wrap the real bounce in a message/rfc822 part.
    for (const part of mail.parts.filter((p) => p.contentType === 'message/rfc822')) {
      if (!/^content-type:\s*multipart\/report/im.test(part.text.split(/\r?\n\r?\n/, 1)[0] ?? '')) continue;
      const inner = await classify(part.text, depth + 1);
      if (inner.length > 0) return inner;
    }
  }
  if (bounce) return fromFreeText(mail, humanText);

  if (isAutoReply(mail)) return [vacation(mail)];
  return [];
}

/** An automatic reply (out of office...): the recipient is its author. */
function vacation(mail: ParsedBounce): BounceClassification {
  const ev: Evidence = { ...emptyEvidence(), diagnostic: mail.text };
  return result(mail.from[0] ?? null, ev, mail.subject || null, 'vacation');
}

function emptyEvidence(): Evidence {
  return {
    diagnostic: null,
    status: null,
    replyCode: null,
    command: null,
    action: null,
    diagnosticType: null,
  };
}
