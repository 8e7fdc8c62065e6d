import { badInput } from '../../shared/errors.js';

/** A parsed record, or why the text between two record boundaries is not one. */
export type CsvItem = { fields: string[] } | { error: string };

/** A record (quotes included) longer than this is refused: it bounds the parser's memory. */
export const MAX_RECORD_CHARS = 1 << 20;
const DELIMITERS = [',', ';', '\t', '|'];
/** Decoded text is fed to the parser in slices this big, so one huge chunk never becomes one huge string. */
const SLICE_BYTES = 64 * 1024;

const NEED_MORE = Symbol('need more');

/**
 * An incremental RFC 4180 parser: quoted fields with "" escapes and line breaks, CRLF / LF / CR,
 * optional BOM. It keeps only the unfinished record in memory. A malformed record (an
 * unterminated quote, text after a closing quote, a record over MAX_RECORD_CHARS) becomes an
 * error item and parsing resumes at the next line, so one bad row never takes the others with it.
 * A blank line is no record at all.
 */
export class CsvParser {
  private buf = '';
  private pos = 0;
  private started = false;
  /** Dropping the rest of an over-long line until its line break arrives. */
  private dropping = false;
  constructor(private delim: string | null) {}

  get delimiter(): string | null {
    return this.delim;
  }

  push(text: string): CsvItem[] {
    if (!this.started) {
      if (text.length === 0) return [];
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    this.buf = this.pos > 0 ? this.buf.slice(this.pos) + text : this.buf + text;
    this.pos = 0;
    return this.drain(false);
  }

  end(): CsvItem[] {
    return this.drain(true);
  }

  private drain(final: boolean): CsvItem[] {
    const out: CsvItem[] = [];
    if (this.delim === null) {
      const eol = this.buf.search(/[\r\n]/);
      if (eol < 0 && !final && this.buf.length <= MAX_RECORD_CHARS) return out;
      this.delim = detectDelimiter(eol < 0 ? this.buf : this.buf.slice(0, eol));
    }
    if (this.dropping) {
      const eol = this.buf.slice(this.pos).search(/[\r\n]/);
      if (eol < 0) {
        this.pos = this.buf.length;
        return out;
      }
      this.pos += eol;
      this.dropping = false;
    }
    while (this.pos < this.buf.length) {
      const item = this.record(final);
      if (item === NEED_MORE) break;
      if (item) out.push(item);
    }
    return out;
  }

  /** Parses one record at `pos`; null for a blank line. */
  private record(final: boolean): CsvItem | null | typeof NEED_MORE {
    const { buf } = this;
    const d = this.delim as string;
    const start = this.pos;
    const fields: string[] = [];
    let i = start;
    for (;;) {
      if (buf[i] === '"') {
        let value = '';
        let j = i + 1;
        for (;;) {
          const q = buf.indexOf('"', j);
          if (q < 0 || (q + 1 === buf.length && !final)) {
            if (!final && buf.length - start <= MAX_RECORD_CHARS) return NEED_MORE;
            return this.skipLine(start, 'unterminated quoted field (a " is never closed)', final);
          }
          if (buf[q + 1] === '"') {
            value += `${buf.slice(j, q)}"`;
            j = q + 2;
            continue;
          }
          value += buf.slice(j, q);
          i = q + 1;
          break;
        }
        fields.push(value);
        const c = buf[i];
        if (c === d) {
          i++;
          continue;
        }
        if (c === undefined || c === '\r' || c === '\n') {
          if (c === undefined && !final) return NEED_MORE;
          return this.finish(i, fields);
        }
        return this.skipLine(i, `unexpected text after a closing quote in field ${fields.length}`, final);
      }
      let j = i;
      while (j < buf.length) {
        const c = buf[j];
        if (c === d || c === '\r' || c === '\n') break;
        j++;
      }
      if (j === buf.length && !final) {
        if (buf.length - start > MAX_RECORD_CHARS) return this.skipLine(start, 'row is too long', final);
        return NEED_MORE;
      }
      fields.push(buf.slice(i, j));
      if (buf[j] === d) {
        i = j + 1;
        continue;
      }
      if (fields.length === 1 && fields[0] === '') {
        if (buf[j] === '\r' && j + 1 === buf.length && !final) return NEED_MORE;
        this.pos = afterEol(buf, j);
        return null;
      }
      return this.finish(j, fields);
    }
  }

  private finish(eol: number, fields: string[]): CsvItem | typeof NEED_MORE {
    // A CR at the very end of the buffer may be the first half of a CRLF.
    if (this.buf[eol] === '\r' && eol + 1 === this.buf.length) return NEED_MORE;
    this.pos = afterEol(this.buf, eol);
    return { fields };
  }

  /**
   * Rejects the record and resumes after the line break that follows `from`. While that line
   * break has not arrived the record is parsed again with more text (same verdict), unless the
   * record is already too long to keep: then the rest of its line is dropped as it comes.
   */
  private skipLine(from: number, error: string, final: boolean): CsvItem | typeof NEED_MORE {
    const m = /\r\n|\r|\n/g;
    m.lastIndex = from;
    const hit = m.exec(this.buf);
    if (hit) this.pos = hit.index + hit[0].length;
    else if (!final && this.buf.length - this.pos <= MAX_RECORD_CHARS) return NEED_MORE;
    else {
      this.pos = this.buf.length;
      this.dropping = !final;
    }
    return { error: `malformed CSV: ${error}` };
  }
}

function afterEol(buf: string, i: number): number {
  if (buf[i] === '\r' && buf[i + 1] === '\n') return i + 2;
  return i < buf.length ? i + 1 : i;
}

/** The candidate delimiter that occurs most in the header line (outside quotes); a comma by default. */
export function detectDelimiter(header: string): string {
  const bare = header.replace(/"[^"]*"/g, '');
  let best = ',';
  let bestCount = 0;
  for (const d of DELIMITERS) {
    const n = bare.split(d).length - 1;
    if (n > bestCount) [best, bestCount] = [d, n];
  }
  return best;
}

/**
 * Streams the records of a CSV byte stream. UTF-8 unless the first bytes are not valid UTF-8,
 * then Windows-1252 (what spreadsheet software on Windows writes). A NUL byte at the start means
 * a binary file: BAD_USER_INPUT before anything is read further.
 */
export async function* readCsv(
  stream: ReadableStream<Uint8Array>,
  delimiter: string | null,
): AsyncGenerator<CsvItem> {
  const parser = new CsvParser(delimiter);
  let decoder: TextDecoder | null = null;
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (let off = 0; off < value.length; off += SLICE_BYTES) {
        const slice = value.subarray(off, off + SLICE_BYTES);
        if (!decoder) decoder = chooseDecoder(slice);
        yield* parser.push(decoder.decode(slice, { stream: true }));
      }
    }
    if (decoder) yield* parser.push(decoder.decode());
    yield* parser.end();
  } finally {
    reader.releaseLock();
  }
}

function chooseDecoder(first: Uint8Array): TextDecoder {
  if (first.subarray(0, 4096).includes(0)) throw badInput('file: this is not a CSV text file');
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(first, { stream: true });
    return new TextDecoder('utf-8');
  } catch {
    return new TextDecoder('windows-1252');
  }
}
