import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Plugin } from 'graphql-yoga';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Config } from '../config.js';
import type { AppServices } from '../context.js';
import { operationMetrics } from './metrics-plugin.js';

interface TarnPool {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
  max: number;
}

export interface Metrics {
  registry: Registry;
  /** yoga plugins: per-operation counts and durations, errors by code, open subscriptions. */
  plugins: Plugin[];
  /** Answers GET /metrics (token-checked); false for other requests. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** Agenda's events and the pools, once the services exist. */
  watch(services: AppServices): void;
  close(): void;
}

/**
 * Prometheus metrics of one app instance, on a registry of its own (tests run several apps in
 * one process, and prom-client's global registry refuses a metric registered twice). Only
 * per-operation hooks: per-resolver timing would cost every field of every read.
 */
export function createMetrics(config: Config): Metrics {
  const registry = new Registry();
  const expected = config.metricsToken ? Buffer.from(`Bearer ${config.metricsToken}`) : null;
  const authorised = (header: string | undefined) => {
    if (!expected) return true;
    const got = Buffer.from(header ?? '');
    return got.length === expected.length && timingSafeEqual(got, expected);
  };
  // In production an open /metrics would show operation names and volumes to anyone.
  const enabled = expected !== null || !config.production;

  // Off, nothing reads the registry: no per-request hooks and no process sampling at all.
  if (enabled) collectDefaultMetrics({ register: registry });

  const subscriptions = new Gauge({
    name: 'cible_subscriptions_open',
    help: 'Subscriptions currently streaming, by transport (ws: graphql-ws, sse: HTTP)',
    labelNames: ['transport'],
    registers: [registry],
  });

  const jobs = new Counter({
    name: 'cible_jobs_total',
    help: 'Agenda jobs finished, by job name and outcome (success, failure)',
    labelNames: ['job', 'outcome'],
    registers: [registry],
  });
  let watched: AppServices | null = null;
  new Gauge({
    name: 'cible_db_pool_connections',
    help: 'PostgreSQL pool connections: orm (requests) and jobs (Agenda, score runs), by state',
    labelNames: ['pool', 'state'],
    registers: [registry],
    collect() {
      if (!watched) return;
      const knex = watched.orm.em.getConnection().getKnex() as unknown as { client: { pool?: TarnPool } };
      const orm = knex.client.pool;
      if (orm) {
        this.set({ pool: 'orm', state: 'used' }, orm.numUsed());
        this.set({ pool: 'orm', state: 'idle' }, orm.numFree());
        this.set({ pool: 'orm', state: 'waiting' }, orm.numPendingAcquires());
        this.set({ pool: 'orm', state: 'max' }, orm.max);
      }
      const { pool } = watched.jobs;
      this.set({ pool: 'jobs', state: 'used' }, pool.totalCount - pool.idleCount);
      this.set({ pool: 'jobs', state: 'idle' }, pool.idleCount);
      this.set({ pool: 'jobs', state: 'waiting' }, pool.waitingCount);
      this.set({ pool: 'jobs', state: 'max' }, pool.options.max ?? 10);
    },
  });

  return {
    registry,
    plugins: enabled ? [operationMetrics(registry, subscriptions)] : [],
    handle(req, res) {
      if (!enabled || (req.url ?? '').split('?', 1)[0] !== '/metrics') return false;
      if (!authorised(req.headers.authorization)) {
        res.writeHead(401, { 'www-authenticate': 'Bearer realm="metrics"', 'content-type': 'text/plain' });
        res.end('Send Authorization: Bearer <METRICS_TOKEN>\n');
        return true;
      }
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
          res.end(text);
        },
        () => res.writeHead(500).end(),
      );
      return true;
    },
    watch(services) {
      watched = services;
      const { agenda } = services.jobs;
      // Agenda also re-emits other processes' job events (a notification, remote = true, with
      // jobName and no attrs): counting them would count every job once per process, and reading
      // attrs on them threw inside the listener, which killed this process whenever another
      // one finished a job. Only this process's own runs are counted.
      const nameOf = (job: unknown, remote: unknown): string | null => {
        if (remote === true) return null;
        return (job as { attrs?: { name?: string } } | undefined)?.attrs?.name ?? null;
      };
      agenda.on('success', (job: unknown, remote?: unknown) => {
        const name = nameOf(job, remote);
        if (name) jobs.inc({ job: name, outcome: 'success' });
      });
      agenda.on('fail', (_err: unknown, job: unknown, remote?: unknown) => {
        const name = nameOf(job, remote);
        if (name) jobs.inc({ job: name, outcome: 'failure' });
      });
    },
    close() {
      registry.clear();
    },
  };
}
