/**
 * `npm run bench:webhooks [-- --deliveries 20000 --events 100000]`:
 * 1. Deliveries per second to a local receiver (a child process, so it shares neither the
 *    server's event loop nor its CPU accounting): `deliveries` events for one active webhook,
 *    timed from their commit to the last distinct webhook-id received; ordered (one request at a
 *    time) and unordered (8 at a time). The baseline, in the same run, to the same receiver: a bare
 *    loop of Standard-Webhooks-signed `fetch` calls, one at a time and 8 at a time. With the CPU
 *    each side spent per delivery: the box's 2 cores are shared by all of them.
 * 2. The outbox's cost on the write path that produces it: `recordEvents` (10,000 per HTTP call)
 *    with no webhook, then with one webhook collecting every event (kept FAILING, so its rows are
 *    written and none is posted: the write path alone), best of two rounds each.
 * 3. The same on an import: `imported` contacts through the real multipart importContacts, into
 *    an account without a webhook and into one whose webhook collects CONTACT_CREATED (FAILING),
 *    alternated, best of two each.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { streamedCsvUpload } from '../src/modules/contacts/testing/streamed-upload.js';
import { bodyOf } from '../src/modules/webhooks/webhook.deliver.js';
import { msgIdOf, newSecret, signedHeaders } from '../src/modules/webhooks/webhook.sign.js';
import { arg, benchContacts, fmt, postgresCpu, signUp, startBench, table } from './lib.js';

const DELIVERIES = Number(arg('deliveries', '20000'));
const EVENTS = Number(arg('events', '100000'));
const IMPORTED = Number(arg('imported', '50000'));
const CONTACTS = 10_000;
const BATCH = 10_000;
const LANES = 8;

/** Answers 200 to every POST; tells the parent when it has seen `n` distinct webhook-ids. */
const RECEIVER = `
const http = require('node:http');
let ids = new Set(), want = Infinity;
const server = http.createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    ids.add(req.headers['webhook-id']);
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    res.end('ok');
    if (ids.size >= want) { want = Infinity; const u = process.cpuUsage(); process.send({ done: ids.size, cpu: u.user + u.system }); }
  });
});
server.keepAliveTimeout = 60000;
process.on('message', (m) => {
  if (m.expect) { ids = new Set(); want = m.expect; const u = process.cpuUsage(); process.send({ armed: true, cpu: u.user + u.system }); }
});
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
`;

const receiver = spawn(process.execPath, ['-e', RECEIVER], {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const next = () =>
  new Promise<Record<string, number>>((resolve) => receiver.once('message', resolve as never));
const { port } = await next();
const url = `http://127.0.0.1:${port}/hook`;
/** CPU microseconds per delivery over one arm: this process (server and baseline loop), PostgreSQL, receiver. */
interface Cpu {
  node: number;
  pg: number;
  receiver: number;
}

/**
 * Arms the receiver for `n` distinct ids; the function returned resolves once they all came, with
 * the CPU each side spent meanwhile, per delivery.
 */
async function expectIds(n: number): Promise<() => Promise<Cpu>> {
  receiver.send({ expect: n });
  const armed = await next();
  const node0 = process.cpuUsage();
  const pg0 = await postgresCpu(b.pool);
  const done = next();
  return async () => {
    // A lost delivery must fail the bench, not hang it.
    let timer: NodeJS.Timeout | undefined;
    const end = await Promise.race([
      done,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`the receiver did not get ${n} distinct deliveries in 300 s`)),
          300_000,
        );
      }),
    ]);
    clearTimeout(timer);
    const u = process.cpuUsage(node0);
    return {
      node: (u.user + u.system) / n,
      pg: ((await postgresCpu(b.pool)) - pg0) / n,
      receiver: (end.cpu - armed.cpu) / n,
    };
  };
}

const b = await startBench({ env: { WEBHOOK_DISPATCH_MS: '100' } });
const delivery: (string | number)[][] = [];
const ingest: (string | number)[][] = [];
const cpu: (string | number)[][] = [];
const load = () => os.loadavg()[0].toFixed(2);
const loadBefore = load();
try {
  const { token, accountId } = await signUp(b, 'Webhooks');
  const ids = await benchContacts(b, accountId, CONTACTS, 'w');

  /** A webhook collecting EMAIL_CLICK, made and activated through the API; returns its id. */
  async function hook(ordered: boolean): Promise<string> {
    const made = await b.gql<{ createWebhook: { webhook: { id: string } } }>(
      `mutation($input: WebhookInput!) { createWebhook(input: $input) { webhook { id } } }`,
      { input: { name: ordered ? 'ordered' : 'parallel', url, eventTypes: ['EMAIL_CLICK'], ordered } },
      token,
    );
    const id = made.createWebhook.webhook.id;
    await b.gql(`mutation($id: ID!) { activateWebhook(id: $id) { id } }`, { id }, token);
    return id;
  }
  const clicks = (n: number) =>
    b.pool.query(
      `insert into contact_event (account_id, contact_id, type, occurred_at, url)
       select $1, ($2::bigint[])[1 + g % cardinality($2::bigint[])], 1, now(), 'https://shop.example/' || g
         from generate_series(1, $3) g`,
      [accountId, ids, n],
    );

  // 1a. The baseline: signed fetch calls, as bare as a loop gets (the same body shape and headers).
  const secret = newSecret();
  async function bare(lanes: number): Promise<{ rate: number; cpu: Cpu }> {
    const done = await expectIds(DELIVERIES);
    let i = 0;
    const t0 = performance.now();
    const lane = async () => {
      while (i < DELIVERIES) {
        const n = i++;
        const body = bodyOf({
          event_type: 'event.EMAIL_CLICK',
          payload: { contactId: ids[n % ids.length] },
          occurred_at: new Date(),
        });
        const res = await fetch(url, {
          method: 'POST',
          headers: {
            ...signedHeaders([secret], msgIdOf(`b${n}`), new Date(), body),
            'content-type': 'application/json',
          },
          body,
        });
        await res.text();
      }
    };
    await Promise.all(Array.from({ length: lanes }, lane));
    const cpu = await done();
    return { rate: DELIVERIES / ((performance.now() - t0) / 1000), cpu };
  }
  // 1b. Ours: from the commit of the events to the last delivery received.
  async function ours(ordered: boolean): Promise<{ rate: number; cpu: Cpu }> {
    const id = await hook(ordered);
    const done = await expectIds(DELIVERIES);
    const t0 = performance.now();
    await clicks(DELIVERIES);
    const cpu = await done();
    const rate = DELIVERIES / ((performance.now() - t0) / 1000);
    await b.gql(`mutation($id: ID!) { deleteWebhook(id: $id) }`, { id }, token);
    return { rate, cpu };
  }
  for (const [label, ordered, lanes] of [
    ['ordered (one at a time)', true, 1],
    [`unordered (${LANES} at a time)`, false, LANES],
  ] as const) {
    const baseline = await bare(lanes);
    const mine = await ours(ordered);
    delivery.push([
      label,
      fmt(DELIVERIES),
      fmt(mine.rate),
      fmt(baseline.rate),
      (mine.rate / baseline.rate).toFixed(2),
    ]);
    for (const [who, r] of [
      [`ours, ${label}`, mine],
      [`bare fetch, ${label}`, baseline],
    ] as const)
      cpu.push([
        who,
        fmt(r.cpu.node),
        fmt(r.cpu.pg),
        fmt(r.cpu.receiver),
        fmt(r.cpu.node + r.cpu.pg + r.cpu.receiver),
      ]);
  }

  // 2. The write path: recordEvents with and without a collecting webhook.
  const mutation = 'mutation ($events: [EventInput!]!) { recordEvents(events: $events) }';
  async function record(): Promise<number> {
    const t0 = performance.now();
    for (let done = 0; done < EVENTS; done += BATCH) {
      const events = Array.from({ length: Math.min(BATCH, EVENTS - done) }, (_, i) => ({
        contactId: ids[(done + i) % ids.length],
        type: 'EMAIL_CLICK',
        url: 'https://shop.example/',
      }));
      await b.gql(mutation, { events }, token);
    }
    return EVENTS / ((performance.now() - t0) / 1000);
  }
  const rounds: Record<'without' | 'with', number[]> = { without: [], with: [] };
  const collecting = await hook(true);
  for (let round = 0; round < 2; round++) {
    await b.pool.query(`update webhook set status = 'INACTIVE' where id = $1`, [collecting]);
    rounds.without.push(await record());
    // FAILING collects (its rows are kept for later) and posts nothing.
    await b.pool.query(`update webhook set status = 'FAILING' where id = $1`, [collecting]);
    rounds.with.push(await record());
  }
  const { rows } = await b.pool.query(
    'select count(*)::int as n from webhook_delivery where webhook_id = $1',
    [collecting],
  );
  if (rows[0].n !== 2 * EVENTS) throw new Error(`the outbox holds ${rows[0].n} rows, not ${2 * EVENTS}`);
  // 3. An import, with and without a webhook collecting contact.created, each in its own account.
  async function imported(collect: boolean, rows: number, tag: string): Promise<number> {
    const who = await signUp(b, `Import${tag}`);
    if (collect) {
      const made = await b.gql<{ createWebhook: { webhook: { id: string } } }>(
        `mutation($input: WebhookInput!) { createWebhook(input: $input) { webhook { id } } }`,
        { input: { name: 'crm', url, eventTypes: ['CONTACT_CREATED'] } },
        who.token,
      );
      await b.pool.query(`update webhook set status = 'FAILING' where id = $1`, [
        made.createWebhook.webhook.id,
      ]);
    }
    const u = streamedCsvUpload({
      url: b.url,
      token: who.token,
      query:
        'mutation ($input: ImportContactsInput!) { importContacts(input: $input) { status total created rejected } }',
      rows,
      header: 'email,firstName,lastName,city\n',
      line: (i) => `imp${tag}${i}@bench.test,First${i},Last${i},City ${i % 500}\n`,
    });
    const t0 = performance.now();
    const { body } = await u.post();
    const seconds = (performance.now() - t0) / 1000;
    const created = (body.data as { importContacts?: { created: number } } | undefined)?.importContacts
      ?.created;
    if (created !== rows) throw new Error(`import failed: ${JSON.stringify(body)}`);
    if (collect) {
      const { rows: n } = await b.pool.query(
        `select count(*)::int as n from webhook_delivery where account_id = $1 and event_type = 'contact.created'`,
        [who.accountId],
      );
      if (n[0].n !== IMPORTED)
        throw new Error(`the outbox holds ${n[0].n} contact.created rows, not ${IMPORTED}`);
    }
    return IMPORTED / seconds;
  }
  // Alternated, best of two each: whichever import came first after the events ran 3 to 7 times
  // slower in trial runs, with or without a webhook.
  const importRounds: Record<'plain' | 'hooked', number[]> = { plain: [], hooked: [] };
  for (let round = 0; round < 2; round++) {
    importRounds.plain.push(await imported(false, IMPORTED, `p${round}`));
    importRounds.hooked.push(await imported(true, IMPORTED, `h${round}`));
  }
  const plainImport = Math.max(...importRounds.plain);
  const hookedImport = Math.max(...importRounds.hooked);
  const without = Math.max(...rounds.without);
  const withHook = Math.max(...rounds.with);
  ingest.push(['recordEvents, no webhook', fmt(EVENTS), fmt(without), '1.00']);
  ingest.push([
    'recordEvents, one webhook collecting every event',
    fmt(EVENTS),
    fmt(withHook),
    (withHook / without).toFixed(2),
  ]);
  ingest.push(['importContacts, no webhook', fmt(IMPORTED), fmt(plainImport), '1.00']);
  ingest.push([
    'importContacts, one webhook collecting contact.created',
    fmt(IMPORTED),
    fmt(hookedImport),
    (hookedImport / plainImport).toFixed(2),
  ]);
} finally {
  receiver.kill();
  console.log(`\nload average (1 min) before ${loadBefore}, after ${load()}; ${os.cpus().length} cores\n`);
  table(['deliveries', 'count', 'ours /s', 'bare signed fetch /s (same run)', 'ratio'], delivery);
  console.log('');
  table(['CPU µs per delivery', 'this process', 'PostgreSQL', 'receiver', 'all'], cpu);
  console.log('');
  table(['write path', 'rows', 'rows/s (best of 2)', 'ratio to none'], ingest);
  await b.close();
}
