/**
 * `npm run bench:events [-- --events 200000 --hits 30000 --concurrency 64 --copy 1000000]`:
 * behaviour events ingested per second through `recordEvents` (batches of 10,000 over HTTP) and
 * through the open-pixel endpoint (concurrent GETs from a child process, so the load generator
 * shares neither the server's event loop nor its CPU count), against a raw COPY into
 * `contact_event` in the same run; and the CPU a hit costs in the server process, in PostgreSQL
 * and in the load generator (all three share the box's cores).
 */

import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import { signTrackingToken, trackingKey } from '../src/modules/events/tracking.token.js';
import { sleep } from '../test/wait.js';
import { arg, benchContacts, fmt, postgresCpu, signUp, startBench, table } from './lib.js';

const EVENTS = Number(arg('events', '200000'));
const HITS = Number(arg('hits', '30000'));
const CONCURRENCY = Number(arg('concurrency', '64'));
const COPY_ROWS = Number(arg('copy', '1000000'));
const CONTACTS = 10_000;
const BATCH = 10_000;
const OPERATION = '6f1c9a52-0d7e-4b8e-9a43-2f5d7e8c1b00';

/**
 * Requests every path with `concurrency` keep-alive connections, one request in flight on each;
 * resolves with the answers that were not 200. A raw HTTP/1.1 client (request line, Host and
 * User-Agent; the answer read up to its Content-Length): Node's http.get cost the load generator
 * about as much CPU per request as the server spent, on the same two cores, and the bench measures
 * the server. The user agent is Apple Mail's (without Privacy Protection): a human open, so every
 * machine rule runs and none cuts it short.
 */
const LOAD = `
const net = require('node:net');
let port, paths, concurrency, t0;
const finish = (failed) => {
  const u = process.cpuUsage(t0);
  process.send({ failed, cpu: u.user + u.system }, () => process.exit(0));
};
const UA = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)';
let next = 0, failed = 0, lanes = 0;
function lane() {
  lanes++;
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  let buf = Buffer.alloc(0);
  const send = () => {
    if (next >= paths.length) { socket.end(); if (--lanes === 0) finish(failed); return; }
    socket.write('GET ' + paths[next++] + ' HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nUser-Agent: ' + UA + '\\r\\n\\r\\n');
  };
  socket.on('data', (chunk) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    for (;;) {
      const end = buf.indexOf('\\r\\n\\r\\n');
      if (end < 0) return;
      const head = buf.toString('latin1', 0, end);
      const m = /content-length: *(\\d+)/i.exec(head);
      const total = end + 4 + (m ? Number(m[1]) : 0);
      if (buf.length < total) return;
      if (head.slice(9, 12) !== '200') failed++;
      buf = buf.subarray(total);
      send();
    }
  });
  socket.on('error', (err) => { throw err; });
  send();
}
process.on('message', (m) => {
  if (m !== 'go') {
    ({ port, paths, concurrency } = m);
    process.send('ready');
    return;
  }
  t0 = process.cpuUsage();
  for (let i = 0; i < concurrency; i++) lane();
});
`;

const b = await startBench();
const results: (string | number)[][] = [];
const cpu: string[][] = [];
try {
  const { token, accountId } = await signUp(b, 'Events');
  const ids = await benchContacts(b, accountId, CONTACTS, 'e');
  const count = async () => Number((await b.pool.query('select count(*) as n from contact_event')).rows[0].n);

  // 1. recordEvents over HTTP, 10,000 per call.
  const mutation = 'mutation ($events: [EventInput!]!) { recordEvents(events: $events) }';
  let t0 = performance.now();
  for (let done = 0; done < EVENTS; done += BATCH) {
    const events = Array.from({ length: Math.min(BATCH, EVENTS - done) }, (_, i) => ({
      contactId: ids[(done + i) % ids.length],
      type: i % 3 === 0 ? 'EMAIL_CLICK' : 'EMAIL_OPEN',
      operationId: OPERATION,
      url: i % 3 === 0 ? 'https://shop.example.com/' : null,
    }));
    await b.gql(mutation, { events }, token);
  }
  const apiSeconds = (performance.now() - t0) / 1000;
  if ((await count()) !== EVENTS) throw new Error('recordEvents lost events');

  // 2. The open pixel, many concurrent GETs.
  const key = await trackingKey(b.app.services.config);
  const paths = Array.from(
    { length: HITS },
    (_, i) =>
      `/t/o/${signTrackingToken(key, { a: accountId, c: ids[i % ids.length], o: OPERATION, k: 'o' })}.gif`,
  );
  const load = spawn(process.execPath, ['-e', LOAD], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = new Promise((resolve) => load.once('message', resolve));
  load.send({ port: Number(new URL(b.origin).port), paths, concurrency: CONCURRENCY });
  await ready;
  const answer = new Promise<{ failed: number; cpu: number }>((resolve, reject) => {
    load.once('message', (m) => resolve(m as { failed: number; cpu: number }));
    load.once('error', reject);
    load.once('exit', (code) => reject(new Error(`load generator exited (${code})`)));
  });
  const pgBefore = await postgresCpu(b.pool);
  const nodeBefore = process.cpuUsage();
  t0 = performance.now();
  load.send('go');
  const { failed, cpu: loadCpu } = await answer;
  const pixelSeconds = (performance.now() - t0) / 1000;
  // Answered hits are committed to tracking_hit; the writer moves them into contact_event behind
  // the answers (MOVE_EVERY_MS). The CPU figures include the moves, the last one too.
  const answered = performance.now();
  const deadline = answered + 60_000;
  while ((await count()) < EVENTS + HITS && performance.now() < deadline) await sleep(5);
  const moveLag = performance.now() - answered;
  const nodeUsage = process.cpuUsage(nodeBefore);
  const pgCpu = (await postgresCpu(b.pool)) - pgBefore;
  if (failed || (await count()) !== EVENTS + HITS) throw new Error(`tracking lost hits (${failed} failed)`);
  console.log(`the last hits reached contact_event ${Math.round(moveLag)} ms after the last answer`);
  const perHit = (us: number) => `${Math.round(us / HITS)} us`;
  cpu.push([
    `open pixel GET, ${CONCURRENCY} concurrent`,
    perHit(nodeUsage.user + nodeUsage.system),
    perHit(pgCpu),
    perHit(loadCpu),
    perHit(nodeUsage.user + nodeUsage.system + pgCpu + loadCpu),
  ]);

  // 3. Baseline: COPY straight into the same table, same indexes and triggers; then, to show what
  // keeping contact_activity costs at ingest, the same COPY with its insert trigger disabled.
  const copySeconds = await copyRows(accountId, ids);
  await b.pool.query('alter table contact_event disable trigger contact_event_activity_insert');
  const copyBareSeconds = await copyRows(accountId, ids);
  await b.pool.query('alter table contact_event enable trigger contact_event_activity_insert');
  const copyRate = COPY_ROWS / copySeconds;
  const row = (name: string, n: number, s: number) => [
    name,
    fmt(n),
    s.toFixed(1),
    fmt(n / s),
    fmt(copyRate),
    (n / s / copyRate).toFixed(2),
  ];
  results.push(
    row('recordEvents, 10,000 per HTTP call', EVENTS, apiSeconds),
    row(`open pixel GET, ${CONCURRENCY} concurrent`, HITS, pixelSeconds),
    row('COPY (baseline)', COPY_ROWS, copySeconds),
    row('COPY without the contact_activity trigger (info: its ingest cost)', COPY_ROWS, copyBareSeconds),
  );
} finally {
  await b.close();
}
table(['path', 'events', 'seconds', 'events/s', 'COPY events/s (same run)', 'ratio to COPY'], results);
console.log();
table(['CPU per hit', 'server process', 'PostgreSQL', 'load generator', 'all'], cpu);

/** COPY_ROWS events into contact_event in one COPY; returns the seconds it took. */
async function copyRows(accountId: string, ids: string[]): Promise<number> {
  const client = await b.pool.connect();
  const t0 = performance.now();
  try {
    const now = new Date().toISOString();
    const lines = (function* () {
      const chunk: string[] = [];
      for (let i = 0; i < COPY_ROWS; i++) {
        chunk.push(
          `${accountId}\t${ids[i % ids.length]}\t${i % 3 === 0 ? 1 : 0}\t${now}\t${OPERATION}\t\\N\n`,
        );
        if (chunk.length === 10_000) yield chunk.splice(0).join('');
      }
      if (chunk.length) yield chunk.join('');
    })();
    await pipeline(
      Readable.from(lines),
      client.query(
        copyFrom(
          'copy contact_event (account_id, contact_id, type, occurred_at, operation_id, url) from stdin',
        ),
      ),
    );
  } finally {
    client.release();
  }
  return (performance.now() - t0) / 1000;
}
