import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppServices } from '../../context.js';
import { signBody } from '../transport/sms.js';
import { applySmsReply, keywordOf, phoneOf } from './sms-replies.service.js';

/** A reply is `{ from, to, text }`: a few hundred bytes. Past this the request is refused unread. */
export const MAX_INBOUND_BYTES = 16 * 1024;

const PATH = /^\/sms\/inbound\/?(?:\?.*)?$/;

/**
 * `POST /sms/inbound`, public: the gateway posts each reply as JSON `{ from, to, text }`, signed
 * like our messages to it (`X-Cible-Signature`: HMAC-SHA256 hex of the exact body with
 * SMS_GATEWAY_TOKEN). Without a token configured, or with a missing or wrong signature: 401 and
 * nothing written (an unsigned endpoint would let anyone opt any number out). A body over 16 KiB:
 * 413. Signed but not the JSON expected: 400. A STOP or START word: applied
 * (sms-replies.service.ts); any other text: 200, nothing written (the gateway must not retry it).
 * Returns false for other paths.
 */
export function smsInbound(
  app: AppServices,
  req: IncomingMessage,
  res: ServerResponse,
  ipOf: (req: IncomingMessage) => string | null,
): boolean {
  if (!PATH.test(req.url ?? '')) return false;
  serve(app, req, res, ipOf).catch((err) => {
    app.logger.error('sms inbound request failed', err);
    if (!res.headersSent) answer(res, 500, { error: 'internal error' });
    else res.destroy();
  });
  return true;
}

async function serve(
  app: AppServices,
  req: IncomingMessage,
  res: ServerResponse,
  ipOf: (req: IncomingMessage) => string | null,
): Promise<void> {
  if (req.method !== 'POST') {
    req.resume();
    answer(res, 405, { error: 'method not allowed' }, { allow: 'POST' });
    return;
  }
  const raw = await readBody(req, MAX_INBOUND_BYTES);
  if (raw === null) {
    answer(res, 413, { error: 'request too large' }, { connection: 'close' });
    return;
  }
  const token = app.config.smsGatewayToken;
  if (!token || !signatureMatches(token, raw, req.headers['x-cible-signature'])) {
    answer(res, 401, { error: 'bad signature' });
    return;
  }
  const reply = parse(raw);
  if (!reply) {
    answer(res, 400, { error: 'expected JSON { from, to, text } with string values' });
    return;
  }
  const keyword = keywordOf(reply.text);
  const phone = phoneOf(reply.from);
  if (!keyword || !phone) {
    answer(res, 200, { action: 'NONE', contacts: 0 });
    return;
  }
  const { changed } = await applySmsReply(app, phone, keyword, ipOf(req));
  answer(res, 200, { action: keyword === 'STOP' ? 'OPTED_OUT' : 'SUBSCRIBED', contacts: changed });
}

/** Timing-safe: the compare takes as long whatever prefix of the signature is right. */
function signatureMatches(token: string, raw: string, header: string | string[] | undefined): boolean {
  if (typeof header !== 'string') return false;
  const given = Buffer.from(header.trim().toLowerCase());
  const expected = Buffer.from(signBody(token, raw));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function parse(raw: string): { from: string; to: string; text: string } | null {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof body !== 'object' || body === null) return null;
  const { from, to, text } = body as Record<string, unknown>;
  if (typeof from !== 'string' || typeof to !== 'string' || typeof text !== 'string') return null;
  return { from, to, text };
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

function answer(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}
