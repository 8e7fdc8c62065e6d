import { randomUUID } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ContactImportDocument,
  ImportContactsDocument,
  type ImportContactsMutation,
  ImportProgressDocument,
  type ImportProgressSubscription,
} from '../../../test/generated/graphql.js';
import {
  type Actor,
  nextResults,
  ok,
  signUpOwner,
  startTestApp,
  type TestApp,
} from '../../../test/harness.js';
import { streamedCsvUpload } from './testing/streamed-upload.js';

let t: TestApp;
let owner: Actor;

beforeAll(async () => {
  t = await startTestApp();
  owner = await signUpOwner(t);
});
afterAll(() => t.close());

const MiB = 2 ** 20;
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * Peak growth of this process's memory (the server runs in it) while `work` runs, sampled after
 * a full GC every 100 ms: what is still alive, so garbage V8 has not collected yet does not
 * count, and a file held anywhere in memory (buffers or strings) does.
 */
async function peakGrowth<T>(work: () => Promise<T>) {
  gc();
  const base = process.memoryUsage();
  const peak = { rss: 0, heapUsed: 0, arrayBuffers: 0 };
  const sample = () => {
    gc();
    const m = process.memoryUsage();
    peak.rss = Math.max(peak.rss, m.rss - base.rss);
    peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed - base.heapUsed);
    peak.arrayBuffers = Math.max(peak.arrayBuffers, m.arrayBuffers - base.arrayBuffers);
  };
  const timer = setInterval(sample, 100);
  try {
    const result = await work();
    sample();
    return { result, peak };
  } finally {
    clearInterval(timer);
  }
}

const upload = (rows: number, line: (i: number) => string, variables?: Record<string, unknown>) =>
  streamedCsvUpload({
    url: t.url,
    token: owner.token,
    query: print(ImportContactsDocument),
    rows,
    header: 'email,notes\n',
    line,
    variables,
  });

describe('a CSV upload is streamed, not held in memory', () => {
  it('imports a 160 MiB chunked upload while the server grows by a small fraction of it', async () => {
    const rows = 80_000;
    // Wide rows (an unmapped 2 KB column): a big file, few rows to write.
    const pad = 'x'.repeat(2_100);
    // A small import first starts the CSV worker thread (src/workers/): its isolate is a fixed
    // cost of the process, not memory that grows with the file.
    expect((await upload(2_000, (i) => `w${i}@warm.test,${pad}\n`).post()).status).toBe(200);
    const u = upload(rows, (i) => `s${i}@stream.test,${pad}\n`);
    const { result, peak } = await peakGrowth(() => u.post());
    expect(result.status).toBe(200);
    const data = result.body.data as ImportContactsMutation | undefined;
    expect(data?.importContacts, JSON.stringify(result.body.errors)).toMatchObject({
      status: 'DONE',
      total: rows,
      created: rows,
    });
    const size = u.sent();
    expect(size).toBeGreaterThan(160 * MiB);
    console.log(
      `streamed upload of ${(size / MiB).toFixed(0)} MiB: live growth rss ${(peak.rss / MiB).toFixed(1)} MiB, heap ${(peak.heapUsed / MiB).toFixed(1)} MiB, buffers ${(peak.arrayBuffers / MiB).toFixed(1)} MiB`,
    );
    // Held whole (as yoga's own multipart parser does), the file alone would add its size. The
    // buffers are the process's, the sending client's included: 11.4 MiB once on a loaded CI box
    // (the server reading slower, the client queueing more), so an eighth, not a sixteenth.
    expect(peak.arrayBuffers).toBeLessThan(size / 8);
    expect(peak.heapUsed).toBeLessThan(size / 10);
    expect(peak.rss).toBeLessThan(size / 5);
  }, 120_000);

  it('cuts a chunked body at the upload limit: the import stops FAILED with the reason', async () => {
    // One header, then a line longer than any record: the parser drops it as it comes, so the
    // body reaches the limit quickly, without a row to write.
    const chunk = 'y'.repeat(64 * 1024);
    const u = upload(4_200, () => chunk);
    const { status, body } = await u.post();
    expect(status).toBe(200);
    const imp = (body.data as ImportContactsMutation).importContacts;
    expect(imp).toMatchObject({ status: 'FAILED', error: 'file: the upload is larger than 256 MiB' });
    expect(u.sent()).toBeGreaterThan(256 * MiB);
  }, 120_000);

  it('marks the import FAILED when the client goes away half-way, keeping the committed batches', async () => {
    const id = randomUUID();
    const u = streamedCsvUpload({
      url: t.url,
      token: owner.token,
      query: print(ImportContactsDocument),
      rows: 20_000,
      header: 'email,notes\n',
      line: (i) => `cut${i}@cut.test,${'x'.repeat(2_000)}\n`,
      variables: { id },
      // 16 MB sent: more than socket buffers hold, so the server has read past its first batch.
      cutAfter: 8_000,
    });
    await expect(u.post()).rejects.toThrow();
    const final = nextResults<ImportProgressSubscription>(t.ws(owner.token), ImportProgressDocument, 10, {
      importId: id,
    });
    const last = (await final.results).at(-1)?.data?.importProgress;
    expect(last).toMatchObject({ status: 'FAILED', error: 'file: the upload was cut off before its end' });
    const { rows } = await t.sql.query(
      `select count(*)::int as n from contact where email like '%@cut.test'`,
    );
    expect(rows[0].n).toBe(last?.created);
    expect(last?.processed).toBeGreaterThanOrEqual(2_000);
    expect(last?.processed).toBeLessThanOrEqual(8_000);
  });

  it('answers a refused file at once and drops the rest of its body', async () => {
    const u = upload(20_000, (i) => `r${i}@refused.test,x\n`, {
      mapping: [{ column: 'nope', field: 'email' }],
    });
    const { status, body } = await u.post();
    expect(status).toBe(200);
    expect(body.errors?.[0].message).toMatch(/no column "nope"/);
  });

  it('keeps the multipart request spec shape of Apollo and urql: a file in its own variable, other part names', async () => {
    const form = new FormData();
    const query = 'mutation ($file: File!) { importContacts(input: { file: $file }) { status created } }';
    form.append('operations', JSON.stringify({ query, variables: { file: null } }));
    form.append('map', JSON.stringify({ 1: ['variables.file'] }));
    form.append(
      '1',
      new Blob(['email\nspec1@shape.test\nspec2@shape.test\n'], { type: 'text/csv' }),
      'a.csv',
    );
    const res = await fetch(t.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.token}` },
      body: form,
    });
    expect(await res.json()).toEqual({ data: { importContacts: { status: 'DONE', created: 2 } } });
  });

  it('answers a malformed multipart request with BAD_USER_INPUT', async () => {
    const post = (contentType: string, body: string) =>
      fetch(t.url, {
        method: 'POST',
        headers: { authorization: `Bearer ${owner.token}`, 'content-type': contentType },
        body,
      });
    const noBoundary = await post('multipart/form-data', 'x');
    expect(noBoundary.status).toBe(400);
    expect((await noBoundary.json()).errors[0].extensions.code).toBe('BAD_USER_INPUT');
    // No operations part: yoga's own message.
    const b = 'bnd';
    const missing = await post(
      `multipart/form-data; boundary=${b}`,
      `--${b}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{}\r\n--${b}--\r\n`,
    );
    expect((await missing.json()).errors[0].message).toMatch(/Missing multipart form field "operations"/);
  });
});

describe('a NUL byte past the first 4 KB of a CSV', () => {
  it('rejects its row only, counted and reported like any rejected row', async () => {
    const form = new FormData();
    const variables = { input: { file: null } };
    form.append('operations', JSON.stringify({ query: print(ImportContactsDocument), variables }));
    form.append('map', JSON.stringify({ 0: ['variables.input.file'] }));
    const filler = Array.from({ length: 200 }, (_, i) => `f${i}@nul.test,${'n'.repeat(30)}\n`).join('');
    expect(filler.length).toBeGreaterThan(4096);
    const csv = `email,firstName\n${filler}bad@nul.test,a\0b\nafter@nul.test,fine\n`;
    form.append('0', new Blob([csv], { type: 'text/csv' }), 'nul.csv');
    const res = await fetch(t.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.token}` },
      body: form,
    });
    const body = (await res.json()) as { data?: ImportContactsMutation; errors?: unknown[] };
    expect(body.errors).toBeUndefined();
    expect(body.data?.importContacts).toMatchObject({
      status: 'DONE',
      total: 202,
      created: 201,
      rejected: 1,
    });
    const id = body.data?.importContacts.id as string;
    const rejected = ok(await t.gql(ContactImportDocument, { id, outcome: 'REJECTED' }, owner.token))
      .contactImport?.results.nodes;
    expect(rejected?.map((r) => [r.rowNumber, r.error])).toEqual([
      [201, 'the row holds a NUL character (byte 0), which no field can store'],
    ]);
    const { rows } = await t.sql.query(`select first_name from contact where email = 'after@nul.test'`);
    expect(rows).toEqual([{ first_name: 'fine' }]);
  });
});
