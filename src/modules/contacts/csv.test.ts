import { afterAll, describe, expect, it } from 'vitest';
import { close } from '../../workers/workers.js';
import { type CsvItem, CsvParser, MAX_RECORD_CHARS, readCsv } from './csv.js';

const parse = (text: string, delimiter: string | null = null, chunk = text.length || 1): CsvItem[] => {
  const p = new CsvParser(delimiter);
  const out: CsvItem[] = [];
  for (let i = 0; i < text.length; i += chunk) out.push(...p.push(text.slice(i, i + chunk)));
  return [...out, ...p.end()];
};

const TRICKY = '\uFEFFa,b,c\r\n1,"x, ""y""\r\nz",3\n\n"",,\r"q"\r\n4,"5"x,6\n7,8,9\n"open,10';

describe('CSV parser', () => {
  it('reads quotes, escaped quotes, CRLF / LF / CR, BOM, blank lines; rejects malformed records only', () => {
    expect(parse(TRICKY)).toEqual([
      { fields: ['a', 'b', 'c'] },
      { fields: ['1', 'x, "y"\r\nz', '3'] },
      { fields: ['', '', ''] },
      { fields: ['q'] },
      { error: 'malformed CSV: unexpected text after a closing quote in field 2' },
      { fields: ['7', '8', '9'] },
      { error: 'malformed CSV: unterminated quoted field (a " is never closed)' },
    ]);
  });

  it('gives the same records whatever the chunk boundaries', () => {
    const whole = parse(TRICKY);
    for (const size of [1, 2, 3, 5, 7, 11]) expect(parse(TRICKY, null, size)).toEqual(whole);
  });

  it('resumes after the line where an unterminated quote started', () => {
    expect(parse('a,b\n1,"2\n3,4\n')).toEqual([
      { fields: ['a', 'b'] },
      { error: 'malformed CSV: unterminated quoted field (a " is never closed)' },
      { fields: ['3', '4'] },
    ]);
  });

  it('rejects a record too long to hold and keeps reading after it, in bounded memory', () => {
    const text = `a,b\n${'x'.repeat(MAX_RECORD_CHARS + 200_000)},1\n"${'y'.repeat(MAX_RECORD_CHARS + 10)}\n2,3\n`;
    expect(parse(text, null, 65536)).toEqual([
      { fields: ['a', 'b'] },
      { error: 'malformed CSV: row is too long' },
      { error: 'malformed CSV: unterminated quoted field (a " is never closed)' },
      { fields: ['2', '3'] },
    ]);
  });

  it('detects ; and tab delimiters from the header row', () => {
    expect(parse('a;b\n1;"2;3"\n')).toEqual([{ fields: ['a', 'b'] }, { fields: ['1', '2;3'] }]);
    expect(parse('a\tb\n1\t2\n')).toEqual([{ fields: ['a', 'b'] }, { fields: ['1', '2'] }]);
    expect(parse('a;b\n1;2\n', ',')).toEqual([{ fields: ['a;b'] }, { fields: ['1;2'] }]);
  });

  it('decodes Windows-1252 when the bytes are not UTF-8', async () => {
    const bytes = new Uint8Array([0x6e, 0x6f, 0x6d, 0x0a, 0x43, 0xe9, 0x63, 0x69, 0x6c, 0x65, 0x0a]);
    const items: CsvItem[] = [];
    for await (const item of readCsv(new Blob([bytes]).stream(), null)) items.push(item);
    expect(items).toEqual([{ fields: ['nom'] }, { fields: ['Cécile'] }]);
  });

  it('parses in a worker thread: the event loop turns while a costly record is parsed', async () => {
    // 1 MiB of empty fields, the costliest shape for the parser, from a stream that needs no I/O:
    // parsed on the event loop, its records would come before any timer or I/O could run.
    const record = new TextEncoder().encode(`${','.repeat(MAX_RECORD_CHARS - 16)}\n`);
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(record);
        c.close();
      },
    });
    const order: string[] = [];
    // A generous time limit: on a loaded machine this record can take longer than the default 3 s.
    const items = readCsv(stream, ',', { workerThreads: 1, workerQueueSize: 4, cpuCallTimeoutMs: 60_000 });
    setImmediate(() => order.push('event loop'));
    const first = await items.next();
    order.push('record');
    expect(first.value).toMatchObject({ fields: { length: MAX_RECORD_CHARS - 15 } });
    expect(order).toEqual(['event loop', 'record']);
  });
});

afterAll(() => close());
