import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppServices } from '../../context.js';
import { page } from '../../http/html-page.js';
import { escapeHtml } from '../../shared/text.js';
import { confirmSenderToken, peekSenderToken, type TokenState } from './sender.service.js';

const PATH = /^\/senders\/confirm\/([^/?#]*)\/?(?:\?.*)?$/;

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
