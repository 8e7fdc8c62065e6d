import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppServices } from '../../context.js';
import { signBody } from './sms.js';

/** What a signed endpoint answers: a status and a JSON body. */
export interface GatewayAnswer {
  status: number;
  body: unknown;
}

export interface SignedPostOptions {
  /** The paths it serves (query strings allowed); other requests are left to the next handler. */
  path: RegExp;
  /** Past this the request is refused unread (413, connection closed). */
  maxBytes: number;
  /** The shared secret; null (not configured) refuses everything: an unsigned endpoint would be open to anyone. */
  token: string | null;
  /** For the log line of an unexpected failure. */
  name: string;
}

/**
 * A public `POST` the SMS gateway makes to us (replies, delivery reports), signed like our
 * messages to it: `X-Cible-Signature` is the HMAC-SHA256 hex of the exact body with the token
 * (`signBody`). In this order, before anything is parsed: another method 405 (`Allow: POST`), a
 * body over `maxBytes` 413, no token configured or a missing or wrong signature 401. Only a signed
 * body reaches `handle`, whose answer is sent as JSON; an error it throws is logged and answered
 * 500 without details. Returns false for other paths.
 */
export function serveSignedPost(
  app: AppServices,
  req: IncomingMessage,
  res: ServerResponse,
  options: SignedPostOptions,
  handle: (raw: string) => Promise<GatewayAnswer>,
): boolean {
  if (!options.path.test(req.url ?? '')) return false;
  serve(req, options, handle)
    .then((a) => reply(res, a.status, a.body, a.headers))
    .catch((err) => {
      app.logger.error(`${options.name} request failed`, err);
      if (!res.headersSent) reply(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  return true;
}

async function serve(
  req: IncomingMessage,
  options: SignedPostOptions,
  handle: (raw: string) => Promise<GatewayAnswer>,
): Promise<GatewayAnswer & { headers?: Record<string, string> }> {
  if (req.method !== 'POST') {
    req.resume();
    return { status: 405, body: { error: 'method not allowed' }, headers: { allow: 'POST' } };
  }
  const raw = await readBody(req, options.maxBytes);
  if (raw === null)
    return { status: 413, body: { error: 'request too large' }, headers: { connection: 'close' } };
  if (!options.token || !signatureMatches(options.token, raw, req.headers['x-cible-signature']))
    return { status: 401, body: { error: 'bad signature' } };
  return handle(raw);
}

/** Timing-safe: the compare takes as long whatever prefix of the signature is right. */
function signatureMatches(token: string, raw: string, header: string | string[] | undefined): boolean {
  if (typeof header !== 'string') return false;
  const given = Buffer.from(header.trim().toLowerCase());
  const expected = Buffer.from(signBody(token, raw));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The body as UTF-8, or null (the rest left unread) once it passes `limit` bytes. */
function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  if (Number(req.headers['content-length'] ?? 0) > limit) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let seen = 0;
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > limit) {
        req.off('data', onData);
        req.pause();
        resolve(null);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

/** A signed body's JSON object, or null when it is not one (the caller answers 400). */
export function jsonObject(raw: string): Record<string, unknown> | null {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return null;
  }
  return typeof body === 'object' && body !== null && !Array.isArray(body)
    ? (body as Record<string, unknown>)
    : null;
}
