import type pg from 'pg';
import type { Config } from '../../config.js';

/*
 * The two send rate limits. Per process (SEND_RATE_PER_SECOND): an in-memory pacer every worker
 * of the process awaits before each message, email and SMS alike. Per account
 * (settings.sendRatePerMinute): a token bucket in PostgreSQL, one row per account, that sizes
 * each claim, so every process, worker and operation of the account draws from the same
 * allowance and nothing is claimed that may not go out now.
 *
 * Not nodemailer's own rateLimit: it counts per transport (so not SMS), and checks the limit only
 * when a pooled connection is released, so each new connection of the pool sends one past it.
 */

/**
 * Spaces calls `1000 / ratePerSecond` ms apart (a GCRA with no burst): in any window of W ms at
 * most 1 + W × rate / 1000 pass. Each `take` reserves its slot synchronously, so concurrent
 * callers are served in call order. The clock and the sleep are parameters for the tests.
 */
export class Pacer {
  private next = 0;
  private readonly interval: number;

  constructor(
    ratePerSecond: number,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    this.interval = 1000 / ratePerSecond;
  }

  /** Resolves when the caller may send one message. */
  take(): Promise<void> {
    const now = this.now();
    const at = Math.max(now, this.next);
    this.next = at + this.interval;
    return at > now ? this.sleep(at - now) : Promise.resolve();
  }
}

/** One pacer per running app (per Config, as its transports): shared by all its workers. */
const pacers = new WeakMap<Config, Pacer | null>();

export function processPacer(config: Config): Pacer | null {
  let p = pacers.get(config);
  if (p === undefined) {
    p = config.sendRatePerSecond > 0 ? new Pacer(config.sendRatePerSecond) : null;
    pacers.set(config, p);
  }
  return p;
}

/** The bucket holds this many seconds of the rate: more than Agenda's 3 s poll (see takeAllowance). */
export const BURST_SECONDS = 5;

export interface Allowance {
  /** Messages that may be claimed now (`wanted` when the account has no limit). */
  granted: number;
  /** The account's sendRatePerMinute; null: no limit. */
  ratePerMinute: number | null;
  /** When nothing was granted: how long until a useful claim (half the bucket or `wanted`). */
  waitMs: number;
}

/** sendRatePerMinute when it is a positive number (anything else in the JSON means no limit). */
const RATE = `select case when jsonb_typeof(settings->'sendRatePerMinute') = 'number'
                           and (settings->>'sendRatePerMinute')::float8 > 0
                      then (settings->>'sendRatePerMinute')::float8 end as rate
                from account where id = $1`;

/**
 * Takes up to `wanted` messages from the account's bucket: it refills at sendRatePerMinute / 60
 * a second up to BURST_SECONDS of the rate, and starts full. One UPDATE under the bucket's row
 * lock, so concurrent claims of any process never take more than it holds: over any window of W
 * seconds the account sends at most rate × W / 60 plus the bucket. The bucket is larger than
 * Agenda's poll so a worker that comes back from `later` loses no allowance meanwhile. `at`
 * replaces the database's now() in tests.
 */
export async function takeAllowance(
  pool: pg.Pool,
  accountId: string,
  wanted: number,
  at: Date | null = null,
): Promise<Allowance> {
  const { rows } = await pool.query<{ rate: number | null }>(RATE, [accountId]);
  const rate = rows[0]?.rate ?? null;
  if (rate === null) return { granted: wanted, ratePerMinute: null, waitMs: 0 };
  const burst = bucketSize(rate);
  const take = () =>
    pool.query<{ granted: number; avail: number }>(
      `update send_allowance a set tokens = c.avail - c.granted, refilled_at = c.t
         from (select s.account_id, s.t, s.avail, least($2::int, floor(s.avail))::int as granted
                 from (select b.account_id, greatest(b.refilled_at, n.t) as t,
                              least($4::float8, b.tokens + greatest(0, extract(epoch from n.t - b.refilled_at)) * $3::float8 / 60) as avail
                         from send_allowance b, (select coalesce($5::timestamptz, now()) as t) n
                        where b.account_id = $1 for update of b) s) c
        where a.account_id = c.account_id
       returning c.granted, c.avail`,
      [accountId, wanted, rate, burst, at],
    );
  let r = await take();
  if (!r.rows.length) {
    await pool.query(
      `insert into send_allowance (account_id, tokens, refilled_at) values ($1, $2, coalesce($3::timestamptz, now()))
       on conflict (account_id) do nothing`,
      [accountId, burst, at],
    );
    r = await take();
  }
  const { granted, avail } = r.rows[0];
  const target = Math.min(wanted, Math.ceil(burst / 2));
  const waitMs = granted > 0 ? 0 : Math.ceil(((target - (avail - granted)) * 60_000) / rate);
  return { granted, ratePerMinute: rate, waitMs };
}

/** Gives back what a claim did not use (fewer recipients due than granted), up to the bucket. */
export async function refundAllowance(
  pool: pg.Pool,
  accountId: string,
  ratePerMinute: number,
  unused: number,
): Promise<void> {
  if (unused <= 0) return;
  await pool.query(
    'update send_allowance set tokens = least($3::float8, tokens + $2) where account_id = $1',
    [accountId, unused, bucketSize(ratePerMinute)],
  );
}

/** BURST_SECONDS of the rate, at least one message. */
export const bucketSize = (ratePerMinute: number) =>
  Math.max(1, Math.ceil((ratePerMinute * BURST_SECONDS) / 60));
