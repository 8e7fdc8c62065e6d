/**
 * What a notice quotes besides its own words: the reply a server gave, and the To: of the
 * message it returned.
 */
import { joinReply } from './diagnostic.js';
import { quotedServerReply, SCAN_CHARS } from './free-text.js';
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

/** The reply a text quotes (quotedServerReply), unfolded. */
export function quotedReply(text: string): string | null {
  return joinReply(quotedServerReply(text));
}
