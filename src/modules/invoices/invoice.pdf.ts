import PDFDocument from 'pdfkit';
import type { InvoiceView, LineView } from './invoice.queries.js';

/**
 * An invoice or credit note as a PDF, with what French law asks of a supplier's invoice (Code de
 * commerce L441-9 and R123-237, CGI art. 242 nonies A): seller and buyer identities and
 * addresses, SIREN and VAT numbers, a unique number, issue, sale and due dates, each line with its
 * quantity, unit price excluding tax and VAT rate, totals excluding tax, VAT and including tax,
 * payment terms, the late-payment penalty and the 40 € recovery indemnity. pdfkit writes it to
 * the stream as it is drawn (see README: why pdfkit). Amounts stay text from PostgreSQL to the
 * page: only the decimal separator changes.
 */

/** "1234.50" -> "1 234,50": French grouping and comma, by string, never through a float. */
export function frenchAmount(value: string): string {
  const neg = value.startsWith('-');
  const [int, frac = '00'] = (neg ? value.slice(1) : value).split('.');
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
  return `${neg ? '-' : ''}${grouped},${frac.padEnd(2, '0')}`;
}

const money = (value: string, currency: string) =>
  `${frenchAmount(value)} ${currency === 'EUR' ? '€' : currency}`;

/** "2026-12-04" -> "04/12/2026". */
const frenchDate = (iso: string) => iso.split('-').reverse().join('/');

const rate = (r: string) => `${frenchAmount(r).replace(/,00$/, '')} %`;

export interface PdfInput {
  invoice: InvoiceView;
  lines: LineView[];
  /** For a credit note: the number and issue date of the invoice it corrects. */
  credited: { number: string; issueDate: string } | null;
}

const LEFT = 50;
const RIGHT = 545;
const COLUMNS = [
  { title: 'Désignation', x: LEFT, width: 215, align: 'left' as const },
  { title: 'Qté', x: 265, width: 40, align: 'right' as const },
  { title: 'PU HT', x: 305, width: 80, align: 'right' as const },
  { title: 'TVA', x: 385, width: 50, align: 'right' as const },
  { title: 'Montant HT', x: 435, width: 110, align: 'right' as const },
];

/** Draws the document and returns it; the caller pipes it and calls end(). */
export function renderInvoicePdf({ invoice: inv, lines, credited }: PdfInput): PDFKit.PDFDocument {
  const note = inv.type === 'CREDIT_NOTE';
  const doc = new PDFDocument({
    size: 'A4',
    margin: 50,
    info: { Title: `${note ? 'Avoir' : 'Facture'} ${inv.number}`, Author: inv.seller.name },
  });
  const cur = inv.currency;

  // Seller, top left; title and number, top right.
  doc.font('Helvetica-Bold').fontSize(13).text(inv.seller.name, LEFT, 50, { width: 260 });
  doc.font('Helvetica').fontSize(9);
  for (const l of inv.seller.addressLines) doc.text(l, { width: 260 });
  if (inv.seller.siren) doc.text(`SIREN : ${inv.seller.siren}`);
  if (inv.seller.vatNumber) doc.text(`N° TVA intracommunautaire : ${inv.seller.vatNumber}`);

  doc
    .font('Helvetica-Bold')
    .fontSize(20)
    .text(note ? 'AVOIR' : 'FACTURE', 330, 50, { width: 215, align: 'right' });
  doc.font('Helvetica').fontSize(10);
  const meta = [
    `N° ${inv.number}`,
    `Date d'émission : ${frenchDate(inv.issueDate)}`,
    `Date de la vente : ${frenchDate(inv.issueDate)}`,
    ...(note ? [] : [`Date d'échéance : ${frenchDate(inv.dueDate)}`]),
  ];
  for (const m of meta) doc.text(m, 330, undefined, { width: 215, align: 'right' });

  // Buyer, in a box on the right, as a window envelope expects it.
  const top = 170;
  doc.rect(320, top, 225, 95).strokeColor('#999999').stroke();
  doc
    .font('Helvetica')
    .fontSize(8)
    .fillColor('#666666')
    .text('Facturé à', 330, top + 8);
  doc
    .fillColor('black')
    .font('Helvetica-Bold')
    .fontSize(10)
    .text(inv.buyer.name, 330, top + 20, { width: 205 });
  doc.font('Helvetica').fontSize(9);
  for (const l of inv.buyer.addressLines) doc.text(l, { width: 205 });
  if (inv.buyer.vatNumber) doc.text(`N° TVA : ${inv.buyer.vatNumber}`, { width: 205 });

  let y = top + 115;
  if (note && credited) {
    doc.font('Helvetica').fontSize(10);
    doc.text(
      `Avoir se rapportant à la facture n° ${credited.number} du ${frenchDate(credited.issueDate)}.`,
      LEFT,
      y,
    );
    if (inv.reason) doc.text(`Motif : ${inv.reason}`, LEFT);
    y = doc.y + 15;
  }

  // Lines.
  doc
    .rect(LEFT, y, RIGHT - LEFT, 20)
    .fill('#eeeeee')
    .fillColor('black');
  doc.font('Helvetica-Bold').fontSize(9);
  for (const c of COLUMNS) doc.text(c.title, c.x + 4, y + 6, { width: c.width - 8, align: c.align });
  y += 26;
  doc.font('Helvetica').fontSize(9);
  for (const l of lines) {
    const cells = [
      l.label,
      String(l.quantity),
      money(l.unitPrice, cur),
      rate(l.vatRate),
      money(l.totalExclTax, cur),
    ];
    const height = doc.heightOfString(l.label, { width: COLUMNS[0].width - 8 });
    cells.forEach((text, i) => {
      const c = COLUMNS[i];
      doc.text(text, c.x + 4, y, { width: c.width - 8, align: c.align });
    });
    y += height + 8;
    doc
      .moveTo(LEFT, y - 4)
      .lineTo(RIGHT, y - 4)
      .strokeColor('#dddddd')
      .stroke();
  }

  // Totals, one VAT line per rate (CGI 242 nonies A: the tax per rate).
  y += 10;
  const byRate = new Map<string, string[]>();
  for (const l of lines) byRate.set(l.vatRate, [...(byRate.get(l.vatRate) ?? []), l.vat]);
  const totals: [string, string, boolean][] = [
    ['Total HT', money(inv.totalExclTax, cur), false],
    ...[...byRate.keys()].map(
      (r) =>
        [
          `TVA ${rate(r)}`,
          money(byRate.size === 1 ? inv.totalVat : sumCents(byRate.get(r) ?? []), cur),
          false,
        ] as [string, string, boolean],
    ),
    [note ? 'Total TTC à déduire' : 'Total TTC', money(inv.totalInclTax, cur), true],
  ];
  for (const [label, value, bold] of totals) {
    doc.font(bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(bold ? 11 : 10);
    doc.text(label, 330, y, { width: 110 });
    doc.text(value, 440, y, { width: 105, align: 'right' });
    y += bold ? 20 : 16;
  }

  // Payment terms and the mentions every French invoice between businesses carries.
  y += 20;
  doc.font('Helvetica').fontSize(8.5).fillColor('#333333');
  const terms = note
    ? ['Cet avoir est imputable sur vos prochaines factures ou remboursé par virement sur demande.']
    : [
        `Conditions de paiement : par virement bancaire, au plus tard le ${frenchDate(inv.dueDate)}. Escompte pour paiement anticipé : néant.`,
        "Pénalités de retard : en cas de paiement après la date d'échéance, pénalités au taux de trois fois le taux d'intérêt légal, exigibles sans rappel, et indemnité forfaitaire pour frais de recouvrement de 40 € (articles L441-10 et D441-5 du Code de commerce).",
      ];
  for (const t of terms) {
    doc.text(t, LEFT, y, { width: RIGHT - LEFT });
    y = doc.y + 6;
  }
  return doc;
}

/** Sums "12.34"-style amounts exactly, in integer cents. */
function sumCents(values: string[]): string {
  let cents = 0n;
  for (const v of values) {
    const neg = v.startsWith('-');
    const [i, f = '0'] = (neg ? v.slice(1) : v).split('.');
    const c = BigInt(i) * 100n + BigInt(f.padEnd(2, '0').slice(0, 2));
    cents += neg ? -c : c;
  }
  const neg = cents < 0n;
  const abs = neg ? -cents : cents;
  return `${neg ? '-' : ''}${abs / 100n}.${String(abs % 100n).padStart(2, '0')}`;
}
