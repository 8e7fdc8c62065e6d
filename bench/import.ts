/**
 * `npm run bench:import [-- --rows 100000,1000000]`: contacts imported per second through the
 * real GraphQL multipart endpoint (upload, CSV parsing, normalising, batched upserts, per-row
 * results, progress), against a raw COPY of the same rows into `contact` in the same run.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import { arg, fmt, signUp, startBench, table } from './lib.js';

const sizes = arg('rows', '100000,1000000').split(',').map(Number);

function csvOf(n: number, tag: string): Uint8Array<ArrayBuffer> {
  const parts: string[] = ['email,firstName,lastName,city\n'];
  for (let i = 0; i < n; i++) parts.push(`${tag}${i}@bench.test,First${i},"Last, ${i}",City ${i % 500}\n`);
  return new TextEncoder().encode(parts.join(''));
}

const b = await startBench();
const rows: (string | number)[][] = [];
try {
  for (const n of sizes) {
    const csv = csvOf(n, `i${n}_`);
    const { token } = await signUp(b, `Import${n}`);
    const form = new FormData();
    const query =
      'mutation ($input: ImportContactsInput!) { importContacts(input: $input) { status total created rejected } }';
    form.append('operations', JSON.stringify({ query, variables: { input: { file: null } } }));
    form.append('map', JSON.stringify({ 0: ['variables.input.file'] }));
    form.append('0', new Blob([csv], { type: 'text/csv' }), 'contacts.csv');
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 200);
    const t0 = performance.now();
    const res = await fetch(b.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: form,
    });
    const body = (await res.json()) as { data?: { importContacts: { created: number } }; errors?: unknown };
    const importSeconds = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    if (body.data?.importContacts.created !== n) throw new Error(`import failed: ${JSON.stringify(body)}`);

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
    rows.push([
      fmt(n),
      importSeconds.toFixed(1),
      fmt(n / importSeconds),
      copySeconds.toFixed(1),
      fmt(n / copySeconds),
      (n / importSeconds / (n / copySeconds)).toFixed(2),
      `${fmt(peak / 2 ** 20)} MiB`,
    ]);
    console.error(`${fmt(n)} rows done`);
  }
} finally {
  await b.close();
}
table(
  [
    'rows',
    'import s',
    'import rows/s',
    'COPY s (baseline)',
    'COPY rows/s',
    'import / COPY',
    'peak RSS (client + server)',
  ],
  rows,
);
