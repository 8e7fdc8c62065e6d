import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request as the receiver got it. */
export interface Hit {
  id: string;
  timestamp: string;
  signature: string;
  headers: Record<string, string>;
  /** The request's path and query: tests give each webhook its own. */
  path: string;
  body: string;
  at: number;
}

export type Answer = { status: number; headers?: Record<string, string>; body?: string; delayMs?: number };

/**
 * A real HTTP receiver on port 0 of 127.0.0.1. `answer` decides each reply (200 by default);
 * `down()` closes the port (connections refused, as a dead receiver's are) and `up()` opens it
 * again on the same port. It also counts requests in flight per webhook-id, to see whether one
 * message was ever posted twice at the same time.
 */
export async function startReceiver(answer: (hit: Hit) => Answer = () => ({ status: 200 })) {
  const hits: Hit[] = [];
  const inFlight = new Map<string, number>();
  let overlaps = 0;
  let open = 0;
  let maxOpen = 0;
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers = Object.fromEntries(
        Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]),
      );
      const hit: Hit = {
        id: headers['webhook-id'] ?? '',
        timestamp: headers['webhook-timestamp'] ?? '',
        signature: headers['webhook-signature'] ?? '',
        headers,
        path: req.url ?? '',
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      };
      const n = (inFlight.get(hit.id) ?? 0) + 1;
      if (n > 1) overlaps++;
      inFlight.set(hit.id, n);
      maxOpen = Math.max(maxOpen, ++open);
      const a = receiver.answer(hit);
      const reply = () => {
        inFlight.set(hit.id, (inFlight.get(hit.id) ?? 1) - 1);
        open--;
        hits.push(hit);
        res.writeHead(a.status, { 'content-type': 'text/plain', ...a.headers });
        res.end(a.body ?? 'ok');
      };
      if (a.delayMs) setTimeout(reply, a.delayMs);
      else reply();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const receiver = {
    url: `http://127.0.0.1:${port}/hooks`,
    /** The URL for one webhook, and the hits it received. */
    urlFor: (name: string) => `http://127.0.0.1:${port}/hooks/${name}`,
    hitsOf: (name: string) => hits.filter((h) => h.path === `/hooks/${name}`),
    hits,
    answer,
    /** Requests of one webhook-id that overlapped another of the same id. */
    overlaps: () => overlaps,
    /** The most requests (of any id) the receiver was answering at one time. */
    maxInFlight: () => maxOpen,
    /** Distinct webhook-ids received, and how many requests repeated one. */
    count() {
      const ids = new Set(hits.map((h) => h.id));
      return { distinct: ids.size, duplicates: hits.length - ids.size };
    },
    async down() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
    async up() {
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    async close() {
      if (server.listening) await receiver.down();
    },
  };
  return receiver;
}

export type Receiver = Awaited<ReturnType<typeof startReceiver>>;
