import pg from 'pg';
import type { AppServices } from '../../context.js';
import { retryTransaction } from '../../db/retry.js';
import { type HitRow, hitKey, moveHits, stageHits } from './tracking.repository.js';

export type HitResult = 'recorded' | 'unknown' | 'failed';
interface Hit {
  row: HitRow;
  done(result: HitResult): void;
}

/** Hits written by one statement at most. */
const MAX_BATCH = 5000;
/** Staging writes in flight at once, each on its own session of the writer's pool. */
const MAX_WRITERS = 2;
/** A second write starts beside a running one only when this many hits wait (see HitWriter). */
const PARALLEL_AT = 200;
/**
 * A staged hit is moved into contact_event at most this long after its commit (plus the time of
 * a move already running): statistics, segments and scores see a hit that much after its answer.
 */
export const MOVE_EVERY_MS = 200;
/** Hits taken by one move statement at most; a move that took this many runs again at once. */
const MOVE_LIMIT = 20_000;
/** After a failed move (database out of reach), the next one waits this long. */
const MOVE_RETRY_MS = 5_000;

/**
 * Writes tracked hits by group commit, in two steps:
 * 1. A write takes every hit queued so far and commits them in one statement to tracking_hit, a
 *    table without index or trigger (stageHits); a hit is answered once that statement committed,
 *    so an answered hit is durable (synchronous_commit stays on) and survives a crash. One hit
 *    alone is written at once; under load the hits that arrive during a write make the next one.
 * 2. A move (moveHits) takes every staged hit into contact_event in one set-based statement, at
 *    most MOVE_EVERY_MS after the first hit it waits for: the machine timing rules, the four
 *    statement triggers on contact_event (activity, segments, operation statistics, the
 *    machine-flag update) and any later one run once per move of thousands of hits instead of
 *    once per write of a few dozen (at most one per client: 64 clients give at most 64 hits a
 *    write). Moves are serialised by an advisory lock across processes; one also runs when the
 *    writer starts (hits a crashed process staged) and when it closes.
 *
 * Measured with bench/events.ts (64 clients), see the README. A second staging write starts only
 * when PARALLEL_AT hits wait, i.e. when one statement at a time no longer keeps up.
 *
 * Its own small pool (the writes and one move): the statements are prepared once per session
 * (their plans reused), and GraphQL traffic on the ORM's pool can neither starve the tracking
 * writes nor be starved by a burst of hits.
 */
export class HitWriter {
  private queue: Hit[] = [];
  private writers = 0;
  private pool: pg.Pool | null = null;
  private moveTimer: NodeJS.Timeout | null = null;
  private moving: Promise<void> | null = null;
  /** When the oldest staged hit that no running move is sure to take was committed. */
  private waitingSince: number | null = null;
  private closed = false;

  constructor(private app: AppServices) {
    this.waitingSince = Date.now(); // what a stopped or crashed process left staged
    this.scheduleMove();
  }

  record(
    p: { a: string; c: string; o?: string },
    row: Omit<HitRow, 'account_id' | 'contact_id'>,
  ): Promise<HitResult> {
    return new Promise((done) => {
      this.queue.push({ row: { account_id: p.a, contact_id: p.c, ...row }, done });
      if (this.writers === 0 || (this.writers < MAX_WRITERS && this.queue.length >= PARALLEL_AT))
        void this.run();
    });
  }

  /**
   * Moves what is staged, then ends the pool; server.ts calls it after the last request drained,
   * so a clean stop leaves nothing staged (what a failed final move leaves, the next start moves).
   */
  async close(): Promise<void> {
    this.closed = true;
    if (this.moveTimer) clearTimeout(this.moveTimer);
    this.moveTimer = null;
    await this.moving;
    if (this.pool) await this.moveAll();
    const pool = this.pool;
    this.pool = null;
    await pool?.end();
  }

  private sessions(): pg.Pool {
    if (!this.pool) {
      this.pool = new pg.Pool({
        connectionString: this.app.orm.config.get('clientUrl'),
        max: MAX_WRITERS + 1,
        // A database out of reach fails the batch (the pixel is still served, the click still
        // redirected) instead of holding every hit until it comes back.
        connectionTimeoutMillis: 10_000,
      });
      this.pool.on('error', (err) => this.app.logger.debug(`idle tracking session closed: ${err.message}`));
    }
    return this.pool;
  }

  private async run(): Promise<void> {
    this.writers++;
    try {
      while (this.queue.length) {
        const batch = this.queue.splice(0, MAX_BATCH);
        let known: Set<string>;
        try {
          // The signature proves we issued the link; the contact may since have been deleted, and
          // a token must never write into an account that does not own its contact: stageHits
          // writes only the hits of the accounts' existing contacts.
          known = await stageHits(
            this.sessions(),
            batch.map((h) => h.row),
          );
        } catch (err) {
          this.app.logger.error('tracking events were not recorded', err);
          for (const h of batch) h.done('failed');
          continue;
        }
        this.waitingSince ??= Date.now();
        this.scheduleMove();
        for (const h of batch)
          h.done(known.has(hitKey(h.row.account_id, h.row.contact_id)) ? 'recorded' : 'unknown');
      }
    } finally {
      this.writers--;
    }
  }

  /** Arms the move for MOVE_EVERY_MS after the oldest waiting hit, unless one is armed or running. */
  private scheduleMove(delay = MOVE_EVERY_MS - (Date.now() - (this.waitingSince ?? Date.now()))): void {
    if (this.moveTimer || this.moving || this.closed || this.waitingSince === null) return;
    this.moveTimer = setTimeout(
      () => {
        this.moveTimer = null;
        this.waitingSince = null; // what is committed from now on may miss this move's snapshot
        this.moving = this.moveAll().finally(() => {
          this.moving = null;
          this.scheduleMove();
        });
      },
      Math.max(0, delay),
    );
    this.moveTimer.unref();
  }

  private async moveAll(): Promise<void> {
    try {
      // One statement rolled back by a deadlock (with deleteContacts, say) is rerun whole.
      while ((await retryTransaction(() => moveHits(this.sessions(), MOVE_LIMIT))) === MOVE_LIMIT);
    } catch (err) {
      // Nothing is lost: the hits stay staged, and the next move takes them.
      this.app.logger.error('staged tracking hits were not moved (retried)', err);
      this.waitingSince ??= Date.now() - MOVE_EVERY_MS + MOVE_RETRY_MS;
    }
  }
}
