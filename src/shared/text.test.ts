import { describe, expect, it } from 'vitest';
import { clip, storable } from './text.js';

const isWellFormed = (s: string) =>
  !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);

describe('clip', () => {
  it('never leaves half a surrogate pair', () => {
    const s = `${'a'.repeat(199)}😀b`;
    expect(clip(s, 200)).toBe('a'.repeat(199));
    expect(clip(s, 201)).toBe(`${'a'.repeat(199)}😀`);
    for (let n = 0; n <= 12; n++) expect(isWellFormed(clip('😀😀😀😀😀😀', n))).toBe(true);
  });

  it('keeps short strings and cuts plain text at n', () => {
    expect(clip('abc', 5)).toBe('abc');
    expect(clip('abcdef', 3)).toBe('abc');
    expect(clip('abc', 0)).toBe('');
    // A lone low surrogate given as input is left as is: clip only promises not to make one.
    expect(clip('é😀', 2)).toBe('é');
  });
});

describe('storable', () => {
  it('drops NUL and replaces lone surrogates, keeping pairs', () => {
    expect(storable('a\u0000b')).toBe('ab');
    expect(storable('x\ud83d y \ude00 😀')).toBe('x\ufffd y \ufffd 😀');
    expect(isWellFormed(storable('\udc00\ud800'))).toBe(true);
  });
});
