import { hash, randomBytes } from 'node:crypto';
import { hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';

// Algorithm.Argon2id: the package's enum is an ambient const enum, which verbatimModuleSyntax forbids.
const ARGON2ID = 2;

import { badInput } from '../../shared/errors.js';

/** Opaque secrets (session tokens, invitation tokens): random, shown once, stored as sha256. */
export function newSecret(prefix: string): { token: string; hash: string } {
  const token = `${prefix}_${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashSecret(token) };
}

// One-shot crypto.hash: a sixth of createHash's cost, and every authorised request hashes its token.
export const hashSecret = (token: string) => hash('sha256', token, 'hex');

export const MIN_PASSWORD = 10;
export const MAX_PASSWORD = 200;

export function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD)
    throw badInput(`password must have at least ${MIN_PASSWORD} characters`);
  if (password.length > MAX_PASSWORD) throw badInput(`password must have at most ${MAX_PASSWORD} characters`);
}

/**
 * argon2id, 64 MiB, 3 passes, 4 lanes (the `argon2` package's defaults, which earlier hashes used:
 * the PHC string carries its parameters, so those still verify). @node-rs/argon2 ships prebuilt
 * binaries as per-platform npm packages: `argon2`'s prebuild crashed on load here and its fallback
 * compiles with node-gyp, which needs Node's headers from the Internet for an ordinary user.
 */
export const hashPassword = (password: string) =>
  argon2Hash(password, { algorithm: ARGON2ID, memoryCost: 65536, timeCost: 3, parallelism: 4 });

export async function verifyPassword(hash: string | null, password: string): Promise<boolean> {
  if (!hash) return false;
  try {
    return await argon2Verify(hash, password);
  } catch {
    return false;
  }
}

/** A hash to verify against when the email is unknown, so timing does not reveal accounts. */
let dummy: Promise<string> | null = null;
export const dummyHash = () => {
  dummy ??= hashPassword(randomBytes(16).toString('hex'));
  return dummy;
};

const EMAIL = /^[^\s@<>()[\],;:"]+@[^\s@<>()[\],;:"]+\.[^\s@<>()[\],;:"]+$/;

/** RFC 5321's limit, and the width of every email column. */
export const MAX_EMAIL = 320;

export function normaliseEmail(raw: string, field = 'email'): string {
  const email = raw.trim().toLowerCase();
  if (email.length > MAX_EMAIL || !EMAIL.test(email))
    throw badInput(`${field} is not a valid email address`, { field });
  return email;
}

export function normalisePhone(raw: string | null | undefined): string | null {
  if (raw === null || raw === undefined || raw.trim() === '') return null;
  const compact = raw.replace(/[\s.\-()]/g, '');
  if (!/^\+?\d{6,15}$/.test(compact)) throw badInput('phone is not a valid phone number', { field: 'phone' });
  return compact;
}

export function checkName(raw: string, field = 'name', max = 200): string {
  const name = raw.trim();
  if (!name) throw badInput(`${field} must not be empty`, { field });
  if (name.length > max) throw badInput(`${field} must have at most ${max} characters`, { field });
  return name;
}
