/**
 * `npm run bench:latency [-- --requests 300 --seconds 6]`: does CPU-bound work stall the server?
 * Latency of a trivial query (`{ __typename }`, one at a time over keep-alive) with the server
 * idle, then while every classifier worker is kept busy with the costliest bounce known
 * (src/modules/bounces/testing/costly.ts: 1,000 recipients sharing one long explanation, about
 * 12 s of CPU in-thread, cut at CPU_CALL_TIMEOUT_MS in a worker). Prints p50 and p99 of both and
 * the ratio; the target is a p99 under 50 ms while classifying. The classifications answered are
 * counted by their code, to show the workers were busy the whole time. A third row: while CSV
 * text shaped to be costly to parse (1 MiB records of empty fields, re-read as each slice comes)
 * is read in this process as an upload is, through readCsv.
 */
import { costlyBounce } from '../src/modules/bounces/testing/costly.js';
import { readCsv } from '../src/modules/contacts/csv.js';
import { arg, signUp, startBench, table } from './lib.js';

const REQUESTS = Number(arg('requests', '300'));
const SECONDS = Number(arg('seconds', '6'));
const TARGET_MS = 50;

const log = (m: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${m}`);
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const ms = (n: number) => n.toFixed(1);

const b = await startBench();
try {
  const { token } = await signUp(b, 'Latency');
  const threads = b.app.services.config.workerThreads;
  const CLASSIFY = 'query ($m: String!) { classifyBounce(message: $m) { reason } }';
  const classify = async (message: string) => {
    const res = await fetch(b.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: CLASSIFY, variables: { m: message } }),
    });
    const body = (await res.json()) as { errors?: { extensions?: { code?: string } }[] };
    return body.errors?.[0]?.extensions?.code ?? 'data';
  };
  // Workers start on first use: start them before anything is measured.
  await Promise.all(Array.from({ length: threads }, () => classify('550 5.1.1 <a@b.example> User unknown')));

  const typename = async () => {
    const start = performance.now();
    const res = await fetch(b.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query":"{ __typename }"}',
    });
    await res.text();
    return performance.now() - start;
  };
  const measure = async (until: () => boolean) => {
    const times: number[] = [];
    while (times.length < REQUESTS || !until()) times.push(await typename());
    return times;
  };

  for (let i = 0; i < 50; i++) await typename(); // warm-up (jit, connections)
  log('idle');
  const idle = await measure(() => true);

  log(`classifying with ${threads} worker(s) busy`);
  const message = costlyBounce();
  const answers = new Map<string, number>();
  let busy = true;
  const loops = Array.from({ length: threads }, async () => {
    while (busy) {
      const code = await classify(message);
      answers.set(code, (answers.get(code) ?? 0) + 1);
    }
  });
  // Let every worker take its first costly call before measuring.
  await new Promise((r) => setTimeout(r, 300));
  const started = performance.now();
  const loaded = await measure(() => performance.now() - started > SECONDS * 1000);
  busy = false;
  await Promise.all(loops);

  log('parsing a costly CSV');
  const record = new TextEncoder().encode(`${','.repeat(1024 * 1024 - 16)}\n`);
  let parsing = true;
  let records = 0;
  const csv = (async () => {
    while (parsing) {
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull: (c) => (sent++ < 8 ? c.enqueue(record) : c.close()),
      });
      for await (const _ of readCsv(stream, ',')) records++;
    }
  })();
  const csvStarted = performance.now();
  const parsed = await measure(() => performance.now() - csvStarted > SECONDS * 1000);
  parsing = false;
  await csv;

  const row = (name: string, xs: number[]) => [
    name,
    xs.length,
    ms(pct(xs, 50)),
    ms(pct(xs, 99)),
    ms(Math.max(...xs)),
  ];
  table(
    ['server', 'requests', 'p50 ms', 'p99 ms', 'max ms'],
    [row('idle', idle), row('classifying', loaded), row('parsing CSV', parsed)],
  );
  console.log(`\nCSV records of 1 MiB parsed meanwhile: ${records}`);
  const p99 = pct(loaded, 99);
  console.log(
    `\nratio classifying/idle: p50 ${(pct(loaded, 50) / pct(idle, 50)).toFixed(2)}x, p99 ${(p99 / pct(idle, 99)).toFixed(2)}x`,
  );
  console.log(`costly classifications answered: ${[...answers].map(([c, n]) => `${n} ${c}`).join(', ')}`);
  console.log(
    `p99 while classifying: ${ms(p99)} ms, target < ${TARGET_MS} ms: ${p99 < TARGET_MS ? 'met' : 'MISSED'}`,
  );
} finally {
  await b.close();
}
