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

/** Whether a normalised (lower-case, single-spaced) text uses the wording of a reason. */
export function matches(reason: string, text: string): boolean {
  if (!text) return false;
  const rules = PHRASES[reason];
  if (!rules) return false;
  for (const rule of rules) {
    if (typeof rule === 'string' ? text.includes(rule) : rule.test(text)) return true;
  }
  return false;
}

/** Lower-cases a text and collapses its white space, for matching. */
export function normalise(text: string | null | undefined): string {
  return (text ?? '').toLowerCase().replace(/\s+/g, ' ').trim();
}
