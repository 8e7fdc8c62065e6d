import { badInput } from '../../shared/errors.js';

/**
 * GSM 03.38: the basic set (one septet each) and the extension table reached through ESC (two
 * septets each). Anything else sends the whole message as UCS-2.
 */
const GSM_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
const GSM_EXTENSION = new Set('\f^{}\\[~]|€');

export interface SmsInfo {
  encoding: 'GSM_7' | 'UCS_2';
  /** GSM-7: septets (an extension character counts 2); UCS-2: UTF-16 code units (an emoji counts 2). */
  characters: number;
  /** 0 for an empty text. */
  parts: number;
}

/** Single-part capacity, then per-part capacity once the user data header takes its 6 octets. */
const CAPACITY = { GSM_7: [160, 153], UCS_2: [70, 67] } as const;

/**
 * Counts parts as phones and gateways split: an extension character's two septets (ESC + char) and
 * a surrogate pair's two units are never cut across parts, so a part may hold one unit less.
 */
function countParts(units: number[], single: number, perPart: number): number {
  const total = units.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  if (total <= single) return 1;
  let parts = 1;
  let used = 0;
  for (const u of units) {
    if (used + u > perPart) {
      parts++;
      used = 0;
    }
    used += u;
  }
  return parts;
}

export function smsInfo(text: string): SmsInfo {
  const chars = [...text]; // code points, so a surrogate pair stays one item
  if (chars.every((c) => GSM_BASIC.has(c) || GSM_EXTENSION.has(c))) {
    const units = chars.map((c) => (GSM_EXTENSION.has(c) ? 2 : 1));
    const characters = units.reduce((a, b) => a + b, 0);
    return { encoding: 'GSM_7', characters, parts: countParts(units, ...CAPACITY.GSM_7) };
  }
  const units = chars.map((c) => c.length);
  return { encoding: 'UCS_2', characters: text.length, parts: countParts(units, ...CAPACITY.UCS_2) };
}

/**
 * A "STOP" mention: the word STOP in any case, not inside another word ("nonstop", "stopped" do
 * not count); digits may follow at once ("STOP36111").
 */
const OPT_OUT = /(?<![\p{L}\p{N}_])stop(?![\p{L}_])/iu;

export function hasOptOut(text: string): boolean {
  return OPT_OUT.test(text);
}

const ALPHANUMERIC = /^[A-Za-z0-9]{1,11}$/;
const NUMBER = /^\+?[0-9]{3,15}$/;

/**
 * A sender id: up to 11 ASCII letters and digits with at least one letter (carriers refuse other
 * characters or replace them), or a number of 3 to 15 digits (a short code or an E.164 number).
 */
export function checkSenderId(id: string): void {
  if (ALPHANUMERIC.test(id) && /[A-Za-z]/.test(id)) return;
  if (NUMBER.test(id)) return;
  throw badInput(
    'senderId must be up to 11 letters and digits with at least one letter, or a number of 3 to 15 digits (optional +)',
    { field: 'senderId' },
  );
}
