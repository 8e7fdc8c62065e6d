import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppServices, Context } from '../../context.js';
import { AppError } from '../../shared/errors.js';
import { trackingKey } from '../events/tracking.token.js';
import { type GatewayAnswer, serveSignedPost } from '../transport/gateway-post.js';
import { sendOfReturnPath } from './bounce.match.js';
import { failuresIn, MAX_MESSAGE_BYTES } from './bounce.service.js';
import { storeBounce } from './bounce.store.js';

const PATH = /^\/bounces\/inbound\/?(?:\?.*)?$/;

/**
 * `POST /bounces/inbound`, public: the MTA that receives mail for the bounce domain posts each
 * message as it arrived (raw RFC 822: a DSN, an ARF complaint, a bare reply), signed like the SMS
 * gateway's calls (`X-Cible-Signature`: HMAC-SHA256 hex of the exact body, here with
 * BOUNCE_INBOUND_TOKEN; none configured, or a missing or wrong signature: 401, nothing read), and
 * may name the envelope recipient in `X-Cible-Envelope-To` (Postfix's ${recipient}). The message
 * is matched to its send only by a signed return path (VERP: in the envelope recipient, To,
 * Delivered-To, the quoted original's Return-Path...): the endpoint has no account of its own, and
 * an unsigned header such as X-Cible-Operation is believed by nobody here. Answers:
 * 200 `{ matched: true, bounces }` (0 for a notice of delay or delivery, nothing stored); 200
 * `{ matched: false, bounces: 0 }` when no signed return path names a send of ours, nothing
 * stored either (the MTA must not retry it);
 * 400 when it is not a bounce or is too costly to read; 413 past 1 MiB; 429 when the classifier's
 * workers are all busy (retry later).
 */
export function bounceInbound(
  app: AppServices,
  req: IncomingMessage,
  res: ServerResponse,
  ipOf: (req: IncomingMessage) => string | null,
): boolean {
  return serveSignedPost(
    app,
    req,
    res,
    { path: PATH, maxBytes: MAX_MESSAGE_BYTES, token: app.config.bounceInboundToken, name: 'bounce inbound' },
    async (raw): Promise<GatewayAnswer> => {
      const envelope = req.headers['x-cible-envelope-to'];
      try {
        return {
          status: 200,
          body: await receiveBounce(app, raw, typeof envelope === 'string' ? envelope : null, ipOf(req)),
        };
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        const code = err.extensions.code;
        if (code === 'BAD_USER_INPUT') return { status: 400, body: { error: err.message } };
        if (code === 'RATE_LIMITED') return { status: 429, body: { error: err.message } };
        throw err;
      }
    },
  );
}

/** Matches by return path first (cheap, and most mail to a bounce domain is not ours), then classifies. */
async function receiveBounce(
  app: AppServices,
  raw: string,
  envelopeTo: string | null,
  ip: string | null,
): Promise<{ matched: boolean; bounces: number }> {
  const key = await trackingKey(app.config, app.logger.warn);
  const send = await sendOfReturnPath(app.orm.em.fork(), key, [envelopeTo, raw], null);
  if (!send) return { matched: false, bounces: 0 };
  const results = await failuresIn(raw, app.config);
  if (!results.length) return { matched: true, bounces: 0 };
  const ctx: Context = { app, em: app.orm.em.fork(), viewer: null, ip };
  const stored = await storeBounce(ctx, send.accountId, 'receiveBounce', results, new Date(), { send });
  return { matched: true, bounces: stored.length };
}
