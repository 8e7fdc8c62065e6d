import type { Context } from '../../context.js';
import { AppError } from '../../shared/errors.js';
import { recordSecurityEvent } from '../audit/security-log.js';
import { countAttempt } from './throttle.js';

/**
 * signUp answers CONFLICT for an email that has an account: its answer is a working session, so
 * a pretended success would be found out on the next call. What that tells is bounded instead:
 * at most `max` sign-ups per client address (IPv6: per /64) per window, counted atomically before
 * the email is looked at, so parallel attempts cannot get more answers through.
 */
export const SIGNUP_LIMIT = { max: 20, windowMinutes: 60 } as const;
const signUpLimit: { max: number; windowMinutes: number } = { ...SIGNUP_LIMIT };

/** Changes this process's sign-up limit (tests). */
export function setSignUpLimit(limit: Partial<typeof signUpLimit>): void {
  Object.assign(signUpLimit, limit);
}

/**
 * The throttle key of a client address. Upper case: login lower-cases the emails it counts under,
 * so no login attempt can reach (and exhaust) an address's sign-up count.
 */
export function signUpKey(ip: string | null): string {
  if (!ip) return 'SIGNUP unknown';
  const v4 = /^(?:::ffff:)?(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (v4) return `SIGNUP ${v4[1]}`;
  // IPv6: one subscriber usually holds a whole /64, so the count is per /64.
  const [head, tail = ''] = ip.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::')
    ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `SIGNUP ${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

export async function countSignUp(ctx: Context): Promise<void> {
  const attempts = await countAttempt(ctx, signUpKey(ctx.ip), signUpLimit.windowMinutes);
  if (attempts > signUpLimit.max) {
    recordSecurityEvent(ctx, 'SIGNUP_REFUSED', `rate limited: ${ctx.ip ?? 'unknown address'}`);
    throw new AppError(
      'RATE_LIMITED',
      `Too many sign-ups from your address: at most ${signUpLimit.max} per ${signUpLimit.windowMinutes} minutes`,
    );
  }
}
