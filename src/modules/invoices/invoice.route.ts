import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { AppServices } from '../../context.js';
import { bearer, decodeSegment, json } from '../../http/csv-export.js';
import { AppError } from '../../shared/errors.js';
import { atLeast } from '../access/access.js';
import { cachedViewer } from '../users/auth.service.js';
import { renderInvoicePdf } from './invoice.pdf.js';
import { findInvoice, linesOf } from './invoice.queries.js';

const PATH = /^\/invoices\/([^/?]+)\.pdf(?:\?.*)?$/;

/**
 * `GET /invoices/<id>.pdf` with `Authorization: Bearer <token>`, INVOICES >= GUEST: the invoice or
 * credit note as a PDF, streamed as pdfkit draws it. Another account's id, like an unknown one,
 * is 404. Mounted beside the segment export, with the same authentication (server.ts); returns
 * false for other paths.
 */
export function createInvoicePdfRoute(
  app: AppServices,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const m = PATH.exec(req.url ?? '');
    if (!m) return false;
    req.resume();
    if (req.method !== 'GET') {
      json(res, 405, 'BAD_REQUEST', 'Method Not Allowed: an invoice is read with GET', { allow: 'GET' });
      return true;
    }
    const id = decodeSegment(m[1]);
    if (id === null) {
      json(res, 404, 'NOT_FOUND', 'Invoice not found');
      return true;
    }
    serve(app, res, req.headers.authorization, id).catch((err) => {
      if (err instanceof AppError && err.extensions.code === 'NOT_FOUND')
        return json(res, 404, 'NOT_FOUND', 'Invoice not found');
      app.logger.error('invoice pdf failed', err);
      if (!res.headersSent) json(res, 500, 'INTERNAL_SERVER_ERROR', 'Unexpected error.');
      else res.destroy(); // a truncated file, not one that looks whole
    });
    return true;
  };
}

async function serve(app: AppServices, res: ServerResponse, authorization: string | undefined, id: string) {
  const token = bearer(authorization);
  const viewer = token ? await cachedViewer(app, token, () => app.orm.em.fork()) : null;
  if (!viewer)
    return json(res, 401, 'UNAUTHENTICATED', 'Send Authorization: Bearer <token> (the token of login)');
  if (!atLeast(viewer.rights.INVOICES, 'GUEST'))
    return json(res, 403, 'FORBIDDEN', 'Reading an invoice needs INVOICES at GUEST or above');
  const pool = app.jobs.pool;
  const invoice = await findInvoice(pool, viewer.accountId, id);
  const lines = (await linesOf(pool, [invoice.id])).get(invoice.id) ?? [];
  const credited = invoice.creditOf ? await findInvoice(pool, viewer.accountId, invoice.creditOf) : null;
  const doc = renderInvoicePdf({ invoice, lines, credited });
  res.writeHead(200, {
    'content-type': 'application/pdf',
    'content-disposition': `inline; filename="${invoice.number.replace(/[^A-Za-z0-9-]/g, '')}.pdf"`,
    'cache-control': 'private, no-store',
    'x-content-type-options': 'nosniff',
  });
  const done = pipeline(doc, res);
  doc.end();
  await done;
}
