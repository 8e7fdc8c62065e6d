import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { AppServices, Viewer } from '../../context.js';
import { downloadRoute } from '../../http/csv-export.js';
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
  const need = {
    feature: 'INVOICES',
    level: 'GUEST',
    refusal: 'Reading an invoice needs INVOICES at GUEST or above',
  } as const;
  return downloadRoute(app, PATH, 'Invoice', need, (_req, res, id, viewer) => serve(app, res, viewer, id));
}

async function serve(app: AppServices, res: ServerResponse, viewer: Viewer, id: string) {
  const pool = app.reads; // not the jobs pool: its sessions are the sending workers'
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
