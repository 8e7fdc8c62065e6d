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
