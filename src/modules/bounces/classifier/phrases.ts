/**
 * Wording used by mail servers for each bounce reason (lists in phrases-*.ts). Texts are compared
 * lower-cased with white space collapsed. Plain strings are substrings; regular expressions cover
 * phrases with a variable part (an address, a host name...).
 */
import { RECIPIENT_PHRASES } from './phrases-recipient.js';
import { SENDER_PHRASES } from './phrases-sender.js';
import { TRANSPORT_PHRASES } from './phrases-transport.js';

type Rule = string | RegExp;

export const PHRASES: Readonly<Record<string, readonly Rule[]>> = {
  ...RECIPIENT_PHRASES,
  ...SENDER_PHRASES,
  ...TRANSPORT_PHRASES,
};

/**
 * The verdicts of the last text asked about. One message asks about the same text many times:
 * several reasons check the same lists, and recipients whose own lines say nothing share the whole
 * explanation (hundreds of KB), so without this the work grows with recipients × text length.
 */
let lastText = '';
let lastVerdicts = new Map<string, boolean>();

/** Whether a normalised (lower-case, single-spaced) text uses the wording of a reason. */
export function matches(reason: string, text: string): boolean {
  if (!text) return false;
  if (text !== lastText) {
    lastText = text;
    lastVerdicts = new Map();
  }
  const known = lastVerdicts.get(reason);
  if (known !== undefined) return known;
  const rules = PHRASES[reason] ?? [];
  const found = rules.some((rule) => (typeof rule === 'string' ? text.includes(rule) : rule.test(text)));
  lastVerdicts.set(reason, found);
  return found;
}

/** Lower-cases a text and collapses its white space, for matching. */
export function normalise(text: string | null | undefined): string {
  return (text ?? '').toLowerCase().replace(/\s+/g, ' ').trim();
}
