import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AppServices, Context, Viewer } from '../../context.js';
import { AppError, badInput, conflict } from '../../shared/errors.js';
import { completeRights, ownerRights } from '../access/access.js';
import { Account, DEFAULT_SETTINGS } from '../account/account.entity.js';
import { mutate } from '../audit/audit.service.js';
import { recordSecurityEvent } from '../audit/security-log.js';
import { grantAllowance, ormExec } from '../credits/credit.service.js';
import {
  checkName,
  checkPassword,
  dummyHash,
  hashPassword,
  hashSecret,
  MAX_EMAIL,
  MAX_PASSWORD,
  newSecret,
  normaliseEmail,
  verifyPassword,
} from './credentials.js';
import { countSignUp } from './signup.throttle.js';
import { countAttempt } from './throttle.js';
import { Invitation, SessionToken, User, type UserRow } from './user.entity.js';
import { type LoadedViewer, viewerCache } from './viewer.cache.js';

export const SESSION_DAYS = 30;
/** Failed logins for one email within the window before it is refused for LOCK_MINUTES. */
export const MAX_FAILURES = 5;
export const WINDOW_MINUTES = 15;
export const LOCK_MINUTES = 15;

export interface AuthResult {
  token: string;
  user: UserRow;
}

/** A live session of an active user, with its rights, in one statement; or null. */
async function loadViewer(em: EntityManager, tokenHash: string): Promise<LoadedViewer | null> {
  const rows = await em.execute<Record<string, unknown>[]>(
    `select s.id as session_id, s.expires_at, u.id, u.account_id, u.email, u.is_owner, u.rights
       from session_token s join app_user u on u.id = s.user_id
      where s.token_hash = ? and s.revoked_at is null and s.expires_at > now() and u.status = 'ACTIVE'`,
    [tokenHash],
  );
  const r = rows[0];
  if (!r) return null;
  const isOwner = r.is_owner as boolean;
  return {
    viewer: {
      userId: r.id as string,
      accountId: r.account_id as string,
      email: r.email as string,
      isOwner,
      rights: isOwner ? ownerRights() : completeRights(r.rights as Record<string, string>),
      sessionId: r.session_id as string,
    },
    expiresAt: new Date(r.expires_at as string | Date).getTime(),
  };
}

const plausible = (token: string) => token.length > 0 && token.length <= 200;

/** Loads the viewer of a bearer token from the database: a live session of an active user, or null. */
export async function viewerFromToken(em: EntityManager, token: string): Promise<Viewer | null> {
  if (!plausible(token)) return null;
  return (await loadViewer(em, hashSecret(token)))?.viewer ?? null;
}

/**
 * The viewer of a bearer token for a request's context: through the app's viewer cache
 * (viewer.cache.ts), which revocations reach through `mutate`'s `announce` (audit.service.ts),
 * or straight from the database with `cache: false`. `em` is called only when the database is
 * asked.
 */
export async function cachedViewer(
  app: AppServices,
  token: string,
  em: () => EntityManager,
  opts: { cache: boolean } = { cache: true },
): Promise<Viewer | null> {
  if (!plausible(token)) return null;
  const tokenHash = hashSecret(token);
  if (!opts.cache) return (await loadViewer(em(), tokenHash))?.viewer ?? null;
  return viewerCache(app).viewer(tokenHash, () => loadViewer(em(), tokenHash));
}

export function openSession(em: EntityManager, user: UserRow, ip: string | null): string {
  const { token, hash } = newSecret('cib');
  em.create(SessionToken, {
    user,
    tokenHash: hash,
    createdAt: new Date(),
    expiresAt: new Date(Date.now() + SESSION_DAYS * 86_400_000),
    ip,
  });
  return token;
}

export async function emailTaken(em: EntityManager, email: string): Promise<boolean> {
  const rows = await em.execute(
    `select 1 from app_user where lower(email) = ? and status <> 'DELETED' limit 1`,
    [email],
  );
  return rows.length > 0;
}

export async function signUp(
  ctx: Context,
  input: { accountName: string; name: string; email: string; password: string },
): Promise<AuthResult> {
  const email = normaliseEmail(input.email);
  const name = checkName(input.name);
  const accountName = checkName(input.accountName, 'accountName');
  checkPassword(input.password);
  await countSignUp(ctx); // before the (slow) hash and before the email is looked up
  const passwordHash = await hashPassword(input.password);
  return mutate(ctx, async ({ em, audit }) => {
    if (await emailTaken(em, email))
      throw conflict('A user with this email already exists', { field: 'email' });
    const account = em.create(Account, {
      name: accountName,
      settings: { ...DEFAULT_SETTINGS },
      createdAt: new Date(),
    });
    const now = new Date();
    const user = em.create(User, {
      account,
      email,
      name,
      phone: null,
      passwordHash,
      status: 'ACTIVE',
      isOwner: true,
      rights: ownerRights(),
      createdAt: now,
      updatedAt: now,
    });
    await em.flush();
    await grantAllowance(ormExec(em), account.id, ctx.app.config.freeCredits);
    const token = openSession(em, user, ctx.ip);
    audit({
      action: 'signUp',
      feature: null,
      objectType: 'Account',
      objectId: account.id,
      diff: { accountName: { from: null, to: accountName }, owner: { from: null, to: email } },
      accountId: account.id,
      userId: user.id,
      userEmail: email,
    });
    return { token, user };
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Checks email and password. Each failure for an email slows the next answer a little; after
 * MAX_FAILURES within WINDOW_MINUTES the email is refused (RATE_LIMITED) for LOCK_MINUTES,
 * whether or not it exists, so the answers do not reveal which emails have accounts.
 */
export async function login(ctx: Context, input: { email: string; password: string }): Promise<AuthResult> {
  const email = input.email.trim().toLowerCase();
  // No account has a longer email (normaliseEmail), and the throttle's key is varchar(320): refused
  // as bad input, which says nothing about which emails have accounts.
  if (email.length > MAX_EMAIL) throw badInput('email is not a valid email address', { field: 'email' });
  const conn = ctx.app.orm.em.getConnection();
  // The attempt is counted before its password is checked, in one statement: however many
  // attempts arrive at once, on however many processes, at most MAX_FAILURES passwords are
  // checked per window. A locked email is not counted (the row is left as it is).
  const attempts = await countAttempt(ctx, email, WINDOW_MINUTES, { unlessLocked: true });
  const lock = () =>
    conn.execute(
      `update login_throttle set locked_until = now() + make_interval(mins => ?) where email = ?`,
      [LOCK_MINUTES, email],
    );
  // Over the count, refused unchecked; the lock itself comes from the checked attempts' failures,
  // so a burst of right passwords (a script logging in several times at once) locks nobody.
  if (attempts > MAX_FAILURES) {
    recordSecurityEvent(ctx, 'LOGIN_REFUSED', `locked: ${email}`);
    throw new AppError('RATE_LIMITED', `Too many failed logins: try again in ${LOCK_MINUTES} minutes`);
  }
  const user = await ctx.em.findOne(User, { email, status: 'ACTIVE' });
  let ok = false;
  // No stored password is longer than MAX_PASSWORD: a longer one cannot match, and hashing a
  // megabyte costs about a second of CPU. Refused unhashed, alike for every email.
  const checkable = input.password.length <= MAX_PASSWORD;
  if (user && checkable) ok = await verifyPassword(user.passwordHash ?? null, input.password);
  else if (checkable) await verifyPassword(await dummyHash(), input.password); // same cost whether the email exists or not
  if (!user || !ok) {
    if (attempts >= MAX_FAILURES) await lock();
    recordSecurityEvent(ctx, 'LOGIN_FAILED', email, {
      accountId: user ? (user.account as { id: string }).id : null,
    });
    await sleep(Math.min(attempts, MAX_FAILURES) * 100);
    throw new AppError('UNAUTHENTICATED', 'Invalid email or password');
  }
  await conn.execute('delete from login_throttle where email = ?', [email]);
  const accountId = (user.account as { id: string }).id;
  return mutate(ctx, async ({ em, audit }) => {
    const token = openSession(em, em.merge(user), ctx.ip);
    audit({
      action: 'login',
      feature: null,
      objectType: 'User',
      objectId: user.id,
      accountId,
      userId: user.id,
      userEmail: user.email,
    });
    return { token, user };
  });
}

export async function logout(ctx: Context & { viewer: Viewer }): Promise<boolean> {
  await mutate(
    ctx,
    async ({ em, audit }) => {
      await em.execute(
        'update session_token set revoked_at = now() where id = ?',
        [ctx.viewer.sessionId],
        'run',
      );
      audit({ action: 'logout', feature: null, objectType: 'User', objectId: ctx.viewer.userId });
    },
    // The session's sockets close and its cached viewers go before the logout entry is
    // published (see `mutate`).
    {
      revoke: () => ({ sessionIds: [ctx.viewer.sessionId] }),
      announce: () => ({ sessionIds: [ctx.viewer.sessionId] }),
    },
  );
  return true;
}

export async function acceptInvitation(
  ctx: Context,
  input: { token: string; password: string },
): Promise<AuthResult> {
  checkPassword(input.password);
  const passwordHash = await hashPassword(input.password);
  return mutate(ctx, async ({ em, audit }) => {
    const invitation = await em.findOne(
      Invitation,
      { tokenHash: hashSecret(input.token), usedAt: null, expiresAt: { $gt: new Date() } },
      // A blocking lock: a second acceptance of the same invitation waits, then sees it used
      // (lockMode 4 was SKIP LOCKED, which made it look unknown).
      { populate: ['user'], lockMode: LockMode.PESSIMISTIC_WRITE },
    );
    const user = invitation?.user;
    if (!invitation || !user || user.status !== 'INVITED') {
      throw badInput('This invitation link is invalid, already used or expired: ask for a new one');
    }
    invitation.usedAt = new Date();
    user.passwordHash = passwordHash;
    user.status = 'ACTIVE';
    user.updatedAt = new Date();
    const token = openSession(em, user, ctx.ip);
    const accountId = (user.account as { id: string }).id;
    audit({
      action: 'acceptInvitation',
      feature: 'USERS',
      objectType: 'User',
      objectId: user.id,
      diff: { status: { from: 'INVITED', to: 'ACTIVE' } },
      accountId,
      userId: user.id,
      userEmail: user.email,
    });
    return { token, user };
  });
}
