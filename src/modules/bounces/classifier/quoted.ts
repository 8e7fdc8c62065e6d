/**
 * What a notice quotes besides its own words: the reply a server gave (a line that starts with a
 * reply code), and the To: of the message it returned.
 */
import { joinReply } from './diagnostic.js';
import { explanationOf, SCAN_CHARS } from './free-text.js';
import { addressesIn, type ParsedBounce } from './parse.js';

/** The addresses of the To: header of the message a notice returned (or of its headers alone). */
export function returnedTo(mail: ParsedBounce): string[] {
  const part = mail.parts.find(
    (p) => p.contentType === 'message/rfc822' || p.contentType === 'text/rfc822-headers',
  );
  const head = part?.text.slice(0, SCAN_CHARS).split(/\r?\n\r?\n/, 1)[0] ?? '';
  const to = /^to:[ \t]*((?:.*)(?:\r?\n[ \t]+.*)*)/im.exec(head)?.[1] ?? '';
  return [...new Set(addressesIn(to))];
}

/** The reply a notice's text quotes (a line that starts with a reply code), or null. */
export function quotedReply(text: string): string | null {
  return replyLines(explanationOf(text));
}

/** The first line that starts with a failure's reply code (4xx, 5xx), and the lines after it up to a blank line. */
export function replyLines(text: string): string | null {
  // A multiline reply has no blank line (RFC 5321 4.2.1): what follows one is the notice's.
  const m = /(?:^|\n)[ \t]*([45]\d\d[ -][^\n]*(?:\n(?![ \t]*\r?\n)[^\n]*){0,20})/.exec(
    text.slice(0, SCAN_CHARS),
  );
  return m ? joinReply(m[1]) : null;
}
