/**
 * `npm run bench:import [-- --rows 100000,1000000] [-- --mib 2,200]`:
 * 1. contacts imported per second through the real GraphQL multipart endpoint (upload, CSV
 *    parsing, normalising, batched upserts, per-row results, progress), against a raw COPY of
 *    the same rows into `contact` in the same run;
 * 2. the memory of the process (server and streaming client) during a small and a 200 MiB upload
 *    of wide rows: peak RSS and heap as they are, and the peak of what is alive (sampled after a
 *    full GC), so a file held in memory would show as its size.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { from as copyFrom } from 'pg-copy-streams';
import { streamedCsvUpload } from '../src/modules/contacts/testing/streamed-upload.js';
import { arg, type BenchApp, fmt, signUp, startBench, table } from './lib.js';

const sizes = arg('rows', '100000,1000000').split(',').map(Number).filter(Boolean);
const uploads = arg('mib', '2,200').split(',').map(Number).filter(Boolean);
const MiB = 2 ** 20;
const QUERY =
  'mutation ($input: ImportContactsInput!) { importContacts(input: $input) { status total created rejected } }';
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function upload(b: BenchApp, token: string, rows: number, header: string, line: (i: number) => string) {
  const u = streamedCsvUpload({ url: b.url, token, query: QUERY, rows, header, line });
  const { body } = await u.post();
  const created = (body.data as { importContacts?: { created: number } } | undefined)?.importContacts
    ?.created;
  if (created !== rows) throw new Error(`import failed: ${JSON.stringify(body)}`);
  return u.sent();
}

/** Peaks: as they are (every 20 ms) and alive (after a full GC, every 250 ms). */
async function memoryDuring(work: () => Promise<number>) {
  gc();
  const start = process.memoryUsage();
  const peak = {
    rss: start.rss,
    heap: start.heapUsed,
    liveHeap: start.heapUsed,
    liveBuffers: start.arrayBuffers,
  };
  const sampleRaw = () => {
    const m = process.memoryUsage();
    peak.rss = Math.max(peak.rss, m.rss);
    peak.heap = Math.max(peak.heap, m.heapUsed);
  };
  const sampleLive = () => {
    gc();
    const m = process.memoryUsage();
    peak.liveHeap = Math.max(peak.liveHeap, m.heapUsed);
    peak.liveBuffers = Math.max(peak.liveBuffers, m.arrayBuffers);
  };
  const raw = setInterval(sampleRaw, 20);
  const live = setInterval(sampleLive, 250);
  const t0 = performance.now();
  try {
    const bytes = await work();
    const seconds = (performance.now() - t0) / 1000;
    sampleRaw();
    sampleLive();
    return { bytes, seconds, start, peak };
  } finally {
    clearInterval(raw);
    clearInterval(live);
  }
}

const b = await startBench();
const speed: (string | number)[][] = [];
const memory: (string | number)[][] = [];
try {
  // Wide rows (an unmapped 2 KB column): the size is in the file, not in the rows to write.
  const pad = 'x'.repeat(2_000);
  for (const mib of uploads) {
    const rows = Math.ceil((mib * MiB) / (pad.length + 24));
    const { token } = await signUp(b, `Upload${mib}`);
    const m = await memoryDuring(() =>
      upload(b, token, rows, 'email,notes\n', (i) => `u${mib}_${i}@bench.test,${pad}\n`),
    );
    const mb = (x: number) => `${(x / MiB).toFixed(1)} MiB`;
    memory.push([
      mb(m.bytes),
      fmt(rows),
      m.seconds.toFixed(1),
      mb(m.start.rss),
      mb(m.peak.rss),
      mb(m.start.heapUsed),
      mb(m.peak.heap),
      `+${mb(m.peak.liveHeap - m.start.heapUsed)}`,
      `+${mb(m.peak.liveBuffers - m.start.arrayBuffers)}`,
    ]);
    console.error(`${mib} MiB upload done`);
  }

  for (const n of sizes) {
    const { token } = await signUp(b, `Import${n}`);
    const t0 = performance.now();
    await upload(
      b,
      token,
      n,
      'email,firstName,lastName,city\n',
      (i) => `i${n}_${i}@bench.test,First${i},"Last, ${i}",City ${i % 500}\n`,
    );
    const importSeconds = (performance.now() - t0) / 1000;

    // Baseline: the same rows straight into the same table (same indexes), one COPY.
    const copyAccount = (await signUp(b, `Copy${n}`)).accountId;
    const client = await b.pool.connect();
    const t1 = performance.now();
    try {
      const stream = client.query(
        copyFrom(
          'copy contact (account_id, email, first_name, last_name, city, unique_value) from stdin with (format csv)',
        ),
      );
      const lines = (function* () {
        const batch: string[] = [];
        for (let i = 0; i < n; i++) {
          const email = `c${n}_${i}@bench.test`;
          batch.push(`${copyAccount},${email},First${i},"Last, ${i}",City ${i % 500},${email}\n`);
          if (batch.length === 5000) yield batch.splice(0).join('');
        }
        if (batch.length) yield batch.join('');
      })();
      await pipeline(Readable.from(lines), stream);
    } finally {
      client.release();
    }
    const copySeconds = (performance.now() - t1) / 1000;
    speed.push([
      fmt(n),
      importSeconds.toFixed(1),
      fmt(n / importSeconds),
      copySeconds.toFixed(1),
      fmt(n / copySeconds),
      (n / importSeconds / (n / copySeconds)).toFixed(2),
    ]);
    console.error(`${fmt(n)} rows done`);
  }
} finally {
  await b.close();
}
table(
  [
    'upload (chunked)',
    'rows',
    's',
    'RSS at start',
    'peak RSS',
    'heap at start',
    'peak heap',
    'live heap growth',
    'live buffers growth',
  ],
  memory,
);
if (speed.length)
  table(['rows', 'import s', 'import rows/s', 'COPY s (baseline)', 'COPY rows/s', 'import / COPY'], speed);
