import type { ServerResponse } from 'node:http';
import { escapeHtml } from '../shared/text.js';

/*
 * The small pages of links followed from mails (unsubscribe, a sender's confirmation, a double
 * opt-in confirmation): one look, and the headers such a page needs.
 */

/**
 * The token is in the URL: no referrer may carry it away, no other site may frame the button (a
 * clickjacked unsubscribe or confirmation), and the page runs no script and loads nothing from anywhere.
 */
const HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store, max-age=0',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
};

/** A whole page; HEAD gets the same status and headers, and Node leaves the body out. */
export function page(
  res: ServerResponse,
  status: number,
  title: string,
  body: string,
  extra: Record<string, string> = {},
): void {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;line-height:1.5}button{font-size:1rem;padding:.5rem 1.5rem}</style>
</head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
  res.writeHead(status, { ...HEADERS, 'content-length': Buffer.byteLength(html), ...extra });
  res.end(html);
}
