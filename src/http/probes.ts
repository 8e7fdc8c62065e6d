import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MikroORM } from '@mikro-orm/postgresql';
import { migrationsList } from '../db/migrations-list.js';
import type { Logger } from '../shared/logger.js';

/** A database that does not answer within this is as good as down for a load balancer. */
const READY_TIMEOUT_MS = 3000;

type Readiness = { ok: true } | { ok: false; reason: string };

function send(res: ServerResponse, status: number, body: Record<string, unknown>) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

/**
 * Load-balancer probes. `/health` is liveness: the process serves HTTP, nothing else is asked, so
 * a database outage does not get every instance restarted. `/ready` is readiness: the database
 * answers and every migration this build knows is applied; it turns 503 as soon as shutdown
 * starts, so the balancer stops routing here while in-flight requests drain.
 */
export function createProbes(opts: { orm: MikroORM; logger: Logger; stopping: () => boolean }) {
  const expected = migrationsList.map((m) => m.name);
  let inFlight: Promise<Readiness> | null = null;

  async function check(): Promise<Readiness> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Readiness>((resolve) => {
      timer = setTimeout(
        () => resolve({ ok: false, reason: `database did not answer within ${READY_TIMEOUT_MS} ms` }),
        READY_TIMEOUT_MS,
      );
    });
    const query = (async (): Promise<Readiness> => {
      let rows: { name: string }[];
      try {
        rows = await opts.orm.em
          .getConnection()
          .execute<{ name: string }[]>('select name from mikro_orm_migrations');
      } catch (err) {
        opts.logger.warn('readiness: database check failed', err);
        return { ok: false, reason: 'database unreachable or not migrated' };
      }
      const applied = new Set(rows.map((r) => r.name.replace(/\.[jt]s$/, '')));
      const pending = expected.filter((name) => !applied.has(name));
      return pending.length
        ? { ok: false, reason: `migrations not applied: ${pending.join(', ')}` }
        : { ok: true };
    })();
    try {
      return await Promise.race([query, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Answers /health and /ready; false for any other request. */
  return function probes(req: IncomingMessage, res: ServerResponse): boolean {
    const url = req.url ?? '';
    const path = url.split('?', 1)[0];
    if (path !== '/health' && path !== '/ready') return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return true;
    }
    if (path === '/health') {
      send(res, 200, { status: 'ok' });
      return true;
    }
    if (opts.stopping()) {
      send(res, 503, { status: 'unavailable', reason: 'shutting down' });
      return true;
    }
    // Probes from several balancers at once share one database round trip.
    inFlight ??= check().finally(() => {
      inFlight = null;
    });
    void inFlight.then((r) =>
      r.ok
        ? send(res, 200, { status: 'ready' })
        : send(res, 503, { status: 'unavailable', reason: r.reason }),
    );
    return true;
  };
}
