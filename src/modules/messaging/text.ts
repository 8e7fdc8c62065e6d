import { randomBytes } from 'node:crypto';
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
  // A random marker of letters (never wrapped or cut) that the HTML's own text will not hold by chance.
  const mark = `lq${Array.from(randomBytes(10), (b) => String.fromCharCode(97 + (b % 26))).join('')}`;
  const spans: string[] = [];
  const masked = html.replace(LIQUID, (m) => {
    spans.push(m);
    return `${mark}${spans.length - 1}${mark}`;
  });
  const text = convert(masked, OPTIONS);
  return text.replace(new RegExp(`${mark}(\\d+)${mark}`, 'g'), (m, i: string) => spans[Number(i)] ?? m);
}
