/**
 * A memo of values computed from texts. One message asks about the same texts many times
 * (recipients sharing the explanation, reasons checking the same text): each is computed once.
 * Emptied past MAX_ENTRIES texts or MAX_CHARS characters of them, and after each message
 * (clearTextMemos, from classifyBounce): a key sliced from a large text keeps that whole text
 * alive, and a memo kept across messages bought nothing measurable (a fresh message costs the same).
 */
const MAX_ENTRIES = 512;
const MAX_CHARS = 4 * 1024 * 1024;

const memos = new Set<TextMemo<unknown>>();

/** Empties every memo: called once a message is classified. */
export function clearTextMemos(): void {
  for (const m of memos) m.clear();
}

export class TextMemo<T> {
  private readonly values = new Map<string, T>();
  private chars = 0;

  constructor() {
    memos.add(this as TextMemo<unknown>);
  }

  clear(): void {
    this.values.clear();
    this.chars = 0;
  }

  get(text: string, compute: (text: string) => T): T {
    if (this.values.has(text)) return this.values.get(text) as T;
    const value = compute(text);
    if (this.values.size >= MAX_ENTRIES || this.chars + text.length > MAX_CHARS) this.clear();
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
