import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { GqlError } from '../harness.js';
import { stillAnswers } from './attack.js';
import { type Fixtures, fingerprint, judgeErrors, setUp } from './fixtures.js';

/**
 * Issue 10, 9, on the graphql-ws socket itself: frames a client library would never send. The
 * server answers with graphql-ws's close codes (4400 bad message, 4401 not initialised, 4403,
 * 4409 duplicate id, 4429 second init, 1009 too big) or coded errors, never an internal error
 * (1011) or a crash, and keeps answering `{ __typename }`.
 */
let fx: Fixtures;
beforeAll(async () => {
  fx = await setUp();
});
afterAll(() => fx?.t.close());

/** graphql-ws's own codes and the WebSocket ones for a refused frame. */
const REFUSALS = [1000, 1009, 4400, 4401, 4403, 4406, 4409, 4429];
const WATCH_MS = 600;

interface Outcome {
  close?: number;
  messages: { type: string; payload?: unknown }[];
}

/**
 * Opens a raw socket, sends the frames in order, and reports what came back within WATCH_MS. When
 * the first frame is a connection_init, the others wait for its ack, as a client's must (sent
 * earlier, graphql-ws closes with 4401 before reading them).
 */
function session(
  frames: (string | Buffer)[],
  protocol = 'graphql-transport-ws',
  watchMs = WATCH_MS,
): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = { messages: [] };
    const socket = new WebSocket(fx.t.wsUrl, protocol);
    const done = () => {
      clearTimeout(timer);
      if (socket.readyState === WebSocket.OPEN) socket.close(1000);
      resolve(out);
    };
    const timer = setTimeout(done, watchMs);
    const initFirst = typeof frames[0] === 'string' && frames[0].includes('"connection_init"');
    socket.on('open', () => {
      for (const f of initFirst ? frames.slice(0, 1) : frames) socket.send(f);
    });
    socket.on('message', (data) => {
      let m: { type: string; payload?: unknown };
      try {
        m = JSON.parse(String(data));
      } catch {
        m = { type: `not JSON: ${String(data).slice(0, 80)}` };
      }
      out.messages.push(m);
      if (initFirst && m.type === 'connection_ack') for (const f of frames.slice(1)) socket.send(f);
      // An operation that ended (a query, a mutation, a refused subscription) ends the watch.
      if (m.type === 'complete' || m.type === 'error') done();
    });
    socket.on('close', (code) => {
      out.close = code;
      done();
    });
    socket.on('error', () => done());
  });
}

const init = (payload: unknown = { authorization: `Bearer ${fx.a.owner.token}` }) =>
  JSON.stringify({ type: 'connection_init', payload });
const subscribe = (id: string, payload: unknown) => JSON.stringify({ id, type: 'subscribe', payload });
const DEEP = 100_000;

const cases: [string, () => (string | Buffer)[], string?][] = [
  ['a frame that is not JSON', () => ['{nope']],
  ['a binary frame of garbage', () => [Buffer.from([0xff, 0xfe, 0x00, 0x01])]],
  ['an unknown message type', () => [init(), JSON.stringify({ type: 'hello' })]],
  ['connection_init with a string payload', () => [init('Bearer x')]],
  ['connection_init with an array payload', () => [init([1, 2])]],
  ['connection_init with a 1 MiB token', () => [init({ authorization: `Bearer ${'x'.repeat(1 << 20)}` })]],
  ['connection_init with a numeric token', () => [init({ authorization: 12345 })]],
  ['connection_init with a NUL in the token', () => [init({ authorization: 'Bearer a\u0000b' })]],
  ['two connection_init', () => [init(), init()]],
  [
    'subscribe before connection_init',
    () => [subscribe('1', { query: 'subscription { bounceReceived { id } }' })],
  ],
  [
    'the same subscription id twice',
    () => [
      init(),
      subscribe('1', { query: 'subscription { bounceReceived { id } }' }),
      subscribe('1', { query: 'subscription { bounceReceived { id } }' }),
    ],
  ],
  ['a subscribe without a query', () => [init(), subscribe('1', {})]],
  ['a subscribe whose query is a number', () => [init(), subscribe('1', { query: 42 })]],
  [
    'a subscription id of 1 MiB',
    () => [init(), subscribe('x'.repeat(1 << 20), { query: 'subscription { bounceReceived { id } }' })],
  ],
  [
    'a document 100,000 levels deep',
    () => [
      init(),
      subscribe('1', {
        query: `subscription { bounceReceived { ${'... on Bounce { '.repeat(DEEP)}id${' }'.repeat(DEEP)} } }`,
      }),
    ],
  ],
  [
    'variables 100,000 levels deep',
    () => [
      init(),
      `{"id":"1","type":"subscribe","payload":{"query":"subscription($id: ID!) { importProgress(importId: $id) { id } }","variables":{"id":${'['.repeat(DEEP)}${']'.repeat(DEEP)}}}}`,
    ],
  ],
  [
    '1,000 __typename aliases',
    () => [
      init(),
      subscribe('1', {
        query: `subscription { bounceReceived { ${Array.from({ length: 1000 }, (_, i) => `t${i}: __typename`).join(' ')} } }`,
      }),
    ],
  ],
  [
    'a mutation with a NUL over the socket',
    () => [
      init(),
      subscribe('1', { query: 'mutation { createContact(input: { firstName: "a\\u0000b" }) { id } }' }),
    ],
    'write',
  ],
  [
    'a mutation with a lone surrogate over the socket',
    () => [
      init(),
      subscribe('1', {
        query: 'mutation($n: String) { createContact(input: { firstName: $n }) { id } }',
        variables: { n: '\ud800' },
      }),
    ],
    'write',
  ],
  ['complete for an id never used', () => [init(), JSON.stringify({ id: 'nope', type: 'complete' })]],
  [
    '500 subscriptions on one socket',
    () => [
      init(),
      ...Array.from({ length: 500 }, (_, i) =>
        subscribe(`s${i}`, { query: 'subscription { bounceReceived { id } }' }),
      ),
    ],
  ],
];

describe('hostile graphql-ws frames', () => {
  for (const [name, frames, kind] of cases)
    it(`${name}: a refusal code or coded errors, never an internal error`, async () => {
      const before = kind === 'write' ? await fingerprint(fx.t) : '';
      const out = await session(frames());
      const problems: string[] = [];
      if (out.close !== undefined && !REFUSALS.includes(out.close)) problems.push(`closed with ${out.close}`);
      for (const m of out.messages) {
        if (m.type.startsWith('not JSON')) problems.push(m.type);
        if (m.type === 'error') problems.push(...judgeErrors(m.payload as GqlError[]));
        if (m.type === 'next') problems.push(...judgeErrors((m.payload as { errors?: GqlError[] }).errors));
      }
      const refused = out.messages.some(
        (m) =>
          m.type === 'error' || (m.type === 'next' && (m.payload as { errors?: unknown[] }).errors?.length),
      );
      if (kind === 'write' && refused && (await fingerprint(fx.t)) !== before)
        problems.push('refused but wrote');
      expect([...problems, ...(await stillAnswers(fx))]).toEqual([]);
    });

  it('a wrong subprotocol is refused at the handshake', async () => {
    const out = await session([init()], 'graphql-ws-nope');
    expect(out.messages.filter((m) => m.type === 'connection_ack')).toEqual([]);
    expect(await stillAnswers(fx)).toEqual([]);
  });

  it('a 16 MiB frame (twice the HTTP body limit) is refused, not parsed', { timeout: 30_000 }, async () => {
    // Sending 16 MiB takes a while on a loaded machine: wait for the answer, not WATCH_MS.
    const out = await session(
      [init(), subscribe('1', { query: '{ __typename }', variables: { x: 'x'.repeat(16 << 20) } })],
      'graphql-transport-ws',
      10_000,
    );
    expect(out.messages.filter((m) => m.type === 'next')).toEqual([]);
    expect([1009, 4400, 4413]).toContain(out.close);
    expect(await stillAnswers(fx)).toEqual([]);
  });
});
