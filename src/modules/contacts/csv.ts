import type { WorkerSettings } from '../../config.js';
import { badInput } from '../../shared/errors.js';
import { CallTimedOut, WorkerDied } from '../../workers/pool.js';
import { poolFor } from '../../workers/workers.js';
import { type PackedItems, pack, unpack } from './csv.packed.js';

/** A parsed record, or why the text between two record boundaries is not one. */
export type CsvItem = { fields: string[] } | { error: string };

/** Everything a CsvParser holds between two pushes, as plain data that crosses threads. */
export interface ParserState {
  /** The unfinished record (at most MAX_RECORD_CHARS and a slice). */
  rest: string;
  delim: string | null;
  started: boolean;
  dropping: boolean;
}

/** One call of the CSV worker (src/workers/csv.worker.ts): texts pushed in order, then end if final. */
export interface ParseTask {
  state: ParserState;
  texts: string[];
  final: boolean;
}
export interface ParseResult {
  state: ParserState;
  items: PackedItems;
}

/** A record (quotes included) longer than this is refused: it bounds the parser's memory. */
export const MAX_RECORD_CHARS = 1 << 20;
const DELIMITERS = [',', ';', '\t', '|'];
/** Decoded text is fed to the parser in slices this big, so one huge chunk never becomes one huge string. */
const SLICE_BYTES = 64 * 1024;
/** Text sent to the CSV worker per call (see readCsv). */
const BATCH_BYTES = 256 * 1024;

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

  /** A parser where `state` (from state()) left off, in this thread or another. */
  static resume(state: ParserState): CsvParser {
    const p = new CsvParser(state.delim);
    p.buf = state.rest;
    p.started = state.started;
    p.dropping = state.dropping;
    return p;
  }

  state(): ParserState {
    return {
      rest: this.buf.slice(this.pos),
      delim: this.delim,
      started: this.started,
      dropping: this.dropping,
    };
  }

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

/** What the CSV worker runs: a parser resumed from the task's state, the texts, its new state. */
export function parseTask(task: ParseTask): ParseResult {
  const parser = CsvParser.resume(task.state);
  const items: CsvItem[] = [];
  for (const text of task.texts) items.push(...parser.push(text));
  if (task.final) items.push(...parser.end());
  return { state: parser.state(), items: pack(items) };
}

/**
 * Streams the records of a CSV byte stream. UTF-8 unless the first bytes are not valid UTF-8,
 * then Windows-1252 (what spreadsheet software on Windows writes). A NUL byte at the start means
 * a binary file: BAD_USER_INPUT before anything is read further.
 *
 * Decoding stays here (native, and a TextDecoder's state cannot cross threads); parsing runs in
 * the CSV worker pool, one call per chunk read, with the parser's state carried from call to
 * call: parsing a hostile slice (a 1 MiB record of fields or "" escapes, re-read as each slice
 * arrives) holds a thread for tens of ms, too long for the event loop. One chunk is in flight at
 * a time, so memory stays one chunk and one unfinished record.
 */
export async function* readCsv(
  stream: ReadableStream<Uint8Array>,
  delimiter: string | null,
  settings?: WorkerSettings,
): AsyncGenerator<CsvItem> {
  let state: ParserState = { rest: '', delim: delimiter, started: false, dropping: false };
  const parse = async (texts: string[], final: boolean) => {
    let result: ParseResult;
    try {
      result = await poolFor('csv', settings).run<ParseResult>({ state, texts, final } satisfies ParseTask);
    } catch (err) {
      if (err instanceof CallTimedOut || (err instanceof WorkerDied && err.outOfMemory))
        throw badInput('file: a part of the file is too costly to parse');
      throw err;
    }
    state = result.state;
    return unpack(result.items);
  };
  let decoder: TextDecoder | null = null;
  const reader = stream.getReader();
  // A read not yet answered is kept for the next batch: the stream may pause (a slow client, a
  // source waiting for something) and the rows already read must not wait for it.
  let pending: Promise<ReadableStreamReadResult<Uint8Array>> | null = null;
  const read = () => {
    pending ??= reader.read();
    return pending;
  };
  try {
    let done = false;
    while (!done) {
      // Chunks read from a socket are often a few KB: a worker call each would cost more than the
      // parsing. Up to BATCH_BYTES are gathered per call, but after the first chunk a read that
      // does not answer within GATHER_MS ends the batch: a stream that pauses (a slow client, a
      // source waiting for something) does not hold back the rows already read.
      const texts: string[] = [];
      let bytes = 0;
      let failure: { err: unknown } | null = null;
      while (bytes < BATCH_BYTES) {
        let next: ReadableStreamReadResult<Uint8Array> | typeof IDLE;
        try {
          next = bytes === 0 ? await read() : await soon(read());
        } catch (err) {
          // The rows read before the stream broke are still rows: they go first, then the error.
          pending = null;
          failure = { err };
          break;
        }
        if (next === IDLE) break;
        pending = null;
        if (next.done) {
          done = true;
          break;
        }
        const { value } = next;
        bytes += value.length;
        for (let off = 0; off < value.length; off += SLICE_BYTES) {
          const slice = value.subarray(off, off + SLICE_BYTES);
          if (!decoder) decoder = chooseDecoder(slice);
          texts.push(decoder.decode(slice, { stream: true }));
        }
      }
      if (done && decoder) texts.push(decoder.decode());
      yield* await parse(texts, done);
      if (failure) throw failure.err;
    }
  } finally {
    reader.releaseLock();
  }
}

const IDLE = Symbol('idle');
const GATHER_MS = 20;

/** The read's answer, or IDLE if it takes longer than GATHER_MS (the read stays pending). */
function soon<T>(read: Promise<T>): Promise<T | typeof IDLE> {
  let timer: NodeJS.Timeout | undefined;
  const idle = new Promise<typeof IDLE>((resolve) => {
    timer = setTimeout(() => resolve(IDLE), GATHER_MS);
  });
  return Promise.race([read, idle]).finally(() => clearTimeout(timer));
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
