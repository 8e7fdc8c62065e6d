import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppServices } from '../../context.js';
import { escapeHtml } from '../../shared/text.js';
import { confirmSenderToken, peekSenderToken, type TokenState } from './sender.service.js';

const PATH = /^\/senders\/confirm\/([^/?#]*)\/?(?:\?.*)?$/;

/**
 * The token is in the URL: no referrer may carry it away, no other site may frame the button,
 * and the page runs no script at all.
 */
const HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
};

function page(
  res: ServerResponse,
  status: number,
  title: string,
  body: string,
  extra: Record<string, string> = {},
) {
  res.writeHead(status, { ...HEADERS, ...extra });
  res.end(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;line-height:1.5}button{font-size:1rem;padding:.5rem 1.5rem}</style>
</head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`);
}

/** The page of a link that does nothing (any more): 404 unknown, 410 used or expired. */
function dead(res: ServerResponse, state: TokenState): boolean {
  if (state.kind === 'unknown')
    page(res, 404, 'Unknown link', '<p>This confirmation link is not valid. Ask for a new one in Cible.</p>');
  else if (state.kind === 'used')
    page(
      res,
      410,
      'Link already used',
      `<p>This link was already used: <strong>${escapeHtml(state.email)}</strong> is confirmed. Nothing more to do.</p>`,
    );
  else if (state.kind === 'expired')
    page(
      res,
      410,
      'Link expired',
      `<p>This link for <strong>${escapeHtml(state.email)}</strong> has expired. Add the sender again in Cible to get a new one.</p>`,
    );
  else return false;
  return true;
}

/**
 * `/senders/confirm/<token>`, public (the token is the proof). Mail scanners and link previews
 * follow every GET, so GET only shows a button; the POST it sends confirms. Returns false for
 * other paths.
 */
export function createSenderConfirm(
  app: AppServices,
  ipOf: (req: IncomingMessage) => string | null,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const m = PATH.exec(req.url ?? '');
    if (!m) return false;
    req.resume(); // the form posts nothing we read
    let token: string;
    try {
      token = decodeURIComponent(m[1]);
    } catch {
      token = '';
    }
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') {
      page(res, 405, 'Method not allowed', '<p>Open the link in a browser.</p>', {
        allow: 'GET, HEAD, POST',
      });
      return true;
    }
    serve(app, token, method === 'POST', ipOf(req), res).catch((err) => {
      app.logger.error('sender confirmation failed', err);
      if (!res.headersSent)
        page(
          res,
          500,
          'Something went wrong',
          '<p>The address was not confirmed. Try again in a moment.</p>',
        );
      else res.destroy();
    });
    return true;
  };
}

async function serve(app: AppServices, token: string, post: boolean, ip: string | null, res: ServerResponse) {
  if (!post) {
    const state = await peekSenderToken(app, token);
    if (dead(res, state)) return;
    page(
      res,
      200,
      'Confirm this sender',
      `<p>Allow Cible to send emails from <strong>${escapeHtml(state.kind === 'valid' ? state.email : '')}</strong>?</p>
<form method="post"><button type="submit">Confirm</button></form>`,
    );
    return;
  }
  const state = await confirmSenderToken(app, token, ip);
  if (dead(res, state)) return;
  page(
    res,
    200,
    'Sender confirmed',
    `<p><strong>${escapeHtml(state.kind === 'valid' ? state.email : '')}</strong> is now a verified sender. You can close this page.</p>`,
  );
}
