import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../../config.js';
import type { AppServices } from '../../context.js';
import { page } from '../../http/html-page.js';
import { signTrackingToken, trackingKey, verifyTrackingToken } from '../events/tracking.token.js';
import { alreadyPage, askPage, donePage, unknownPage } from './unsubscribe.page.js';
import { peekLink, type UnsubscribeTarget, unsubscribeContact } from './unsubscribe.service.js';

/** The same token syntax as the tracking links' (tracking.ts), with an optional trailing slash. */
const PATH = /^\/u\/([A-Za-z0-9_-]{1,4000}\.[A-Za-z0-9_-]{1,100})\/?(?:\?.*)?$/;
/**
 * A one-click POST carries `List-Unsubscribe=One-Click` (26 bytes), the page's form nothing. The
 * body is never read for meaning, only drained, so a client cannot hold a request open by
 * streaming an endless one: past this it is refused.
 */
export const MAX_BODY_BYTES = 16 * 1024;

/**
 * The link the sending engine puts in `List-Unsubscribe` and in the footer:
 * `${publicUrl}/u/<token>`, signed with the tracking key as kind `u`, so an open or click token
 * never unsubscribes anyone and an unsubscribe token is never an open or a click.
 */
export function unsubscribeUrl(
  config: Config,
  key: Buffer,
  p: { accountId: string; contactId: string; operationId: string | null },
): string {
  const token = signTrackingToken(key, {
    a: p.accountId,
    c: p.contactId,
    ...(p.operationId ? { o: p.operationId } : {}),
    k: 'u',
  });
  return `${config.publicUrl}/u/${token}`;
}

/**
 * `/u/<token>`, public: the signature is the proof, no cookie and no login (RFC 8058).
 * - POST unsubscribes at once and answers 200 with a page (never a redirect: a mailbox provider's
 *   one-click POST does not follow one). The body is drained, bounded, and not needed.
 * - GET shows a page whose button POSTs to the same URL, and never changes anything: link
 *   scanners and previews follow every GET. HEAD answers as GET without the body.
 * - A forged or altered token, another kind of token, or a contact its account no longer has:
 *   404, nothing written. Other methods: 405.
 * Returns false for paths outside /u/.
 */
export function unsubscribeLink(
  app: AppServices,
  req: IncomingMessage,
  res: ServerResponse,
  ipOf: (req: IncomingMessage) => string | null,
): boolean {
  const path = req.url ?? '';
  if (!path.startsWith('/u/')) return false;
  serve(app, req, res, path, ipOf).catch((err) => {
    app.logger.error('unsubscribe request failed', err);
    if (!res.headersSent)
      page(res, 500, 'Something went wrong', '<p>You were not unsubscribed. Try again in a moment.</p>');
    else res.destroy();
  });
  return true;
}

async function serve(
  app: AppServices,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  ipOf: (req: IncomingMessage) => string | null,
): Promise<void> {
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') {
    req.resume();
    page(res, 405, 'Method not allowed', '<p>Open the link in a browser.</p>', { allow: 'GET, HEAD, POST' });
    return;
  }
  if (method === 'POST') {
    if (!(await drain(req, MAX_BODY_BYTES))) {
      page(res, 413, 'Request too large', '<p>Nothing was changed.</p>', { connection: 'close' });
      return;
    }
  } else req.resume();
  const m = PATH.exec(path);
  const payload = m ? verifyTrackingToken(await trackingKey(app.config, app.logger.warn), m[1], 'u') : null;
  if (!payload) {
    unknownPage(res);
    return;
  }
  const target: UnsubscribeTarget = {
    accountId: payload.a,
    contactId: payload.c,
    operationId: payload.o ?? null,
  };
  const state =
    method === 'POST' ? await unsubscribeContact(app, target, ipOf(req)) : await peekLink(app, target);
  if (state.kind === 'unknown') unknownPage(res);
  else if (method === 'POST') donePage(res, state.accountName, state.email);
  else if (state.kind === 'unsubscribed') alreadyPage(res, state.accountName, state.email);
  else askPage(res, state.accountName, state.email);
}

/** Reads and drops the body; false (and the rest left unread) once it passes `limit` bytes. */
function drain(req: IncomingMessage, limit: number): Promise<boolean> {
  if (Number(req.headers['content-length'] ?? 0) > limit) return Promise.resolve(false);
  return new Promise((resolve, reject) => {
    let seen = 0;
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > limit) {
        req.off('data', onData);
        req.pause();
        resolve(false);
      }
    };
    req.on('data', onData);
    req.once('end', () => resolve(true));
    req.once('error', reject);
  });
}
