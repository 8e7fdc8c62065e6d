import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Answer, post, stillAnswers } from './attack.js';
import { type Fixtures, fingerprint, judge, setUp } from './fixtures.js';

/**
 * Issue 10, 9, at the transport: wrong content types, malformed and invalid UTF-8 bodies, odd
 * methods and headers, broken multipart requests, a chunked body over the limit. Each answer is
 * below 500 and JSON whose errors all carry a contract code; the server keeps answering.
 */
let fx: Fixtures;
beforeAll(async () => {
  fx = await setUp();
});
afterAll(() => fx?.t.close());

const IMPORT =
  'mutation($input: ImportContactsInput!) { importContacts(input: $input) { id status total created rejected error } }';

function multipart(parts: [string, string | Blob, string?][]): FormData {
  const form = new FormData();
  for (const [name, value, filename] of parts)
    if (typeof value === 'string') form.append(name, value);
    else form.append(name, value, filename);
  return form;
}

async function send(init: RequestInit & { path?: string }): Promise<Answer> {
  const res = await fetch(new URL(init.path ?? '/graphql', fx.t.url), {
    ...init,
    headers: { authorization: `Bearer ${fx.a.owner.token}`, ...(init.headers as Record<string, string>) },
  });
  return { status: res.status, text: await res.text() };
}

const json = (body: string | Buffer, headers: Record<string, string> = {}) => post(fx, body, headers);
const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

const graphqlCases: [string, () => Promise<Answer>][] = [
  [
    'JSON sent as text/plain',
    () => json(JSON.stringify({ query: '{ __typename }' }), { 'content-type': 'text/plain' }),
  ],
  ['XML', () => json('<query>{ __typename }</query>', { 'content-type': 'application/xml' })],
  [
    'a form-urlencoded body',
    () => json('query=%7B__typename%7D', { 'content-type': 'application/x-www-form-urlencoded' }),
  ],
  ['application/graphql', () => json('{ __typename }', { 'content-type': 'application/graphql' })],
  ['no content type', () => send({ method: 'POST', body: new Blob(['{"query":"{ __typename }"}']) })],
  [
    'JSON in latin1',
    () =>
      json(JSON.stringify({ query: '{ __typename }' }), {
        'content-type': 'application/json; charset=latin1',
      }),
  ],
  [
    'an unknown accept type',
    () => json(JSON.stringify({ query: '{ __typename }' }), { accept: 'application/xml' }),
  ],
  [
    'invalid UTF-8 in the document',
    () =>
      json(bytes('{"query":"{ classifyBounce(message: \\"', [0xff, 0xfe, 0xc3, 0x28], '\\") { reason } }"}')),
  ],
  [
    'invalid UTF-8 in a variable',
    () =>
      json(
        bytes(
          '{"query":"query($s: String) { contacts(filter: { search: $s }) { nodes { id } } }","variables":{"s":"',
          [0xed, 0xa0, 0x80, 0xc0, 0xaf],
          '"}}',
        ),
      ),
  ],
  [
    'invalid UTF-8 in a mutation input',
    () =>
      json(
        bytes(
          '{"query":"mutation($i: CreateContactInput!) { createContact(input: $i) { id } }","variables":{"i":{"firstName":"',
          [0xf8, 0x88, 0x80, 0x80, 0x80],
          '"}}}',
        ),
      ),
  ],
  ['a byte order mark', () => json(bytes([0xef, 0xbb, 0xbf], '{"query":"{ __typename }"}'))],
  ['truncated JSON', () => json('{"query": "{ __typename }"')],
  ['JSON null', () => json('null')],
  ['a JSON string', () => json('"{ __typename }"')],
  ['a JSON number', () => json('123')],
  ['an empty JSON array', () => json('[]')],
  ['an empty object', () => json('{}')],
  ['an empty body', () => json('')],
  ['query as a number', () => json('{"query": 123}')],
  ['variables as a string', () => json('{"query":"{ __typename }","variables":"x"}')],
  ['variables as an array', () => json('{"query":"{ __typename }","variables":[1]}')],
  ['extensions as a string', () => json('{"query":"{ __typename }","extensions":"x"}')],
  ['operationName as a number', () => json('{"query":"{ __typename }","operationName":5}')],
  ['a 10 MB chunked body', () => chunked(10 * 1024 * 1024)],
  [
    'a mutation over GET',
    () =>
      send({
        method: 'GET',
        path: `/graphql?query=${encodeURIComponent('mutation { logout }')}`,
        headers: { accept: 'application/json' },
      }),
  ],
  [
    'GET with variables that are not JSON',
    () =>
      send({
        method: 'GET',
        path: '/graphql?query=%7B__typename%7D&variables=%7Bnope',
        headers: { accept: 'application/json' },
      }),
  ],
  [
    'GET with broken percent-encoding',
    () => send({ method: 'GET', path: '/graphql?query=%E0%A4%A', headers: { accept: 'application/json' } }),
  ],
  [
    'PUT',
    () =>
      send({
        method: 'PUT',
        body: '{"query":"{ __typename }"}',
        headers: { 'content-type': 'application/json' },
      }),
  ],
  ['DELETE', () => send({ method: 'DELETE' })],
  ['PATCH', () => send({ method: 'PATCH', body: '{}', headers: { 'content-type': 'application/json' } })],
  ['an 8 KB bearer token', () => post(fx, '{"query":"{ me { id } }"}', {}, 'x'.repeat(8000))],
  ['a bearer token with spaces', () => post(fx, '{"query":"{ me { id } }"}', {}, 'a b c')],
  ['Basic credentials', () => post(fx, '{"query":"{ me { id } }"}', { authorization: 'Basic YTpi' }, null)],
  [
    'a latin-1 bearer token',
    () => raw('{"query":"{ me { id } }"}', { authorization: 'Bearer \u00ff\u00fe\u00e9' }),
  ],
  [
    'a 4 KB X-Forwarded-For on a mutation',
    () =>
      raw(JSON.stringify({ query: 'mutation { createContact(input: { firstName: "xff" }) { id } }' }), {
        'x-forwarded-for': `${'1.2.3.4, '.repeat(400)}\u00ff`,
      }),
  ],
  [
    'a 4 KB X-Request-Id',
    () => raw('{"query":"{ __typename }"}', { 'x-request-id': `\u00ff${'r'.repeat(4000)}` }),
  ],
  [
    'an 12 KB URL',
    () =>
      send({
        method: 'GET',
        path: `/graphql?query=${encodeURIComponent(`{ ${'__typename '.repeat(1100)}}`)}`,
        headers: { accept: 'application/json' },
      }),
  ],
  ['multipart without operations', () => send({ method: 'POST', body: multipart([['map', '{}']]) })],
  [
    'multipart with operations that are not JSON',
    () =>
      send({
        method: 'POST',
        body: multipart([
          ['operations', '{nope'],
          ['map', '{}'],
        ]),
      }),
  ],
  [
    'multipart with a map that is not JSON',
    () =>
      send({
        method: 'POST',
        body: multipart([
          ['operations', JSON.stringify({ query: IMPORT, variables: { input: { file: null } } })],
          ['map', '[nope'],
        ]),
      }),
  ],
  [
    'multipart whose map names a missing file',
    () =>
      send({
        method: 'POST',
        body: multipart([
          ['operations', JSON.stringify({ query: IMPORT, variables: { input: { file: null } } })],
          ['map', '{"0":["variables.input.file"]}'],
        ]),
      }),
  ],
  [
    'multipart whose map points outside the variables',
    () =>
      send({
        method: 'POST',
        body: multipart([
          ['operations', JSON.stringify({ query: IMPORT, variables: { input: { file: null } } })],
          ['map', '{"0":["__proto__.polluted"]}'],
          ['0', new Blob(['email\nx@example.com\n']), 'c.csv'],
        ]),
      }),
  ],
  [
    'multipart with a file where a String goes',
    () =>
      send({
        method: 'POST',
        body: multipart([
          [
            'operations',
            JSON.stringify({
              query: '{ classifyBounce(message: null) { reason } }'.replace('null', '$m'),
              variables: { m: null },
            }),
          ],
          ['map', '{"0":["variables.m"]}'],
          ['0', new Blob(['x']), 'x.txt'],
        ]),
      }),
  ],
  ['multipart without a boundary', () => json('--x\r\n\r\n', { 'content-type': 'multipart/form-data' })],
  [
    'truncated multipart',
    () =>
      json('--b\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{"query":', {
        'content-type': 'multipart/form-data; boundary=b',
      }),
  ],
  [
    'a CSV that is not text',
    () =>
      send({
        method: 'POST',
        body: multipart([
          ['operations', JSON.stringify({ query: IMPORT, variables: { input: { file: null } } })],
          ['map', '{"0":["variables.input.file"]}'],
          ['0', new Blob([new Uint8Array([0xff, 0xfe, 0, 0, 0xd8, 0x00, 0, 1, 2, 3])]), 'c.csv'],
        ]),
      }),
  ],
];

/** A POST through node:http, which lets headers carry latin-1 bytes as a raw client can. */
function raw(body: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      fx.t.url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${fx.a.owner.token}`,
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A POST whose body comes in chunks, with no Content-Length. */
function chunked(size: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      fx.t.url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        agent: false,
      },
      (res) => {
        let text = '';
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.write('{"query":"{ __typename }","variables":{"x":"');
    const chunk = 'x'.repeat(64 * 1024);
    let sent = 0;
    const more = () => {
      while (sent < size) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', more);
      }
      req.end('"}}');
    };
    more();
  });
}

describe('hostile requests to /graphql', () => {
  for (const [name, call] of graphqlCases)
    it(`${name}: below 500, JSON with coded errors, nothing written`, async () => {
      const before = await fingerprint(fx.t);
      const answer = await call();
      const problems = judge(answer.status, answer.text);
      if (answer.text.includes('"errors"') && (await fingerprint(fx.t)) !== before)
        problems.push('refused but wrote');
      expect([...problems, ...(await stillAnswers(fx))]).toEqual([]);
    });
});
