import { describe, expect, it } from 'vitest';
import { htmlToText } from './text.js';

describe('htmlToText', () => {
  it('writes links as "text [url]", drops images, keeps heading case', () => {
    const html =
      '<html><head><style>p{color:red}</style></head><body><h1>Summer sale</h1>' +
      '<p>See <a href="https://shop.example/sale">our offers</a> <img src="x.png" alt="logo"></p>' +
      '<p><a href="https://shop.example">https://shop.example</a></p></body></html>';
    expect(htmlToText(html)).toBe(
      'Summer sale\n\nSee our offers [https://shop.example/sale]\n\nhttps://shop.example',
    );
  });

  it('wraps at 78 characters', () => {
    const text = htmlToText(`<p>${'word '.repeat(40)}</p>`);
    const lines = text.split('\n');
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(78);
  });

  it('keeps Liquid spans intact: not wrapped, not upper-cased, not read as HTML', () => {
    const tag = '{{ contact.firstName | default: "dear friend of the house, long default text here" }}';
    const html =
      `<h1>Hi ${tag}</h1><p>${'filler '.repeat(8)}${tag}</p>` +
      '<p>{% if score["[SCORE] Engagement"] > 3 %}<b>VIP</b>{% endif %}</p>' +
      '<a href="https://x.example/u/{{ contact.id }}">unsubscribe</a>';
    const text = htmlToText(html);
    expect(text.split(tag).length - 1).toBe(2);
    expect(text).toContain('{% if score["[SCORE] Engagement"] > 3 %}VIP{% endif %}');
    expect(text).toContain('unsubscribe [https://x.example/u/{{ contact.id }}]');
  });

  it('decodes entities', () => {
    expect(htmlToText('<p>Fish &amp; chips &eacute;t&eacute;</p>')).toBe('Fish & chips été');
  });
});
