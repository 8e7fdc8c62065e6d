import { createHmac, timingSafeEqual } from 'node:crypto';
import { isRowId, isUuid } from '../../shared/ids.js';

/**
 * VERP (variable envelope return path): the envelope sender of each message of a send is
 * `bounces+<token>@<bounce domain>`, where the token names the operation and the contact. A DSN
 * goes back to that address, so it says which send it returns even when it names an address we
 * never sent to (a forward), no original headers, or nothing we could parse as a recipient.
 *
 * The token is 32 bytes in lower-case base32 (52 characters; "bounces+" and it make 60, within
 * SMTP's 64 for a local part): the operation id (16 bytes), the contact id (8 bytes, big-endian)
 * and the first 8 bytes of an HMAC-SHA256 of both with the tracking key. Base32 because MTAs and
 * mailbox software fold the case of local parts; signed because an inbound DSN is believed on the
 * strength of its token alone: a forged one must not bounce another contact (2^64 guesses for one).
 */
export const VERP_LOCAL = 'bounces';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const TOKEN_CHARS = 52;
const MAC_BYTES = 8;
/** Domain separation: no other signed value of ours (tracking tokens: 'v1.') shares the prefix. */
const CONTEXT = 'verp1:';

export interface VerpTarget {
  operationId: string;
  contactId: string;
}

/** The return path of `operationId`'s message to `contactId`. */
export function verpAddress(key: Buffer, target: VerpTarget, domain: string): string {
  if (!isUuid(target.operationId) || !isRowId(target.contactId))
    throw new Error('cannot sign a return path: not an operation id and a contact id');
  const body = Buffer.alloc(24);
  Buffer.from(target.operationId.replace(/-/g, ''), 'hex').copy(body, 0);
  body.writeBigUInt64BE(BigInt(target.contactId), 16);
  return `${VERP_LOCAL}+${base32(Buffer.concat([body, mac(key, body)]))}@${domain}`;
}

/** The target of a token this server signed; null for anything else. */
export function verifyVerpToken(key: Buffer, token: string): VerpTarget | null {
  const bytes = unbase32(token.toLowerCase());
  if (!bytes || bytes.length !== 24 + MAC_BYTES) return null;
  const body = bytes.subarray(0, 24);
  if (!timingSafeEqual(bytes.subarray(24), mac(key, body))) return null;
  const hex = body.subarray(0, 16).toString('hex');
  const operationId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  const contactId = body.readBigUInt64BE(16).toString();
  return isRowId(contactId) ? { operationId, contactId } : null;
}

const CANDIDATE = new RegExp(`${VERP_LOCAL}\\+([a-z2-7]{${TOKEN_CHARS}})@`, 'gi');

/**
 * The signed targets named in `texts` (the envelope recipient first, then the message), in order
 * of appearance, without repeats: a DSN is addressed to the return path (To, Delivered-To,
 * X-Original-To) and usually quotes the original's headers (its Return-Path). Unsigned or altered
 * tokens are skipped, so a forged address cannot hide or replace the real one.
 */
export function verpTargetsIn(key: Buffer, texts: readonly (string | null | undefined)[]): VerpTarget[] {
  const out: VerpTarget[] = [];
  const seen = new Set<string>();
  for (const text of texts) {
    if (!text) continue;
    for (const m of text.matchAll(CANDIDATE)) {
      const t = verifyVerpToken(key, m[1]);
      const id = t && `${t.operationId}/${t.contactId}`;
      if (t && id && !seen.has(id)) {
        seen.add(id);
        out.push(t);
      }
    }
  }
  return out;
}

function mac(key: Buffer, body: Buffer): Buffer {
  return createHmac('sha256', key).update(CONTEXT).update(body).digest().subarray(0, MAC_BYTES);
}

/** RFC 4648 base32, lower case, no padding. */
function base32(bytes: Buffer): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(acc << (5 - bits)) & 31];
  return out;
}

/** The bytes of a lower-case base32 text; null when a character is not base32 or bits are left over. */
function unbase32(text: string): Buffer | null {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const ch of text) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) return null;
    acc = (acc << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((acc >>> (bits - 8)) & 255);
      bits -= 8;
    }
    acc &= (1 << bits) - 1;
  }
  // Non-zero padding bits would let two texts decode to one token: only the canonical one counts.
  if (acc !== 0) return null;
  return Buffer.from(out);
}
