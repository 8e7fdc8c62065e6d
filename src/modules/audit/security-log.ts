import type { Context } from '../../context.js';

/**
 * Denied attempts never reach the action history (nothing happened), but they are kept in a
 * security log for the operators. Written outside the request's transaction, best effort.
 */
export function recordDenied(ctx: Context, operation: string): void {
  const conn = ctx.app.orm.em.getConnection();
  conn
    .execute('insert into security_event (account_id, user_id, kind, operation, ip) values (?, ?, ?, ?, ?)', [
      ctx.viewer?.accountId ?? null,
      ctx.viewer?.userId ?? null,
      ctx.viewer ? 'FORBIDDEN' : 'UNAUTHENTICATED',
      operation,
      ctx.ip,
    ])
    .catch((err: unknown) => ctx.app.logger.warn('could not write the security log', err));
}

export function recordSecurityEvent(
  ctx: Context,
  kind: string,
  detail: string,
  who: { accountId?: string | null; userId?: string | null } = {},
): void {
  ctx.app.orm.em
    .getConnection()
    .execute('insert into security_event (account_id, user_id, kind, detail, ip) values (?, ?, ?, ?, ?)', [
      who.accountId ?? null,
      who.userId ?? null,
      kind,
      detail,
      ctx.ip,
    ])
    .catch((err: unknown) => ctx.app.logger.warn('could not write the security log', err));
}
