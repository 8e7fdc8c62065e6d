import { wholeNumber } from '../../config.js';

export interface MailConfig {
  /** How often a process looks for queued workflow mails that came due. */
  dispatchMs: number;
  /**
   * How long a worker's claim holds its mails: those of a process that died are taken over after
   * this. One SMTP exchange is cut at half of it, so a claim never ends mid-send.
   */
  leaseMs: number;
}

export function loadMailConfig(env: NodeJS.ProcessEnv): MailConfig {
  return {
    dispatchMs: wholeNumber(env, 'MAIL_DISPATCH_MS', 1000, 50, 3_600_000),
    leaseMs: wholeNumber(env, 'MAIL_LEASE_SECONDS', 60, 2, 3600) * 1000,
  };
}
