import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppServices } from '../../context.js';
import { retryTransaction } from '../../db/retry.js';
import { eventCode } from './event.entity.js';
import { insertEvents } from './event.service.js';
import { hasControlChars, trackingKey, verifyTrackingToken } from './tracking.token.js';

/** The smallest transparent GIF (1x1, 43 bytes). */
export const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
const OPEN = /^\/t\/o\/([A-Za-z0-9_-]{1,4000}\.[A-Za-z0-9_-]{1,100})\.gif(?:\?.*)?$/;
const CLICK = /^\/t\/c\/([A-Za-z0-9_-]{1,4000}\.[A-Za-z0-9_-]{1,100})(?:\?.*)?$/;
/** Hits written by one statement at most. */
const MAX_BATCH = 5000;
/** Writes in flight at once (each holds one pooled connection while it runs). */
const MAX_WRITERS = 4;

type Result = 'recorded' | 'unknown' | 'failed';
interface Hit {
  accountId: string;
  contactId: string;
  type: number;
  operationId: string | null;
  url: string | null;
  done(result: Result): void;
}

/**
 * The tracking endpoints, in front of GraphQL on the same server:
 * - `GET /t/o/<token>.gif`: always a 1x1 GIF; an EMAIL_OPEN when the token is one we signed;
 * - `GET /t/c/<token>`: an EMAIL_CLICK and a 302 to the URL inside the signed token; a forged or
 *   altered token, or one naming a contact its account does not have, answers 404 without a
 *   redirect, so the endpoint can never send anyone to a URL we did not sign.
 * HEAD answers the same without recording (mail scanners probe links). Returns false for any
 * other path.
 */
export function createTracking(app: AppServices): (req: IncomingMessage, res: ServerResponse) => boolean {
  // Read on the first hit, so a server that never serves one never creates DATA_DIR/tracking.key.
  let key: Promise<Buffer> | null = null;
  const writer = new HitWriter(app);
  return (req, res) => {
    const path = req.url ?? '';
    if (!path.startsWith('/t/')) return false;
    if (!key) key = trackingKey(app.config, app.logger.warn);
    handle(req, res, path, key, writer).catch((err) => {
      app.logger.error('tracking request failed', err);
      if (!res.headersSent) res.writeHead(500).end();
    });
    return true;
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  keyP: Promise<Buffer>,
  writer: HitWriter,
): Promise<void> {
  req.resume();
  const record = req.method === 'GET';
  if (!record && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  const noStore = { 'cache-control': 'no-store, max-age=0', 'referrer-policy': 'no-referrer' };
  if (path.startsWith('/t/o/')) {
    const m = OPEN.exec(path);
    const payload = m ? verifyTrackingToken(await keyP, m[1], 'o') : null;
    if (payload && record) await writer.record(payload, 'EMAIL_OPEN', null);
    res.writeHead(200, { 'content-type': 'image/gif', 'content-length': PIXEL.length, ...noStore });
    res.end(req.method === 'HEAD' ? undefined : PIXEL);
    return;
  }
  const m = CLICK.exec(path);
  const payload = m ? verifyTrackingToken(await keyP, m[1], 'c') : null;
  if (payload && hasControlChars(payload.u!)) {
    res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8', ...noStore }).end('Bad link');
    return;
  }
  // A valid token whose write failed still redirects: the reader must reach the link.
  const result: Result =
    payload && record ? await writer.record(payload, 'EMAIL_CLICK', payload.u!) : 'failed';
  if (!payload || result === 'unknown') {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', ...noStore }).end('Not found');
    return;
  }
  // The URL's serialisation is ASCII (punycode host, escaped path): the raw text may hold
  // characters a header cannot carry (Node threw on them: a 500 with an empty body).
  res.writeHead(302, { location: new URL(payload.u!).href, ...noStore }).end();
}

/**
 * Writes hits by group commit: each write takes every hit queued so far, and a few writes may run
 * at once on their own connections, so PostgreSQL flushes their commits together. One hit alone
 * is written at once; under load each statement carries many (PERF-NOTES: batches, never row by
 * row), and the commit wait is shared instead of paid per hit.
 */
class HitWriter {
  private queue: Hit[] = [];
  private writers = 0;
  constructor(private app: AppServices) {}

  record(
    p: { a: string; c: string; o?: string },
    type: 'EMAIL_OPEN' | 'EMAIL_CLICK',
    url: string | null,
  ): Promise<Result> {
    return new Promise((done) => {
      this.queue.push({
        accountId: p.a,
        contactId: p.c,
        type: eventCode(type),
        operationId: p.o ?? null,
        url,
        done,
      });
      if (this.writers < MAX_WRITERS) void this.run();
    });
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
    const em = this.app.orm.em.fork();
    const byAccount = new Map<string, Hit[]>();
    for (const h of batch) {
      const list = byAccount.get(h.accountId);
      if (list) list.push(h);
      else byAccount.set(h.accountId, [h]);
    }
    for (const [accountId, hits] of byAccount) {
      // The signature proves we issued the link; the contact may since have been deleted, and a
      // token must never write into an account that does not own its contact: insertEvents
      // writes only the events of the account's existing contacts, in one statement.
      const now = new Date().toISOString();
      const rows = hits.map((h) => ({
        contact_id: h.contactId,
        type: h.type,
        occurred_at: now,
        operation_id: h.operationId,
        form_id: null,
        url: h.url,
      }));
      // One autocommit statement: a deadlock (with deleteContacts, say) rolled it back whole, so
      // it is rerun like any transaction (insertEvents locks in id order, which makes it rare).
      const json = JSON.stringify(rows);
      const known = await retryTransaction(() => insertEvents(em, accountId, json));
      for (const h of hits) h.done(known.has(h.contactId) ? 'recorded' : 'unknown');
    }
  }
}
