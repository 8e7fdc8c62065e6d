import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuthedContext } from '../../context.js';
import { badInput, conflict, forbidden, notFound } from '../../shared/errors.js';
import { isUuid } from '../../shared/ids.js';
import { decodeCursor, type Page, pageSize, toPage } from '../../shared/pagination.js';
import {
  type AccessLevel,
  atLeast,
  completeRights,
  FEATURES,
  type Feature,
  noRights,
  type Rights,
} from '../access/access.js';
import { diffOf, mutate, type Tx } from '../audit/audit.service.js';
import { emailTaken } from './auth.service.js';
import { checkName, newSecret, normaliseEmail, normalisePhone } from './credentials.js';
import { Invitation, User, type UserRow } from './user.entity.js';

export const INVITATION_DAYS = 7;

/** A user of the viewer's account, or NOT_FOUND (also for other accounts' ids: never reveal them). */
export async function findUser(em: EntityManager, ctx: AuthedContext, id: string): Promise<UserRow> {
  const user = isUuid(id)
    ? await em.findOne(User, { id, account: ctx.viewer.accountId, status: { $ne: 'DELETED' } })
    : null;
  if (!user) throw notFound('User');
  return user;
}

export async function listUsers(
  ctx: AuthedContext,
  first?: number | null,
  after?: string | null,
): Promise<Page<UserRow>> {
  const size = pageSize(first);
  const afterKey = decodeCursor(after);
  const where: Record<string, unknown> = { account: ctx.viewer.accountId, status: { $ne: 'DELETED' } };
  if (afterKey) {
    if (!isUuid(afterKey)) throw badInput('after: not a cursor returned by this API');
    where.id = { $gt: afterKey };
  }
  const rows = await ctx.em.find(User, where, { orderBy: { id: 'asc' }, limit: size + 1 });
  return toPage(rows, size, (u) => u.id);
}

function rightsFromInput(
  input: readonly { feature: Feature; level: AccessLevel }[] | null | undefined,
): Rights {
  const rights = noRights();
  const seen = new Set<Feature>();
  for (const r of input ?? []) {
    if (seen.has(r.feature)) throw badInput(`rights: ${r.feature} is given twice`, { field: 'rights' });
    seen.add(r.feature);
    rights[r.feature] = r.level;
  }
  return rights;
}

/** Nobody grants, or takes away, a level above their own in a feature. */
function checkGrant(ctx: AuthedContext, from: Rights, to: Rights): void {
  for (const f of FEATURES) {
    if (from[f] === to[f]) continue;
    const mine = ctx.viewer.rights[f];
    if (!atLeast(mine, to[f]) || !atLeast(mine, from[f])) {
      throw forbidden(`You cannot set ${f} to ${to[f]}: your own level there is ${mine}`);
    }
  }
}

/**
 * Nobody acts on a user (details, rights, invitation, status) who holds, in any feature, a level
 * above theirs: as nobody grants above their own level, nobody overrules someone with more rights.
 * Only the owner acts on the owner; the owner acts on everyone.
 */
function checkActOn(ctx: AuthedContext, user: UserRow): void {
  if (ctx.viewer.isOwner) return;
  if (user.isOwner) throw forbidden('Only the owner acts on the owner');
  const theirs = completeRights(user.rights);
  for (const f of FEATURES) {
    const mine = ctx.viewer.rights[f];
    if (!atLeast(mine, theirs[f]))
      throw forbidden(
        `This user's ${f} level (${theirs[f]}) is above yours (${mine}): you cannot act on them`,
      );
  }
}

async function sendInvitation(tx: Tx, ctx: AuthedContext, user: UserRow): Promise<void> {
  const { token, hash } = newSecret('inv');
  tx.em.create(Invitation, {
    user,
    tokenHash: hash,
    createdAt: new Date(),
    expiresAt: new Date(Date.now() + INVITATION_DAYS * 86_400_000),
  });
  const link = `${ctx.app.config.publicUrl}/accept-invitation?token=${encodeURIComponent(token)}`;
  await tx.em.flush();
  await ctx.app.mailer.send(tx.em, {
    accountId: ctx.viewer.accountId,
    to: user.email,
    subject: 'You are invited to Cible',
    text: [
      `Hello ${user.name},`,
      '',
      `${ctx.viewer.email} invites you to their Cible account.`,
      `Choose your password with this link (valid ${INVITATION_DAYS} days, usable once):`,
      link,
      '',
      `Or call the acceptInvitation mutation with the token: ${token}`,
    ].join('\n'),
  });
}

export interface InviteInput {
  email: string;
  name: string;
  phone?: string | null;
  rights?: readonly { feature: Feature; level: AccessLevel }[] | null;
}

export async function inviteUser(ctx: AuthedContext, input: InviteInput): Promise<UserRow> {
  const email = normaliseEmail(input.email);
  const name = checkName(input.name);
  const phone = normalisePhone(input.phone);
  const rights = rightsFromInput(input.rights);
  checkGrant(ctx, noRights(), rights);
  return mutate(ctx, async (tx) => {
    if (await emailTaken(tx.em, email))
      throw conflict('A user with this email already exists', { field: 'email' });
    const now = new Date();
    const user = tx.em.create(User, {
      account: ctx.viewer.accountId,
      email,
      name,
      phone,
      passwordHash: null,
      status: 'INVITED',
      isOwner: false,
      rights,
      createdAt: now,
      updatedAt: now,
    });
    await tx.em.flush();
    await sendInvitation(tx, ctx, user);
    tx.audit({
      action: 'inviteUser',
      feature: 'USERS',
      objectType: 'User',
      objectId: user.id,
      diff: {
        email: { from: null, to: email },
        name: { from: null, to: name },
        phone: { from: null, to: phone },
        rights: { from: null, to: rights },
      },
    });
    return user;
  });
}

export async function resendInvitation(ctx: AuthedContext, id: string): Promise<UserRow> {
  return mutate(ctx, async (tx) => {
    const user = await findUser(tx.em, ctx, id);
    checkActOn(ctx, user);
    if (user.status !== 'INVITED') throw conflict('This user has already accepted their invitation');
    // Earlier links stop working: only the newest one is valid.
    await tx.em.nativeUpdate(Invitation, { user, usedAt: null }, { expiresAt: new Date() });
    await sendInvitation(tx, ctx, user);
    tx.audit({ action: 'resendInvitation', feature: 'USERS', objectType: 'User', objectId: user.id });
    return user;
  });
}

/**
 * For `mutate`: the changed user's cached viewers go, on every process, before the change's
 * history entry is published, so that entry already meets their new rights or status.
 */
const announceUser = { announce: (user: UserRow) => ({ userId: user.id }) };

export interface UpdateUserInput {
  id: string;
  name?: string | null;
  email?: string | null;
  phone?: string | null;
}

export async function updateUser(ctx: AuthedContext, input: UpdateUserInput): Promise<UserRow> {
  const changes: { name?: string; email?: string; phone?: string | null } = {};
  if (input.name != null) changes.name = checkName(input.name);
  if (input.email != null) changes.email = normaliseEmail(input.email);
  if (input.phone !== undefined) changes.phone = normalisePhone(input.phone);
  const updated = await mutate(
    ctx,
    async (tx) => {
      const user = await findUser(tx.em, ctx, input.id);
      if (user.isOwner && !ctx.viewer.isOwner) throw forbidden("Only the owner edits the owner's details");
      checkActOn(ctx, user);
      if (changes.email && changes.email !== user.email && (await emailTaken(tx.em, changes.email))) {
        throw conflict('A user with this email already exists', { field: 'email' });
      }
      const diff = diffOf({ name: user.name, email: user.email, phone: user.phone ?? null }, changes);
      tx.em.assign(user, { ...changes, updatedAt: new Date() });
      tx.audit({ action: 'updateUser', feature: 'USERS', objectType: 'User', objectId: user.id, diff });
      return user;
    },
    announceUser, // the viewer carries the email
  );
  return updated;
}

export async function setUserRights(
  ctx: AuthedContext,
  input: { userId: string; rights: readonly { feature: Feature; level: AccessLevel }[] },
): Promise<UserRow> {
  const changed = await mutate(
    ctx,
    async (tx) => {
      const user = await findUser(tx.em, ctx, input.userId);
      if (user.id === ctx.viewer.userId) throw forbidden('Nobody changes their own rights');
      if (user.isOwner) throw forbidden('The owner is APPROVER everywhere and cannot be demoted');
      checkActOn(ctx, user);
      const before = completeRights(user.rights);
      // Features not listed keep their level: a client can change one right at a time.
      const after = { ...before };
      const given = rightsFromInput(input.rights);
      for (const r of input.rights) after[r.feature] = given[r.feature];
      checkGrant(ctx, before, after);
      user.rights = after;
      user.updatedAt = new Date();
      tx.audit({
        action: 'setUserRights',
        feature: 'USERS',
        objectType: 'User',
        objectId: user.id,
        diff: diffOf(before, after),
      });
      return user;
    },
    announceUser,
  );
  return changed;
}

/** Revokes every session of the user, in the transaction, and closes their sockets after it. */
async function endSessions(tx: Tx, userId: string): Promise<void> {
  await tx.em.execute(
    'update session_token set revoked_at = now() where user_id = ? and revoked_at is null',
    [userId],
    'run',
  );
}

async function changeStatus(
  ctx: AuthedContext,
  id: string,
  action: 'deleteUser' | 'disableUser' | 'enableUser',
): Promise<UserRow> {
  const user = await mutate(
    ctx,
    async (tx) => {
      const user = await findUser(tx.em, ctx, id);
      if (user.isOwner) throw forbidden('The owner cannot be deleted or disabled');
      if (user.id === ctx.viewer.userId) throw forbidden('You cannot delete or disable yourself');
      checkActOn(ctx, user);
      const from = user.status;
      const to = action === 'deleteUser' ? 'DELETED' : action === 'disableUser' ? 'DISABLED' : 'ACTIVE';
      if (action === 'enableUser' && from !== 'DISABLED')
        throw conflict('Only a disabled user can be enabled');
      if (action === 'disableUser' && from === 'DISABLED') throw conflict('This user is already disabled');
      user.status = to;
      user.updatedAt = new Date();
      if (to !== 'ACTIVE') await endSessions(tx, user.id);
      tx.audit({
        action,
        feature: 'USERS',
        objectType: 'User',
        objectId: user.id,
        diff: { status: { from, to } },
      });
      return user;
    },
    {
      ...announceUser,
      // Their sockets close before the entry is published (as they did before it was written).
      revoke: (user) => (user.status === 'ACTIVE' ? null : { userId: user.id }),
    },
  );
  return user;
}

export const deleteUser = (ctx: AuthedContext, id: string) => changeStatus(ctx, id, 'deleteUser');
export const disableUser = (ctx: AuthedContext, id: string) => changeStatus(ctx, id, 'disableUser');
export const enableUser = (ctx: AuthedContext, id: string) => changeStatus(ctx, id, 'enableUser');
