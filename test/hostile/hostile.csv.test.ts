import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Answer } from './attack.js';
import { stillAnswers } from './attack.js';
import { type Fixtures, fingerprint, judge, setUp } from './fixtures.js';

/**
 * Issue 10, 9, for CSV uploads: files a spreadsheet would never write (unclosed quotes, a 1 MiB
 * field, 10,000 columns, NUL and control bytes, other encodings, hostile delimiters and mappings).
 * Each import answers data (DONE, or FAILED with its reason) or a coded error, never a 5xx or a
 * masked error; a refused file writes nothing.
 */
let fx: Fixtures;
beforeAll(async () => {
  fx = await setUp();
});
afterAll(() => fx?.t.close());

const IMPORT =
  'mutation($input: ImportContactsInput!) { importContacts(input: $input) { id status total created rejected error } }';

async function upload(file: string | Uint8Array, input: Record<string, unknown> = {}): Promise<Answer> {
  const form = new FormData();
  form.append(
    'operations',
    JSON.stringify({ query: IMPORT, variables: { input: { ...input, file: null } } }),
  );
  form.append('map', '{"0":["variables.input.file"]}');
  form.append('0', new Blob([file as BlobPart], { type: 'text/csv' }), 'contacts.csv');
  const res = await fetch(fx.t.url, {
    method: 'POST',
    headers: { authorization: `Bearer ${fx.a.owner.token}`, accept: 'application/graphql-response+json' },
    body: form,
  });
  return { status: res.status, text: await res.text() };
}

const utf16 = (s: string) => new Uint8Array([0xff, 0xfe, ...Buffer.from(s, 'utf16le')]);
const files: [string, () => string | Uint8Array, Record<string, unknown>?][] = [
  ['an unclosed quote', () => 'email,lastName\n"open@example.com,Name\nnext@example.com,Other\n'],
  ['a 1 MiB field', () => `email,lastName\nbig@example.com,${'x'.repeat(1 << 20)}\n`],
  ['10,000 columns', () => `${Array.from({ length: 10_000 }, (_, i) => `c${i}`).join(',')}\nx\n`],
  ['a header only', () => 'email,lastName\n'],
  ['an empty file', () => ''],
  ['a byte order mark only', () => new Uint8Array([0xef, 0xbb, 0xbf])],
  [
    'Windows-1252 bytes',
    () => new Uint8Array([...Buffer.from('email,lastName\nw@example.com,'), 0x80, 0x9f, 0xe9, 0x0a]),
  ],
  ['UTF-16 with its byte order mark', () => utf16('email,lastName\nu16@example.com,Name\n')],
  ['a NUL in the header', () => 'em\u0000ail,lastName\nx@example.com,Name\n'],
  ['control bytes in a row', () => 'email,lastName\nctl@example.com,\u0001\u001b[31m\u007f\n'],
  [
    'lone surrogate bytes (CESU-8)',
    () => new Uint8Array([...Buffer.from('email,lastName\ns@example.com,'), 0xed, 0xa0, 0x80, 0x0a]),
  ],
  ['CR-only line ends', () => 'email,lastName\rcr1@example.com,A\rcr2@example.com,B\r'],
  ['100,000 empty lines', () => `email,lastName\n${'\n'.repeat(100_000)}`],
  ['a NUL delimiter', () => 'email\u0000lastName\nnd@example.com\u0000Name\n', { delimiter: '\u0000' }],
  ['a quote as delimiter', () => 'email"lastName\n', { delimiter: '"' }],
  ['a two-character delimiter', () => 'email;;lastName\n', { delimiter: ';;' }],
  ['a newline as delimiter', () => 'email\nlastName\n', { delimiter: '\n' }],
  [
    'a mapping to an unknown field',
    () => 'email\nm@example.com\n',
    { mapping: [{ column: 'email', field: 'nope\u0000' }] },
  ],
  [
    'a mapping of a missing column',
    () => 'email\nm@example.com\n',
    { mapping: [{ column: '\ud800', field: 'email' }] },
  ],
  [
    'a mapping of one column to two fields',
    () => 'email\nm2@example.com\n',
    {
      mapping: [
        { column: 'email', field: 'email' },
        { column: 'email', field: 'phone' },
      ],
    },
  ],
  ['both rows and a file', () => 'email\nboth@example.com\n', { rows: [{ email: 'row@example.com' }] }],
  ['a date of year 0 in a DATE custom field', () => 'email,born\ny0@example.com,0000-01-01\n'],
  ['a NUMBER custom field of 40 digits', () => `email,amount\nn40@example.com,${'9'.repeat(40)}\n`],
];

describe('hostile CSV uploads', () => {
  it('every hostile file answers data or a coded error, and a refused one writes nothing', async () => {
    const failures: string[] = [];
    for (const [name, file, input] of files) {
      const before = await fingerprint(fx.t);
      const answer = await upload(file(), input);
      const problems = judge(answer.status, answer.text);
      if (answer.text.includes('"errors"') && (await fingerprint(fx.t)) !== before)
        problems.push('refused but wrote');
      failures.push(...[...problems, ...(await stillAnswers(fx))].map((p) => `${name}: ${p}`));
    }
    expect(failures).toEqual([]);
  });
});
