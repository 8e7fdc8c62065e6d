import type { Context } from '../../context.js';

/**
 * Denied attempts never reach the action history (nothing happened), but they are kept in a
 * security log for the operators. Written outside the request's transaction, best effort.
 */
export function recordDenied(ctx: Context, operation: string): void {
  insertSecurityEvent(ctx, {
    kind: ctx.viewer ? 'FORBIDDEN' : 'UNAUTHENTICATED',
    operation,
    accountId: ctx.viewer?.accountId,
    userId: ctx.viewer?.userId,
  });
}

export function recordSecurityEvent(
  ctx: Context,
  kind: string,
  detail: string,
  who: { accountId?: string | null; userId?: string | null } = {},
): void {
  insertSecurityEvent(ctx, { kind, detail, ...who });
}

function insertSecurityEvent(
  ctx: Context,
  e: { kind: string; operation?: string; detail?: string; accountId?: string | null; userId?: string | null },
): void {
  ctx.app.orm.em
    .getConnection()
    .execute(
      'insert into security_event (account_id, user_id, kind, operation, detail, ip) values (?, ?, ?, ?, ?, ?)',
      [e.accountId ?? null, e.userId ?? null, e.kind, e.operation ?? null, e.detail ?? null, ctx.ip],
    )
    .catch((err: unknown) => ctx.app.logger.warn('could not write the security log', err));
}
