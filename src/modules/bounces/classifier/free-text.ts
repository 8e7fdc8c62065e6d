/**
 * Plain-text bounces (Postfix, Sendmail, Exim, qmail, Exchange, Gmail, Yahoo...): finding the
 * failed recipients and what the servers said about each of them in the human-readable text.
 */
import { memoised } from './memo.js';
import { addressesIn } from './parse.js';

export interface TextRecipient {
  recipient: string | null;
  /** the part of the text that talks about this recipient */
  block: string;
}

/** Lines that start the copy of the returned message: what follows is not the explanation. */
const ORIGINAL_MESSAGE_MARKERS: readonly RegExp[] = [
  /^\s*-+\s*(?:this is a )?copy of (?:the|your) message/i,
  /^\s*(?:-+\s*)?(?:below this line is|enclosed is) a copy of the message/i,
  /^\s*(?:-+\s*)?original message(?: follows| header| headers| info)?[\s:-]*$/i,
  /^\s*(?:-+\s*)?original message follows/i,
  /^\s*(?:-+\s*)?original mail(?: info)?/i,
  /^\s*(?:-+\s*)?the (?:header|headers|text) of the original message/i,
  /^\s*(?:-+\s*)?(?:unsent|returned|undelivered) message follows/i,
  /^\s*(?:-+\s*)?message headers follow/i,
  /^\s*(?:-+\s*)?included is a copy of the message header/i,
  /^\s*(?:-+\s*)?original message header/i,
  /^\s*-+\s*$/,
  /^(?:Received|Return-Path|DKIM-Signature|X-Received|Delivered-To|Authentication-Results|Message-ID|MIME-Version):/i,
];

/** Cuts a bounce text before the copy of the returned message. */
export function explanationOf(text: string): string {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const out: string[] = [];
  for (const [i, line] of lines.entries()) {
    if (i > 0 && ORIGINAL_MESSAGE_MARKERS.some((re) => re.test(line))) {
      // A line of dashes alone only counts when message headers follow it.
      if (!/^\s*-+\s*$/.test(line)) break;
      let j = i + 1;
      while (j < lines.length && lines[j].trim() === '') j++;
      const next = lines[j] ?? '';
      if (/^[\w-]+:\s/.test(next)) break;
    }
    out.push(line);
  }
  return out.join('\n');
}

/** Addresses of the sender side that show up in bounce texts: never failed recipients. */
function senderSideAddresses(text: string): Set<string> {
  const out = new Set<string>();
  const patterns = [
    /mail from:?\s*<?([^\s<>]+@[^\s<>]+?)>?(?=[\s>:]|$)/gi,
    /envelope-from\s*<?([^\s<>]+@[^\s<>]+?)>?(?=[\s>)]|$)/gi,
    /(?:ultimately )?generated from\s+<?([^\s<>()]+@[^\s<>()]+?)>?\)?/gi,
    /message sent by\s*<?([^\s<>]+@[^\s<>]+?)>?(?=\s|$)/gi,
    /from:\s*<([^\s<>]+@[^\s<>]+)>/gi,
  ];
  for (const re of patterns) {
    for (const m of text.matchAll(re)) out.add(m[1].toLowerCase());
  }
  // "From: Name <address>" lines, read line by line: one regex spanning the name and the address
  // backtracks quadratically on a long line without an address.
  for (const line of text.split('\n')) {
    // Exchange Online's NDR lists "Sender Address:" and "Recipient Address:" under "Original
    // Message Details".
    const m = /^\s*(?:from|sender|sender address|original sender|return-path|reply-to)[ \t]*:(.*)$/i.exec(
      line,
    );
    if (!m) continue;
    // The address that ends the line (after an optional ">"), as the pattern it replaces required.
    const last = addressesIn(m[1]).at(-1);
    if (last && m[1].trimEnd().replace(/>$/, '').toLowerCase().endsWith(last)) out.add(last);
  }
  return out;
}

/**
 * The most of a text read as one recipient's block. A recipient's own lines in the corpus are far
 * shorter (the largest explanation is 8.6 KB); the cap keeps the work per recipient bounded.
 */
export const BLOCK_CHARS = 2048;

/** A header line of the returned message, quoted in the explanation. */
const QUOTED_HEADER = /^\s*(?:to|cc)\s*:/i;

const ROBOT_LOCAL = /^(?:mailer-daemon|mail-daemon|mailerdaemon|daemon|bounces?|no-?reply|double-bounce)$/i;

/** Finds the failed recipients of a plain-text bounce and the text block about each. */
export function recipientsInText(text: string, exclude: ReadonlySet<string>): TextRecipient[] {
  const explanation = explanationOf(text);
  const lines = explanation.split('\n');
  const senders = senderSideAddresses(explanation);
  const isCandidate = (a: string) => !exclude.has(a) && !senders.has(a) && !ROBOT_LOCAL.test(a.split('@')[0]);

  const firstLine = new Map<string, number>();
  const leading: string[] = [];
  const leadingSet = new Set<string>();
  const leadLines: number[] = [];
  const anywhere: string[] = [];
  // Addresses seen elsewhere than in a header line quoted from the returned message (Exchange's
  // "Your message / To: list@x / Subject: ... / did not reach the following recipient(s): ...").
  const outsideHeaders = new Set<string>();
  for (const [i, line] of lines.entries()) {
    const found = addressesIn(line);
    const quotedHeader = QUOTED_HEADER.test(line);
    for (const a of found) {
      if (!isCandidate(a)) continue;
      if (!quotedHeader) outsideHeaders.add(a);
      if (!firstLine.has(a)) {
        firstLine.set(a, i);
        anywhere.push(a);
      }
    }
    // An address that opens its line ("  bob@x", "<bob@x>:", "\"bob@x\":", "Recipient: <bob@x>").
    const lead = /^\s*(?:(?:recipient(?: address)?|address|rcpt(?: to)?)\s*:\s*)?[<"'(]?(\S+)/i.exec(line);
    const a = lead ? addressesIn(lead[1])[0] : undefined;
    if (
      a &&
      lead?.[1]
        .toLowerCase()
        .replace(/^[<"'(]+/, '')
        .startsWith(a) &&
      isCandidate(a)
    ) {
      leadLines.push(i);
      if (!leadingSet.has(a)) {
        leadingSet.add(a);
        leading.push(a);
      }
    }
  }
  // Those only named by a quoted To: or Cc: are the returned message's addressees, not failed
  // recipients, when other addresses are there.
  const named = anywhere.filter((a) => outsideHeaders.has(a));
  const chosen = leading.length > 0 ? leading : named.length > 0 ? named : anywhere;
  if (chosen.length === 0) return [{ recipient: null, block: explanation }];

  // Where each recipient's text starts: every line it opens (or its first mention).
  const leadOf = new Map<number, string>();
  for (const i of leadLines) {
    const a = addressesIn(lines[i])[0];
    if (a) leadOf.set(i, a);
  }
  const boundaries = leading.length > 0 ? leadLines : chosen.map((a) => firstLine.get(a) ?? 0);
  const indent = (i: number) => (lines[i] ?? '').length - (lines[i] ?? '').trimStart().length;
  // A segment ends where an address opens a line at the same or a lower indentation (a deeper
  // one is a continuation line quoting the address): the next boundary whose indentation is not
  // deeper, found for all boundaries at once with a stack (linear, however many lines).
  const sorted = [...new Set(boundaries)].sort((a, b) => a - b);
  const endOf = new Map<number, number>();
  const open: number[] = [];
  for (const b of sorted) {
    while (open.length > 0 && indent(b) <= indent(open[open.length - 1])) endOf.set(open.pop() as number, b);
    open.push(b);
  }
  // A segment is cut at BLOCK_CHARS: nested indentation could otherwise make every segment run
  // to the end of the text (recipients × text length).
  // With several recipients, it also ends at a section heading: the last one of a list must not
  // take in what follows (Sendmail's "----- Transcript of session follows -----", whose replies
  // are each about the recipient its own lines name; Courier's and Exim's rules of dashes). With
  // one, what follows is about it too.
  const several = chosen.length > 1;
  const segment = (from: number) => {
    const end = endOf.get(from) ?? lines.length;
    let to = from;
    for (let n = 0; to < end && n < BLOCK_CHARS; to++) {
      if (several && to > from && SECTION.test(lines[to])) break;
      n += lines[to].length + 1;
    }
    return lines.slice(from, to).join('\n');
  };
  const linesOf = new Map<string, number[]>();
  for (const i of leadLines) {
    const a = leadOf.get(i);
    if (a === undefined) continue;
    const list = linesOf.get(a);
    if (list) list.push(i);
    else linesOf.set(a, [i]);
  }
  return chosen.map((recipient) => {
    const froms = leading.length > 0 ? (linesOf.get(recipient) ?? []) : [firstLine.get(recipient) ?? 0];
    // Its segments, up to about BLOCK_CHARS: the same address may open thousands of lines.
    const parts = new Set<string>();
    let size = 0;
    for (const from of froms) {
      if (size >= BLOCK_CHARS) break;
      const part = segment(from);
      if (!parts.has(part)) size += part.length;
      parts.add(part);
    }
    let block = [...parts].join('\n');
    if (
      block.replace(new RegExp(escapeRe(recipient), 'gi'), '').replace(/[\s<>"':;,.()[\]]/g, '').length < 8
    ) {
      // Nothing said after the address: the reason is elsewhere in the text (often before it).
      block = explanation;
    }
    return { recipient, block };
  });
}

/**
 * A line that opens a new section of a notice: a run of five dashes or more at its start (Smail
 * 3's banners open with a bar: "|------------------------- Failed addresses follow: ---|").
 */
const SECTION = /^\s*\|?-{5,}/;

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * How much of a text the wording searches read (the SMTP command, the server's reply): as for the
 * phrase tables, what matters is near the start, and a bounded head bounds their cost.
 */
export const SCAN_CHARS = 16 * 1024;

/** What serverReplyIn needs of a block, whoever the recipient. */
interface ReplyFacts {
  /** the reply after "said:" or from the first SMTP reply line, collapsed; null when neither */
  reply: string | null;
  /** else the block's lines, collapsed, with what is left of each without punctuation */
  lines: { line: string; bare: string }[];
}

const REPLY_CHARS = 1000;

const replyFacts = memoised((block: string): ReplyFacts => {
  const text = block.slice(0, SCAN_CHARS).replace(/\r\n?/g, '\n');
  // Postfix's smtp client quotes a greeting it was refused with "host x refused to talk to me:
  // <reply>" (smtp_proto.c), as it quotes others with "said:".
  const said =
    /(?:said|returned was|error message|with the following error message|server message|failed with|refused\s+to\s+talk\s+to\s+me)\s*:\s*([\s\S]+)/i.exec(
      text,
    ) ??
    // Exchange's NDRs: "Remote Server returned '550 5.1.1 ...'", the reply in quotes.
    /\bremote server returned '([^']{1,2000})'/i.exec(text);
  const found =
    said?.[1] ?? /(?:^|\n)\s*((?:[45]\d\d[\s-]+|#?[45]\.\d{1,3}\.\d{1,3}\s)[\s\S]*)/.exec(text)?.[1] ?? null;
  // A reply ends where the notice's next section starts: no reply holds a line of dashes, nor a
  // blank line (RFC 5321 4.2.1: a multiline reply's lines follow each other).
  const reply = found?.split(/\n(?=[ \t]*\|?-{5,})|\n[ \t]*\r?\n/, 1)[0] ?? null;
  if (reply !== null) return { reply: reply.replace(/\s+/g, ' ').trim().slice(0, REPLY_CHARS), lines: [] };
  const lines = text
    .split('\n')
    .map((l) => ({ line: l.replace(/\s+/g, ' ').trim(), bare: l.replace(/[\s<>"':;,.()[\]]/g, '') }))
    .filter((l) => l.line !== '');
  return { reply: null, lines };
});

/**
 * The reply a text block quotes: after "said:" (and the like), or from its first line that starts
 * with a failure's reply code or status; null when it quotes none.
 */
export function quotedServerReply(block: string): string | null {
  return replyFacts(block).reply || null;
}

/**
 * The part of a text block that the remote server said: from the first SMTP reply line, or
 * after "said:", else the block itself without its address line; white space collapsed, at most
 * REPLY_CHARS.
 */
export function serverReplyIn(block: string, recipient: string | null): string | null {
  const facts = replyFacts(block);
  if (facts.reply !== null) return facts.reply === '' ? null : facts.reply;
  const kept: string[] = [];
  let size = 0;
  for (const { line, bare } of facts.lines) {
    if (size > REPLY_CHARS) break;
    if (recipient && bare === recipient) continue;
    kept.push(line);
    size += line.length + 1;
  }
  const collapsed = kept.join(' ').slice(0, REPLY_CHARS);
  return collapsed === '' ? null : collapsed;
}
