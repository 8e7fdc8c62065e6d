/**
 * GET /invoices/<id>.pdf from a real server: the bytes are read by poppler's pdftotext (Debian's
 * poppler-utils, which .ci/run installs), which must find the number, the parties and the exact
 * totals; the rights and another account's id answer before any PDF is drawn.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Actor,
  ok,
  signUpOwner,
  startTestApp,
  type TestApp,
  viewerWith,
} from '../../../test/harness.js';
import { requireUnderCi } from '../../../test/requirements.js';
import { frenchAmount } from './invoice.pdf.js';

const run = promisify(execFile);
const PDFTOTEXT = process.env.PDFTOTEXT_PATH ?? '/usr/bin/pdftotext';
const present = existsSync(PDFTOTEXT);
if (!present) {
  requireUnderCi('pdftotext (poppler-utils)', 'apt-get install poppler-utils');
  console.warn('invoice.pdf.test.ts: PDF checks skipped, no pdftotext');
}

let t: TestApp;
let owner: Actor;
let guest: Actor;
let invoiceId: string;
let noteId: string;
let number: string;

beforeAll(async () => {
  t = await startTestApp({ INVOICE_SELLER_NAME: 'Cible Test SAS', INVOICE_SELLER_SIREN: '987654321' });
  owner = await signUpOwner(t, 'Pdf');
  const editor = await viewerWith(t, owner, { INVOICES: 'EDITOR' });
  guest = await viewerWith(t, owner, { INVOICES: 'GUEST' });
  const g = (who: Actor, q: string, v: Record<string, unknown> = {}) =>
    // biome-ignore lint/suspicious/noExplicitAny: the answers are read field by field below
    t.gql<Record<string, any>, Record<string, unknown>>(q, v, who.token);
  ok(
    await g(editor, 'mutation($i: UpdateBillingDetailsInput!) { updateBillingDetails(input: $i) { id } }', {
      i: {
        companyName: 'Boulangerie Écureuil SARL',
        addressLines: ['3 rue des Lilas'],
        postcode: '33000',
        city: 'Bordeaux',
        country: 'FR',
        vatNumber: 'FR55123456789',
      },
    }),
  );
  const p = ok(
    await g(editor, 'mutation { requestCreditPurchase(packId: "EMAIL_100K", quantity: 7) { id } }'),
  );
  const a = ok(
    await g(owner, 'mutation($id: ID!) { approveCreditPurchase(id: $id) { invoice { id number } } }', {
      id: p.requestCreditPurchase.id,
    }),
  );
  invoiceId = a.approveCreditPurchase.invoice.id;
  number = a.approveCreditPurchase.invoice.number;
  const n = ok(
    await g(
      owner,
      'mutation($id: ID!) { issueCreditNote(invoiceId: $id, reason: "Pack en double") { id } }',
      {
        id: invoiceId,
      },
    ),
  );
  noteId = n.issueCreditNote.id;
}, 120_000);
afterAll(async () => {
  await t?.close();
});

const get = (id: string, token?: string | null) =>
  fetch(`${t.url.replace(/\/graphql$/, '')}/invoices/${id}.pdf`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });

async function textOf(res: Response): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cible-invoice-'));
  const file = join(dir, 'invoice.pdf');
  try {
    await writeFile(file, Buffer.from(await res.arrayBuffer()));
    return (await run(PDFTOTEXT, ['-layout', file, '-'])).stdout;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('invoice PDF', () => {
  it('formats amounts the French way without a float', () => {
    expect(frenchAmount('4550.00')).toBe('4 550,00');
    expect(frenchAmount('-5460.00')).toBe('-5 460,00');
    expect(frenchAmount('0.5')).toBe('0,50');
  });

  it.runIf(present)(
    'is a PDF with the number, the parties, the lines, the totals and the mentions',
    async () => {
      const res = await get(invoiceId, guest.token);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/pdf');
      const text = await textOf(res);
      expect(text).toContain('FACTURE');
      expect(text).toContain(`N° ${number}`);
      expect(text).toContain('Cible Test SAS');
      expect(text).toContain('SIREN : 987654321');
      expect(text).toContain('Boulangerie Écureuil SARL');
      expect(text).toContain('FR55123456789');
      // 7 × 650.00 = 4 550,00 HT; TVA 20 % = 910,00; TTC 5 460,00.
      expect(text).toMatch(/Total HT\s+4 550,00 €/);
      expect(text).toMatch(/TVA 20 %\s+910,00 €/);
      expect(text).toMatch(/Total TTC\s+5 460,00 €/);
      expect(text).toMatch(/Date d'échéance : \d{2}\/\d{2}\/\d{4}/);
      expect(text).toContain('40 €');
      expect(text).toMatch(/Pénalités de retard/);
    },
  );

  it.runIf(present)('renders the credit note with the invoice it corrects and negative totals', async () => {
    const text = await textOf(await get(noteId, guest.token));
    expect(text).toContain('AVOIR');
    expect(text).toContain(`facture n° ${number}`);
    expect(text).toContain('Motif : Pack en double');
    expect(text).toMatch(/Total TTC à déduire\s+-5 460,00 €/);
  });

  it('needs a token and INVOICES >= GUEST; other accounts and unknown ids are 404', async () => {
    expect((await get(invoiceId)).status).toBe(401);
    const none = await viewerWith(t, owner, { EMAILINGS: 'APPROVER' });
    const denied = await get(invoiceId, none.token);
    expect(denied.status).toBe(403);
    expect(await denied.text()).not.toContain('%PDF');
    const other = await signUpOwner(t, 'Other');
    expect((await get(invoiceId, other.token)).status).toBe(404);
    expect((await get('not-a-uuid', owner.token)).status).toBe(404);
    expect((await get('00000000-0000-4000-8000-000000000000', owner.token)).status).toBe(404);
    expect(
      (await fetch(`${t.url.replace(/\/graphql$/, '')}/invoices/${invoiceId}.pdf`, { method: 'POST' }))
        .status,
    ).toBe(405);
  });
});
