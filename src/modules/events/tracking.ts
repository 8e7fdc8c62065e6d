import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppServices } from '../../context.js';
import { retryTransaction } from '../../db/retry.js';
import { eventCode } from './event.entity.js';
import { type HitKind, machineReason } from './tracking.machine.js';
import { type HitRow, insertHits } from './tracking.repository.js';
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
  row: HitRow;
  done(result: Result): void;
}
const OPEN_TYPE = eventCode('EMAIL_OPEN');
const CLICK_TYPE = eventCode('EMAIL_CLICK');
/** The same headers on every answer: built once, not per hit. */
const NO_STORE = { 'cache-control': 'no-store, max-age=0', 'referrer-policy': 'no-referrer' };
const GIF_HEADERS = { 'content-type': 'image/gif', 'content-length': PIXEL.length, ...NO_STORE };
const TEXT_HEADERS = { 'content-type': 'text/plain; charset=utf-8', ...NO_STORE };

/**
 * The tracking endpoints, in front of GraphQL on the same server:
 * - `GET /t/o/<token>.gif`: always a 1x1 GIF; an EMAIL_OPEN when the token is one we signed;
 * - `GET /t/c/<token>`: an EMAIL_CLICK and a 302 to the URL inside the signed token; a forged or
 *   altered token, or one naming a contact its account does not have, answers 404 without a
 *   redirect, so the endpoint can never send anyone to a URL we did not sign.
 * HEAD answers the same without recording (mail scanners probe links). Each recorded hit says
 * whether a machine made it (tracking.machine.ts), from its user agent and the client's address as
 * `ipOf` (server.ts: TRUST_PROXY and X-Forwarded-For) decides it. Returns false for any other path.
 */
export function createTracking(
  app: AppServices,
  ipOf: (req: IncomingMessage) => string | null = (req) => req.socket.remoteAddress ?? null,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  // Read on the first hit, so a server that never serves one never creates DATA_DIR/tracking.key.
  let keyP: Promise<Buffer> | null = null;
  let key: Buffer | null = null;
  const writer = new HitWriter(app);
  const fail = (res: ServerResponse) => (err: unknown) => {
    app.logger.error('tracking request failed', err);
    if (!res.headersSent) res.writeHead(500).end();
  };
  return (req, res) => {
    const path = req.url ?? '';
    if (!path.startsWith('/t/')) return false;
    if (key) handle(req, res, path, key, writer, ipOf).catch(fail(res));
    else {
      keyP ??= trackingKey(app.config, app.logger.warn);
      keyP
        .then((k) => {
          key = k;
          return handle(req, res, path, k, writer, ipOf);
        })
        .catch(fail(res));
    }
    return true;
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  key: Buffer,
  writer: HitWriter,
  ipOf: (req: IncomingMessage) => string | null,
): Promise<void> {
  req.resume();
  const record = req.method === 'GET';
  if (!record && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  const machine = (kind: HitKind) => machineReason(kind, req.headers['user-agent'], ipOf(req)) !== null;
  if (path.startsWith('/t/o/')) {
    const m = OPEN.exec(path);
    const payload = m ? verifyTrackingToken(key, m[1], 'o') : null;
    if (payload && record) await writer.record(payload, OPEN_TYPE, null, machine('open'));
    res.writeHead(200, GIF_HEADERS);
    res.end(req.method === 'HEAD' ? undefined : PIXEL);
    return;
  }
  const m = CLICK.exec(path);
  const payload = m ? verifyTrackingToken(key, m[1], 'c') : null;
  if (payload && hasControlChars(payload.u!)) {
    res.writeHead(400, TEXT_HEADERS).end('Bad link');
    return;
  }
  // A valid token whose write failed still redirects: the reader must reach the link.
  const result: Result =
    payload && record ? await writer.record(payload, CLICK_TYPE, payload.u!, machine('click')) : 'failed';
  if (!payload || result === 'unknown') {
    res.writeHead(404, TEXT_HEADERS).end('Not found');
    return;
  }
  // The URL's serialisation is ASCII (punycode host, escaped path): the raw text may hold
  // characters a header cannot carry (Node threw on them: a 500 with an empty body).
  res.writeHead(302, { location: new URL(payload.u!).href, ...NO_STORE }).end();
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
    type: number,
    url: string | null,
    machine: boolean,
  ): Promise<Result> {
    return new Promise((done) => {
      this.queue.push({
        accountId: p.a,
        row: { contact_id: p.c, type, operation_id: p.o ?? null, url, machine },
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
      // token must never write into an account that does not own its contact: insertHits writes
      // only the events of the account's existing contacts, in one statement.
      const rows = hits.map((h) => h.row);
      // One autocommit statement: a deadlock (with deleteContacts, say) rolled it back whole, so
      // it is rerun like any transaction (insertHits locks in id order, which makes it rare).
      const known = await retryTransaction(() => insertHits(em, accountId, rows));
      for (const h of hits) h.done(known.has(h.row.contact_id) ? 'recorded' : 'unknown');
    }
  }
}
