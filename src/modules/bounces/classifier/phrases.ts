/**
 * Wording used by mail servers for each bounce reason (lists in phrases-*.ts). Texts are compared
 * lower-cased with white space collapsed. Plain strings are substrings; regular expressions cover
 * phrases with a variable part (an address, a host name...).
 */

import { PhraseIndex } from './matcher.js';
import { TextMemo } from './memo.js';
import { RECIPIENT_PHRASES } from './phrases-recipient.js';
import { SENDER_PHRASES } from './phrases-sender.js';
import { SISIMAI_TABLE_PHRASES } from './phrases-sisimai.js';
import { TRANSPORT_PHRASES } from './phrases-transport.js';

type Rule = string | RegExp;

const OWN: Readonly<Record<string, readonly Rule[]>> = {
  ...RECIPIENT_PHRASES,
  ...SENDER_PHRASES,
  ...TRANSPORT_PHRASES,
};

export const PHRASES: Readonly<Record<string, readonly Rule[]>> = Object.fromEntries(
  [...new Set([...Object.keys(OWN), ...Object.keys(SISIMAI_TABLE_PHRASES)])].map((reason) => [
    reason,
    [...(OWN[reason] ?? []), ...(SISIMAI_TABLE_PHRASES[reason] ?? [])],
  ]),
);

const INDEX = new PhraseIndex(
  Object.entries(PHRASES).flatMap(([reason, rules]) =>
    rules.filter((r): r is string => typeof r === 'string').map((r) => [r, reason] as const),
  ),
);
const PATTERNS = Object.entries(PHRASES).map(
  ([reason, rules]) => [reason, rules.filter((r): r is RegExp => typeof r !== 'string')] as const,
);

/**
 * How much of a text the phrase tables read. What a bounce says about a recipient is near its
 * start (the largest explanation in the corpus is 8.6 KB); the rest of a long text is the same
 * explanation repeated or padding, and reading it would make the cost grow with it.
 */
export const PHRASE_CHARS = 16 * 1024;

interface Verdicts {
  /** The head the tables read, underscores as spaces. */
  head: string;
  literal: Set<string>;
  pattern: Map<string, boolean>;
}

/** Verdicts per text (see memo.ts): each distinct text is read once. */
const verdicts = new TextMemo<Verdicts>();

/**
 * Whether a normalised (lower-case, single-spaced) text uses the wording of a reason. Words joined
 * by underscores count as words: some servers give their reason as an identifier ("550
 * BAD_RECIPIENT - see http://...undelivered.php?r=BAD_RECIPIENT", BounceParser's corpus), and no
 * phrase of the tables holds an underscore.
 */
export function matches(reason: string, text: string): boolean {
  if (!text) return false;
  const v = verdicts.get(text, (t) => {
    const head = t.slice(0, PHRASE_CHARS).replace(/_/g, ' ');
    return { head, literal: INDEX.labelsIn(head), pattern: new Map() };
  });
  if (v.literal.has(reason)) return true;
  let found = v.pattern.get(reason);
  if (found === undefined) {
    found = (PATTERNS.find(([r]) => r === reason)?.[1] ?? []).some((re) => re.test(v.head));
    v.pattern.set(reason, found);
  }
  return found;
}

const normalised = new TextMemo<string>();

/**
 * Lower-cases a text and collapses its white space, for matching; only the head the phrase
 * tables read (twice PHRASE_CHARS, for runs of white space) is kept. Memoised like the verdicts.
 */
export function normalise(text: string | null | undefined): string {
  if (!text) return '';
  return normalised.get(text, (t) =>
    t
      .slice(0, 2 * PHRASE_CHARS)
      .toLowerCase()
      .replace(/\s+/g, ' ')
      .trim(),
  );
}
