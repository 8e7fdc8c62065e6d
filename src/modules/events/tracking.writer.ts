import pg from 'pg';
import type { AppServices } from '../../context.js';
import { retryTransaction } from '../../db/retry.js';
import { type HitRow, insertHits } from './tracking.repository.js';

export type HitResult = 'recorded' | 'unknown' | 'failed';
interface Hit {
  accountId: string;
  row: HitRow;
  done(result: HitResult): void;
}

/** Hits written by one statement at most. */
const MAX_BATCH = 5000;
/** Writes in flight at once, each on its own session of the writer's pool. */
const MAX_WRITERS = 2;
/** A second write starts beside a running one only when this many hits wait (see HitWriter). */
const PARALLEL_AT = 200;

/**
 * Writes tracked hits by group commit: a write takes every hit queued so far, in one statement
 * per account, and a hit is answered once its statement committed. One hit alone is written at
 * once; under load the hits that arrive during a write make the next one, so the statement and
 * commit costs are shared by all of them instead of paid per hit (PERF-NOTES: batches, never row
 * by row).
 *
 * Measured with bench/events.ts (64 clients): most of the cost of a small statement is fixed
 * (planning, the four statement triggers on contact_event, the commit), so more writes in parallel
 * only split the same hits into smaller, dearer statements (4 writers: batches of 8 and 550 us of
 * PostgreSQL time per hit; 1 writer: batches of 30 and 250 us). A second write starts only when
 * PARALLEL_AT hits wait, i.e. when one statement at a time no longer keeps up.
 *
 * Its own small pool (MAX_WRITERS sessions): the statement is prepared once per session (its plan
 * is reused, not rebuilt per batch), and GraphQL traffic on the ORM's pool can neither starve the
 * tracking writes nor be starved by a burst of hits.
 */
export class HitWriter {
  private queue: Hit[] = [];
  private writers = 0;
  private pool: pg.Pool | null = null;
  constructor(private app: AppServices) {}

  record(p: { a: string; c: string; o?: string }, row: Omit<HitRow, 'contact_id'>): Promise<HitResult> {
    return new Promise((done) => {
      this.queue.push({ accountId: p.a, row: { contact_id: p.c, ...row }, done });
      if (this.writers === 0 || (this.writers < MAX_WRITERS && this.queue.length >= PARALLEL_AT))
        void this.run();
    });
  }

  /** Ends the pool; server.ts calls it after the last request drained. */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    await pool?.end();
  }

  private sessions(): pg.Pool {
    if (!this.pool) {
      this.pool = new pg.Pool({
        connectionString: this.app.orm.config.get('clientUrl'),
        max: MAX_WRITERS,
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
        try {
          await this.write(batch);
        } catch (err) {
          this.app.logger.error('tracking events were not recorded', err);
          for (const h of batch) h.done('failed');
        }
      }
    } finally {
      this.writers--;
    }
  }

  private async write(batch: Hit[]): Promise<void> {
    const byAccount = new Map<string, Hit[]>();
    for (const h of batch) {
      const list = byAccount.get(h.accountId);
      if (list) list.push(h);
      else byAccount.set(h.accountId, [h]);
    }
    const pool = this.sessions();
    for (const [accountId, hits] of byAccount) {
      // The signature proves we issued the link; the contact may since have been deleted, and a
      // token must never write into an account that does not own its contact: insertHits writes
      // only the events of the account's existing contacts, in one statement.
      const rows = hits.map((h) => h.row);
      // One autocommit statement: a deadlock (with deleteContacts, say) rolled it back whole, so
      // it is rerun like any transaction (insertHits locks in id order, which makes it rare).
      const known = await retryTransaction(() => insertHits(pool, accountId, rows));
      for (const h of hits) h.done(known.has(h.row.contact_id) ? 'recorded' : 'unknown');
    }
  }
}
