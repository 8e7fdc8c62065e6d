import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppServices } from '../../context.js';
import { type GatewayAnswer, jsonObject, serveSignedPost } from '../transport/gateway-post.js';
import { applySmsReply, keywordOf, phoneOf } from './sms-replies.service.js';

/** A reply is `{ from, to, text }`: a few hundred bytes. Past this the request is refused unread. */
export const MAX_INBOUND_BYTES = 16 * 1024;

const PATH = /^\/sms\/inbound\/?(?:\?.*)?$/;

/**
 * `POST /sms/inbound`, public: the gateway posts each reply as JSON `{ from, to, text }`, signed
 * like our messages to it (`X-Cible-Signature`: HMAC-SHA256 hex of the exact body with
 * SMS_GATEWAY_TOKEN; checked by transport/gateway-post.ts before anything is parsed). Without a
 * token configured, or with a missing or wrong signature: 401 and nothing written (an unsigned
 * endpoint would let anyone opt any number out). A body over 16 KiB: 413. Signed but not the JSON
 * expected: 400. A STOP or START word: applied (sms-replies.service.ts); any other text: 200,
 * nothing written (the gateway must not retry it). Returns false for other paths.
 */
export function smsInbound(
  app: AppServices,
  req: IncomingMessage,
  res: ServerResponse,
  ipOf: (req: IncomingMessage) => string | null,
): boolean {
  return serveSignedPost(
    app,
    req,
    res,
    { path: PATH, maxBytes: MAX_INBOUND_BYTES, token: app.config.smsGatewayToken, name: 'sms inbound' },
    async (raw): Promise<GatewayAnswer> => {
      const reply = parse(raw);
      if (!reply)
        return { status: 400, body: { error: 'expected JSON { from, to, text } with string values' } };
      const keyword = keywordOf(reply.text);
      const phone = phoneOf(reply.from);
      if (!keyword || !phone) return { status: 200, body: { action: 'NONE', contacts: 0 } };
      const { changed } = await applySmsReply(app, phone, keyword, ipOf(req));
      return {
        status: 200,
        body: { action: keyword === 'STOP' ? 'OPTED_OUT' : 'SUBSCRIBED', contacts: changed },
      };
    },
  );
}

function parse(raw: string): { from: string; to: string; text: string } | null {
  const body = jsonObject(raw);
  if (!body) return null;
  const { from, to, text } = body;
  if (typeof from !== 'string' || typeof to !== 'string' || typeof text !== 'string') return null;
  return { from, to, text };
}
