import type { EntityManager } from '@mikro-orm/postgresql';
import type { AppServices, AuthedContext, Context } from '../../context.js';
import { badInput, conflict, notFound } from '../../shared/errors.js';
import { isUuid } from '../../shared/ids.js';
import { mutate } from '../audit/audit.service.js';
import { hashSecret, MAX_EMAIL, newSecret, normaliseEmail } from '../users/credentials.js';

/** A link is valid this long: two days leaves a weekend's margin without living for ever. */
export const TOKEN_HOURS = 48;
export const MAX_SENDERS = 100;
export const MAX_SENDER_NAME = 200;
/** newSecret('snd'): the prefix and 32 random bytes in base64url. */
const TOKEN = /^snd_[A-Za-z0-9_-]{43}$/;
// A From header carries both: a line break or control character there is header injection, and
// bidirectional overrides make a name read as another. (Other format characters stay: emoji
// sequences need the zero-width joiner.)
const CONTROL = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

export type SenderStatus = 'PENDING' | 'VERIFIED';

export interface SenderView {
  id: string;
  email: string;
  name: string | null;
  status: SenderStatus;
  createdBy: string | null;
  createdAt: Date;
  verifiedAt: Date | null;
}

const SELECT = `select s.id, s.email, s.name, s.status, s.created_by as "createdBy",
  s.created_at as "createdAt", s.verified_at as "verifiedAt" from sender s`;

/**
 * Whether `email` is a VERIFIED sender of the account, ignoring case: what an operation's from
 * address must be. False for anything that cannot be one (not a string, too long, bad account id).
 */
export async function isVerifiedSender(
  em: EntityManager,
  accountId: string,
  email: string,
): Promise<boolean> {
  if (typeof email !== 'string' || !email || email.length > MAX_EMAIL || !isUuid(accountId)) return false;
  const rows = await em.execute<{ ok: number }[]>(
    `select 1 as ok from sender where account_id = ? and lower(email) = lower(?) and status = 'VERIFIED'`,
    [accountId, email.trim()],
  );
  return rows.length > 0;
}

/** Every sender of the account by address (at most MAX_SENDERS, so no pages). */
export async function listSenders(em: EntityManager, accountId: string): Promise<SenderView[]> {
  return em.execute<SenderView[]>(`${SELECT} where s.account_id = ? order by s.email, s.id`, [accountId]);
}

async function findSender(em: EntityManager, accountId: string, id: string): Promise<SenderView> {
  const rows = isUuid(id)
    ? await em.execute<SenderView[]>(`${SELECT} where s.account_id = ? and s.id = ?`, [accountId, id])
    : [];
  if (!rows[0]) throw notFound('Sender');
  return rows[0];
}

function checkEmail(raw: string): string {
  if (CONTROL.test(raw)) throw badInput('email must not contain control characters', { field: 'email' });
  const email = normaliseEmail(raw);
  // SMTPUTF8 is not universal: an IDN domain is written in its ASCII (punycode) form.
  if (!/^[\x21-\x7e]+$/.test(email))
    throw badInput('email must be ASCII (write an international domain in its xn-- form)', {
      field: 'email',
    });
  return email;
}

function checkSenderName(raw: string | null | undefined): string | null {
  if (raw === null || raw === undefined) return null;
  const name = raw.trim();
  if (!name) return null;
  if (CONTROL.test(name))
    throw badInput('name must not contain control characters or line breaks', { field: 'name' });
  if (name.length > MAX_SENDER_NAME)
    throw badInput(`name must have at most ${MAX_SENDER_NAME} characters`, { field: 'name' });
  return name;
}

/**
 * Adds a PENDING sender and mails a one-time confirmation link to the address itself. Adding a
 * PENDING one again mails a fresh link and voids the previous one (its hash is replaced);
 * a VERIFIED one is a CONFLICT.
 */
export async function addSender(
  ctx: AuthedContext,
  input: { email: string; name?: string | null },
): Promise<SenderView> {
  const email = checkEmail(input.email);
  const name = checkSenderName(input.name);
  const { accountId, userId } = ctx.viewer;
  return mutate(ctx, async ({ em, audit }) => {
    const secret = newSecret('snd');
    const expires = new Date(Date.now() + TOKEN_HOURS * 3_600_000);
    // One statement whatever the race: a concurrent add of the same address lands on the row the
    // first one made (the unique index), then both go through the PENDING/VERIFIED rules below.
    await em.execute(
      `insert into sender (account_id, email, name, created_by) values (?, ?, ?, ?)
       on conflict (account_id, lower(email)) do nothing`,
      [accountId, email, name, userId],
    );
    const [row] = await em.execute<(SenderView & { fresh: boolean })[]>(
      `select s.id, s.status, s.name, (s.token_hash is null) as fresh from sender s
        where s.account_id = ? and lower(s.email) = lower(?) for update`,
      [accountId, email],
    );
    if (row.status === 'VERIFIED')
      throw conflict(`${email} is already a verified sender`, { field: 'email', existingSenderId: row.id });
    if (row.fresh) {
      const [{ n }] = await em.execute<{ n: number }[]>(
        'select count(*)::int as n from sender where account_id = ?',
        [accountId],
      );
      if (n > MAX_SENDERS) throw badInput(`An account has at most ${MAX_SENDERS} senders: remove one first`);
    }
    await em.execute(
      `update sender set token_hash = ?, token_expires_at = ?, token_used_at = null,
         name = coalesce(?, name) where id = ?`,
      [secret.hash, expires, name, row.id],
    );
    const link = `${ctx.app.config.publicUrl}/senders/confirm/${secret.token}`;
    await ctx.app.mailer.send(em, {
      accountId,
      to: email,
      subject: 'Confirm this address as a Cible sender',
      text: [
        `${ctx.viewer.email} wants to send emails from ${email} with Cible.`,
        `If this is your address and you agree, open this link and press "Confirm" (valid ${TOKEN_HOURS} hours, usable once):`,
        link,
        '',
        'If you did not expect this, ignore this mail: nothing is sent from this address without the confirmation.',
      ].join('\n'),
    });
    audit({
      action: row.fresh ? 'addSender' : 'resendSenderConfirmation',
      feature: 'SETTINGS',
      objectType: 'Sender',
      objectId: row.id,
      diff: row.fresh ? { email: { from: null, to: email }, name: { from: null, to: name } } : { email },
    });
    return findSender(em, accountId, row.id);
  });
}

/** Removes a sender of the account (NOT_FOUND otherwise); its pending link dies with it. */
export async function removeSender(ctx: AuthedContext, id: string): Promise<string> {
  const { accountId } = ctx.viewer;
  if (!isUuid(id)) throw notFound('Sender');
  return mutate(ctx, async ({ em, audit }) => {
    const [row] = await em.execute<{ id: string; email: string; status: string }[]>(
      'delete from sender where account_id = ? and id = ? returning id, email, status',
      [accountId, id],
    );
    if (!row) throw notFound('Sender');
    audit({
      action: 'removeSender',
      feature: 'SETTINGS',
      objectType: 'Sender',
      objectId: row.id,
      diff: { email: row.email, status: row.status },
    });
    return row.id;
  });
}

export type TokenState =
  | { kind: 'unknown' }
  | { kind: 'expired'; email: string }
  | { kind: 'used'; email: string }
  | { kind: 'valid'; email: string };

interface TokenRow {
  id: string;
  accountId: string;
  email: string;
  expired: boolean;
  used: boolean;
}

async function tokenRow(em: EntityManager, token: string, lock: boolean): Promise<TokenRow | null> {
  if (!TOKEN.test(token)) return null;
  const [row] = await em.execute<TokenRow[]>(
    `select id, account_id as "accountId", email, token_expires_at <= clock_timestamp() as expired,
       token_used_at is not null as used from sender where token_hash = ?${lock ? ' for update' : ''}`,
    [hashSecret(token)],
  );
  return row ?? null;
}

const stateOf = (row: TokenRow | null): TokenState =>
  !row
    ? { kind: 'unknown' }
    : row.used
      ? { kind: 'used', email: row.email }
      : row.expired
        ? { kind: 'expired', email: row.email }
        : { kind: 'valid', email: row.email };

/** What a link would do, without doing it (GET: link scanners follow every link they see). */
export async function peekSenderToken(app: AppServices, token: string): Promise<TokenState> {
  return stateOf(await tokenRow(app.orm.em.fork(), token, false));
}

/**
 * Confirms the sender a link names (POST). Under the row's lock, so two presses of the button
 * verify once: the second finds the token used and changes nothing. `valid` in the answer means
 * this call verified it.
 */
export async function confirmSenderToken(
  app: AppServices,
  token: string,
  ip: string | null,
): Promise<TokenState> {
  if (!TOKEN.test(token)) return { kind: 'unknown' };
  const ctx: Context = { app, em: app.orm.em.fork(), viewer: null, ip };
  return mutate(ctx, async ({ em, audit }) => {
    const row = await tokenRow(em, token, true);
    const state = stateOf(row);
    if (state.kind !== 'valid' || !row) return state;
    await em.execute(
      `update sender set status = 'VERIFIED', verified_at = clock_timestamp(), token_used_at = clock_timestamp()
        where id = ?`,
      [row.id],
    );
    audit({
      action: 'confirmSender',
      feature: 'SETTINGS',
      objectType: 'Sender',
      objectId: row.id,
      accountId: row.accountId,
      diff: { email: row.email, status: { from: 'PENDING', to: 'VERIFIED' } },
    });
    return state;
  });
}
