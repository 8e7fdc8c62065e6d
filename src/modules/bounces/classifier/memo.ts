/**
 * A memo of values computed from texts. One message asks about the same texts many times
 * (recipients sharing the explanation, reasons checking the same text): each is computed once.
 * Emptied past MAX_ENTRIES texts or MAX_CHARS characters of them, so what it keeps between
 * messages stays small whatever they hold.
 */
const MAX_ENTRIES = 512;
const MAX_CHARS = 4 * 1024 * 1024;

export class TextMemo<T> {
  private readonly values = new Map<string, T>();
  private chars = 0;

  get(text: string, compute: (text: string) => T): T {
    if (this.values.has(text)) return this.values.get(text) as T;
    const value = compute(text);
    if (this.values.size >= MAX_ENTRIES || this.chars + text.length > MAX_CHARS) {
      this.values.clear();
      this.chars = 0;
    }
    this.values.set(text, value);
    this.chars += text.length;
    return value;
  }
}

/** `f` memoised per text. */
export function memoised<T>(f: (text: string) => T): (text: string) => T {
  const memo = new TextMemo<T>();
  return (text) => memo.get(text, f);
}
