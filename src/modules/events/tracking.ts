import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppServices } from '../../context.js';
import { eventCode } from './event.entity.js';
import { type HitKind, machineReason } from './tracking.machine.js';
import { hasControlChars, trackingKey, verifyTrackingToken } from './tracking.token.js';
import { type HitResult, HitWriter } from './tracking.writer.js';

/** The smallest transparent GIF (1x1, 43 bytes). */
export const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
const OPEN = /^\/t\/o\/([A-Za-z0-9_-]{1,4000}\.[A-Za-z0-9_-]{1,100})\.gif(?:\?.*)?$/;
const CLICK = /^\/t\/c\/([A-Za-z0-9_-]{1,4000}\.[A-Za-z0-9_-]{1,100})(?:\?.*)?$/;
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
): Tracking {
  // Read on the first hit, so a server that never serves one never creates DATA_DIR/tracking.key.
  let keyP: Promise<Buffer> | null = null;
  let key: Buffer | null = null;
  const writer = new HitWriter(app);
  const fail = (res: ServerResponse) => (err: unknown) => {
    app.logger.error('tracking request failed', err);
    if (!res.headersSent) res.writeHead(500).end();
  };
  const tracking = (req: IncomingMessage, res: ServerResponse) => {
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
  return Object.assign(tracking, { close: () => writer.close() });
}

/** Handles a request when it is a tracking hit (true), and ends the writer's pool at shutdown. */
export type Tracking = ((req: IncomingMessage, res: ServerResponse) => boolean) & { close(): Promise<void> };

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  key: Buffer,
  writer: HitWriter,
  ipOf: (req: IncomingMessage) => string | null,
): Promise<void> {
  // No req.resume(): a GET has no body, and the server dumps any unread body once the answer ends.
  const record = req.method === 'GET';
  if (!record && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  if (path.startsWith('/t/o/')) {
    const m = OPEN.exec(path);
    const payload = m ? verifyTrackingToken(key, m[1], 'o') : null;
    if (payload && record)
      await writer.record(payload, {
        type: OPEN_TYPE,
        operation_id: payload.o ?? null,
        url: null,
        machine: isMachine(req, 'open', ipOf),
      });
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
  const result: HitResult =
    payload && record
      ? await writer.record(payload, {
          type: CLICK_TYPE,
          operation_id: payload.o ?? null,
          url: payload.u!,
          machine: isMachine(req, 'click', ipOf),
        })
      : 'failed';
  if (!payload || result === 'unknown') {
    res.writeHead(404, TEXT_HEADERS).end('Not found');
    return;
  }
  // The URL's serialisation is ASCII (punycode host, escaped path): the raw text may hold
  // characters a header cannot carry (Node threw on them: a 500 with an empty body).
  res.writeHead(302, { location: new URL(payload.u!).href, ...NO_STORE }).end();
}

const isMachine = (req: IncomingMessage, kind: HitKind, ipOf: (req: IncomingMessage) => string | null) =>
  machineReason(kind, req.headers['user-agent'], ipOf(req)) !== null;
