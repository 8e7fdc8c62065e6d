import type { Context } from '../../context.js';

/**
 * Counts one attempt under `key` in login_throttle, in one statement, and returns the count in the
 * current window (`windowMinutes` long, started by its first attempt). Counted before the attempt
 * is served, so however many arrive at once, on however many processes, the count is exact.
 * With `unlessLocked`, a key whose lock holds is not counted (its row is left as it is) and the
 * answer is Infinity. Login counts per email; sign-up per client address (signup.throttle.ts).
 */
export async function countAttempt(
  ctx: Context,
  key: string,
  windowMinutes: number,
  opts: { unlessLocked?: boolean } = {},
): Promise<number> {
  const [counted] = await ctx.app.orm.em.getConnection().execute<{ attempts: number }[]>(
    `insert into login_throttle (email, failures, window_start) values (?, 1, now())
     on conflict (email) do update set
       failures = case when login_throttle.window_start > now() - make_interval(mins => ?) then login_throttle.failures + 1 else 1 end,
       window_start = case when login_throttle.window_start > now() - make_interval(mins => ?) then login_throttle.window_start else now() end
     ${opts.unlessLocked ? 'where login_throttle.locked_until is null or login_throttle.locked_until <= now()' : ''}
     returning failures as attempts`,
    [key, windowMinutes, windowMinutes],
  );
  return counted?.attempts ?? Number.POSITIVE_INFINITY;
}
