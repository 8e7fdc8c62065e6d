import { convert, type HtmlToTextOptions } from 'html-to-text';

const OPTIONS: HtmlToTextOptions = {
  wordwrap: 78,
  selectors: [
    { selector: 'a', options: { linkBrackets: ['[', ']'], hideLinkHrefIfSameAsText: true } },
    { selector: 'img', format: 'skip' },
    // Upper-casing would turn a merge tag {{ contact.firstName }} into {{ CONTACT.FIRSTNAME }}.
    { selector: 'h1', options: { uppercase: false } },
    { selector: 'h2', options: { uppercase: false } },
    { selector: 'h3', options: { uppercase: false } },
    { selector: 'h4', options: { uppercase: false } },
    { selector: 'h5', options: { uppercase: false } },
    { selector: 'h6', options: { uppercase: false } },
    { selector: 'table', format: 'dataTable', options: { uppercaseHeaderCells: false } },
  ],
};

/** Liquid output and tag spans: {{ ... }} and {% ... %}, whitespace-control dashes included. */
const LIQUID = /\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}/g;

/**
 * html-to-text with sensible options (links as "text [url]", no images, wordwrap 78). Liquid spans
 * are set aside before the HTML is read and put back after, so it can run once on a template (not
 * per recipient): a tag is neither wrapped, upper-cased, nor cut by a `<` or `>` it holds.
 */
export function htmlToText(html: string): string {
  const spans: string[] = [];
  const masked = html.replace(LIQUID, (m) => {
    spans.push(m);
    return `LQ${spans.length - 1}QL`;
  });
  const text = convert(masked, OPTIONS);
  return text.replace(/LQ(\d+)QL/g, (m, i: string) => spans[Number(i)] ?? m);
}
