import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_ANONYMOUS_BODY_BYTES, MAX_BODY_BYTES } from '../src/http/body-limit.js';
import { type Actor, signUpOwner, startTestApp, type TestApp } from './harness.js';

/**
 * The request body limit holds however the body is sent: a chunked body has no Content-Length
 * to check up front, so the bytes are counted as they arrive. The client streams its body and
 * stops writing as soon as the server answers.
 */
let t: TestApp;
let owner: Actor;
beforeAll(async () => {
  t = await startTestApp();
  owner = await signUpOwner(t);
});
afterAll(() => t.close());

function chunkedPost(
  totalBytes: number,
  token: string | null,
): Promise<{ status: number; body: string; sent: number }> {
  const url = new URL(t.url);
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'transfer-encoding': 'chunked',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
      },
      (res) => {
        answered = true;
        let body = '';
        res.on('data', (d: Buffer) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, sent }));
      },
    );
    req.on('error', (err) => (answered ? undefined : reject(err)));
    // A valid JSON document whose query string is padded with spaces up to totalBytes.
    const head = '{"query":"{ __typename ';
    const tail = '}"}';
    const chunk = Buffer.alloc(64 * 1024, ' ');
    req.write(head);
    sent += head.length;
    const pump = () => {
      while (!answered && sent + chunk.length < totalBytes - tail.length) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!answered) {
        req.end(tail);
        sent += tail.length;
      } else req.destroy();
    };
    pump();
  });
}

describe('request body limits', () => {
  it('answers a chunked body under the limit', async () => {
    const r = await chunkedPost(256 * 1024, owner.token);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).data).toEqual({ __typename: 'Query' });
  });

  it('refuses a chunked body over the limit with 413, without reading it all', async () => {
    const r = await chunkedPost(100 * 1024 * 1024, owner.token);
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body).errors[0].extensions.code).toBe('REQUEST_ENTITY_TOO_LARGE');
    // It stopped reading at the limit: the client was told long before it sent 100 MB.
    expect(r.sent).toBeLessThan(MAX_BODY_BYTES * 4);
    const again = await t.gql('{ __typename }');
    expect(again.data).toEqual({ __typename: 'Query' });
  });

  it('gives a request without a token 64 KiB, chunked or not: its variables are read before rights are', async () => {
    const small = await chunkedPost(MAX_ANONYMOUS_BODY_BYTES - 1024, null);
    expect(small.status).toBe(200);
    const chunked = await chunkedPost(MAX_ANONYMOUS_BODY_BYTES * 4, null);
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.body).errors[0].extensions.code).toBe('REQUEST_ENTITY_TOO_LARGE');
    const declared = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: '{ __typename }',
        variables: { pad: 'x'.repeat(MAX_ANONYMOUS_BODY_BYTES) },
      }),
    });
    expect(declared.status).toBe(413);
    // The same body with a token is read.
    const withToken = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${owner.token}` },
      body: JSON.stringify({
        query: '{ __typename }',
        variables: { pad: 'x'.repeat(MAX_ANONYMOUS_BODY_BYTES) },
      }),
    });
    expect(withToken.status).toBe(200);
  });
});
