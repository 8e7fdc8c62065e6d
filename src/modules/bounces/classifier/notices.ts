/**
 * Notices that are bounces without looking like an MTA's: mailing-list managers refusing a post,
 * and Japanese carriers' notices (once decoded from ISO-2022-JP, see parse.ts).
 */
import { SCAN_CHARS } from './free-text.js';
import type { ParsedBounce } from './parse.js';

/**
 * How list managers word a refused post, in the subject or the text:
 * - fml: the error titles of its notices ("You x@y are not member (ml ML)", "NOT MEMBER article
 *   from x@y", "reject mail from x@y", "Spam mail from a spammer is rejected"), as Sisimai's
 *   Lhost::FML lists them (fml 4, https://www.fml.org/);
 * - Mailman 2: the automatic rejection ("You are not allowed to post to this mailing list, and
 *   your message has been automatically rejected") and its moderator's ("has been rejected by the
 *   list moderator"); Mailman 3: "Your message to the x mailing-list was rejected for the
 *   following reasons" (its Hold handler and list:user:notice:rejected template).
 */
export const LIST_REFUSALS = new RegExp(
  [
    String.raw`\bare not member\b`,
    String.raw`\bnot member article from\b`,
    String.raw`\breject mail (?:from )?\S+@`,
    'spam mail from a spammer is rejected',
    'not allowed to post to this (?:mailing )?list',
    'you are not a member of this (?:mailing )?list',
    'has been rejected by the list moderator',
    'mailing-list was rejected for the following reasons',
  ]
    // The templates wrap lines anywhere ("...for the following\nreasons:").
    .map((p) => p.replaceAll(' ', String.raw`\s+`))
    .join('|'),
  'i',
);

/**
 * The administrative addresses list managers write from: Mailman's list-owner@ and
 * list-bounces@, fml's list-admin@, ezmlm's list-help@ and list-owner@, Majordomo's
 * owner-list@ and list-request@.
 */
const LIST_ADMIN = /^(?:owner-[^@]+|[^@]+-(?:owner|admin|bounces?|request|help))@/;

/** Whether a message is a list manager's notice that a post was refused. */
export function isListRefusal(mail: ParsedBounce, explanation: string): boolean {
  // From the list manager itself (fml marks what it sends with X-MLServer): ordinary posts to a
  // list carry List-Id too, and may quote such wording.
  if (!mail.headers.has('x-mlserver') && !mail.from.some((a) => LIST_ADMIN.test(a))) return false;
  return LIST_REFUSALS.test(mail.subject) || LIST_REFUSALS.test(explanation.slice(0, SCAN_CHARS));
}

/**
 * A Japanese notice that mail could not be sent or delivered ("...送信できませんでした",
 * "配信できませんでした", "届けることができませんでした"): the wording of au (KDDI EZweb) and NTT
 * docomo notices, and of Japanese MTAs' templates, once decoded.
 */
export const JAPANESE_FAILURE =
  /(?:送信|配信|配達|転送)(?:することが)?できませんでした|届けることができませんでした|送信先(?:の)?メールアドレスが見つかりません/;
