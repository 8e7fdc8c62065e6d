import type { ServerResponse } from 'node:http';
import { page } from '../../http/html-page.js';
import { escapeHtml } from '../../shared/text.js';

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
