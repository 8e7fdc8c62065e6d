import { ConfigError, flag, wholeNumber } from '../../config.js';

export interface WebhookConfig {
  /**
   * WEBHOOKS_ALLOW_PRIVATE: deliver to http URLs and private addresses (loopback, LAN). Off by
   * default with DATABASE_URL (a deployment: receivers are on the internet, and a URL pointing
   * inside the network would let an editor probe it); on by default on the embedded database,
   * where the server and its test receivers run on one machine.
   */
  allowPrivate: boolean;
  /** Webhooks one process delivers to at the same time (each one in order, on its own). */
  concurrency: number;
  /** How often a process looks for deliveries that came due. */
  dispatchMs: number;
  /** One attempt's whole time, connection to last byte; at most half the lease. */
  timeoutMs: number;
  /**
   * How long a claim holds its rows: a process that dies holding some leaves them to others after
   * this. A batch stops taking rows at half of it, so its last attempt ends within it.
   */
  leaseMs: number;
  /** Successful and filtered deliveries are deleted after this many days; failed ones are kept. */
  retentionDays: number;
  /** Failing without one success for this long puts a webhook in FAILING. */
  failingAfterHours: number;
}

export function loadWebhookConfig(env: NodeJS.ProcessEnv, embedded: boolean): WebhookConfig {
  const timeoutMs = wholeNumber(env, 'WEBHOOK_TIMEOUT_MS', 15_000, 100, 30_000);
  const leaseMs = wholeNumber(env, 'WEBHOOK_LEASE_SECONDS', 60, 2, 3600) * 1000;
  if (timeoutMs > leaseMs / 2)
    throw new ConfigError('WEBHOOK_TIMEOUT_MS must be at most half of WEBHOOK_LEASE_SECONDS');
  return {
    allowPrivate: flag(env, 'WEBHOOKS_ALLOW_PRIVATE', embedded),
    concurrency: wholeNumber(env, 'WEBHOOK_CONCURRENCY', 8, 1, 256),
    dispatchMs: wholeNumber(env, 'WEBHOOK_DISPATCH_MS', 1000, 100, 3_600_000),
    timeoutMs,
    leaseMs,
    retentionDays: wholeNumber(env, 'WEBHOOK_RETENTION_DAYS', 30, 1, 3650),
    failingAfterHours: wholeNumber(env, 'WEBHOOK_FAILING_AFTER_HOURS', 120, 1, 8760),
  };
}
