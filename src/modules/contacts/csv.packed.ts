import type { CsvItem } from './csv.js';

/**
 * Parsed CSV records as they cross from the CSV worker to the event loop: every value in one
 * string, and their lengths in an Int32Array. Posted as objects, the records of a 256 KB batch
 * (thousands of small arrays and strings) cost as much to clone and rebuild on the event loop as
 * parsing them there did; one string and one typed array cost a copy.
 */
export interface PackedItems {
  text: string;
  /** Per item: its field count then each field's length, or -1 then the error's length. */
  layout: Int32Array;
}

export function pack(items: CsvItem[]): PackedItems {
  const parts: string[] = [];
  const layout: number[] = [];
  for (const item of items) {
    if ('error' in item) {
      layout.push(-1, item.error.length);
      parts.push(item.error);
    } else {
      layout.push(item.fields.length);
      for (const f of item.fields) {
        layout.push(f.length);
        parts.push(f);
      }
    }
  }
  return { text: parts.join(''), layout: Int32Array.from(layout) };
}

/**
 * A copy of a value that does not keep the batch's whole text alive: V8 makes a slice of 13+
 * characters a view into its parent string, and the rows of a batch live long enough to be
 * promoted to the old generation, so each would keep a 256 KB text there (a file's worth of
 * garbage before the next full GC). Prefixing then slicing flattens to a string of its own.
 */
const own = (s: string) => (s.length < 13 ? s : ` ${s}`.slice(1));

export function unpack({ text, layout }: PackedItems): CsvItem[] {
  const items: CsvItem[] = [];
  let at = 0;
  for (let i = 0; i < layout.length; ) {
    const n = layout[i++];
    if (n < 0) {
      const len = layout[i++];
      items.push({ error: text.slice(at, at + len) });
      at += len;
      continue;
    }
    const fields = new Array<string>(n);
    for (let f = 0; f < n; f++) {
      const len = layout[i++];
      fields[f] = own(text.slice(at, at + len));
      at += len;
    }
    items.push({ fields });
  }
  return items;
}
