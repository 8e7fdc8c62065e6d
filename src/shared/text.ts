/**
 * The first `n` UTF-16 code units of `s`, one fewer when the cut would fall inside a surrogate
 * pair: `slice` would leave half a character, a lone surrogate that PostgreSQL's jsonb refuses
 * (an audit diff then fails to be written) and that text columns store as U+FFFD.
 */
export function clip(s: string, n: number): string {
  if (s.length <= n) return s;
  if (n <= 0) return '';
  const last = s.charCodeAt(n - 1);
  return s.slice(0, last >= 0xd800 && last <= 0xdbff ? n - 1 : n);
}

// A lone surrogate: a high one not followed by a low one, or a low one not preceded by a high.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** True when `s` holds a lone UTF-16 surrogate (invalid Unicode, which jsonb refuses). */
export const hasLoneSurrogate = (s: string): boolean => s.search(LONE_SURROGATE) >= 0;

/**
 * `s` as PostgreSQL can store it in text and jsonb: without NUL characters (refused by both) and
 * with lone surrogates replaced by U+FFFD (jsonb refuses them). For text that did not come through
 * the API's input guard: what a parser decoded (base64 or quoted-printable parts of a bounce).
 */
export function storable(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is what is removed
  return s.replace(/\u0000/g, '').replace(LONE_SURROGATE, '\ufffd');
}

/** Text for HTML, in element content and in quoted attribute values alike. */
export const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"'`]/g,
    (c) =>
      ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' })[c] as string,
  );
