import type { ServerResponse } from 'node:http';
import { escapeHtml } from '../../shared/text.js';

/**
 * The token is in the URL: no referrer may carry it away, no other site may frame the button (a
 * clickjacked unsubscribe), and the page runs no script and loads nothing from anywhere.
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

/**
 * `j***@example.com`: enough for the reader to recognise their address, not the whole of it for
 * whoever the mail was forwarded to.
 */
export function maskEmail(email: string | null): string | null {
  if (!email) return null;
  const at = email.lastIndexOf('@');
  if (at <= 0) return '***';
  return `${email.slice(0, 1)}***${email.slice(at)}`;
}

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

const who = (accountName: string, email: string | null) => {
  const masked = maskEmail(email);
  return `${masked ? `<strong>${escapeHtml(masked)}</strong> ` : ''}will no longer receive emails from <strong>${escapeHtml(accountName)}</strong>`;
};

export const askPage = (res: ServerResponse, accountName: string, email: string | null) =>
  page(
    res,
    200,
    'Unsubscribe',
    `<p>Stop receiving emails from <strong>${escapeHtml(accountName)}</strong>${
      maskEmail(email) ? ` at <strong>${escapeHtml(maskEmail(email) as string)}</strong>` : ''
    }?</p>
<form method="post"><button type="submit">Unsubscribe</button></form>`,
  );

export const donePage = (res: ServerResponse, accountName: string, email: string | null) =>
  page(res, 200, 'You are unsubscribed', `<p>${who(accountName, email)}. You can close this page.</p>`);

export const alreadyPage = (res: ServerResponse, accountName: string, email: string | null) =>
  page(res, 200, 'You are unsubscribed', `<p>Nothing more to do: ${who(accountName, email)}.</p>`);

export const unknownPage = (res: ServerResponse) =>
  page(
    res,
    404,
    'Unknown link',
    '<p>This unsubscribe link is not valid, or its address is no longer on the list.</p>',
  );
