import { need } from '../../builder.js';
import type { Context } from '../../context.js';
import { batched } from '../../shared/batch.js';
import { User } from './user.entity.js';

/**
 * The user of the viewer's account who wrote something (createdBy, updatedBy of segments,
 * senders, webhooks...), for a whole page in one query; null when deleted or unknown.
 */
export async function colleagueOf(ctx: Context, id: string | null) {
  const accountId = ctx.viewer?.accountId;
  if (!accountId || !id) return null;
  const found = await batched(ctx.em, 'users.colleague', id, async (ids) => {
    const users = await ctx.em.find(User, {
      id: { $in: ids },
      account: accountId,
      status: { $ne: 'DELETED' },
    });
    return new Map(users.map((u) => [u.id, u]));
  });
  return found ?? null;
}

/**
 * A User shows every right and the email of a colleague: what USERS >= GUEST reads, whatever
 * feature the object holding the field belongs to. Below it the field is null, not an error.
 */
export const inUsers = {
  authScopes: need('USERS', 'GUEST'),
  unauthorizedError: () => 'hidden: USERS >= GUEST reads users',
  unauthorizedResolver: () => null,
} as const;
