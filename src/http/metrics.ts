import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createCounter, createHistogram, usePrometheus } from '@graphql-yoga/plugin-prometheus';
import type { Plugin } from 'graphql-yoga';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Config } from '../config.js';
import type { AppServices } from '../context.js';

/**
 * Operation names come from the client: past this many distinct names, new ones are counted as
 * `other`, so a client sending random names cannot grow the registry without bound.
 */
const MAX_OPERATION_NAMES = 200;

const PHASE_CODES: Record<string, string> = {
  parse: 'GRAPHQL_PARSE_FAILED',
  validate: 'GRAPHQL_VALIDATION_FAILED',
};

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
  collectDefaultMetrics({ register: registry });

  const names = new Set<string>();
  const opName = (name: string | undefined) => {
    if (!name) return 'Anonymous';
    if (names.has(name)) return name;
    if (names.size >= MAX_OPERATION_NAMES || name.length > 100) return 'other';
    names.add(name);
    return name;
  };
  const opLabels = (p: { operationName?: string; operationType?: string }) => ({
    operationName: opName(p.operationName),
    operationType: p.operationType ?? 'unknown',
  });

  const prometheus = usePrometheus({
    registry,
    endpoint: false, // served by handle() below, behind METRICS_TOKEN
    skipIntrospection: true,
    metrics: {
      graphql_envelop_request: createCounter({
        registry,
        counter: {
          name: 'graphql_envelop_request',
          help: 'GraphQL operations executed, by operation',
          labelNames: ['operationName', 'operationType'],
        },
        fillLabelsFn: opLabels,
      }),
      graphql_envelop_request_duration: createHistogram({
        registry,
        histogram: {
          name: 'graphql_envelop_request_duration',
          help: 'Time spent executing a GraphQL operation, in seconds',
          labelNames: ['operationName', 'operationType'],
          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        },
        fillLabelsFn: opLabels,
      }),
      graphql_envelop_error_result: createCounter({
        registry,
        counter: {
          name: 'graphql_envelop_error_result',
          help: 'Errors in GraphQL results, by extensions.code and phase',
          labelNames: ['operationName', 'operationType', 'phase', 'code'],
        },
        fillLabelsFn: (p) => ({
          ...opLabels(p),
          phase: p.errorPhase ?? 'unknown',
          code: String(
            p.error?.extensions?.code ?? PHASE_CODES[p.errorPhase ?? ''] ?? 'INTERNAL_SERVER_ERROR',
          ).slice(0, 64),
        }),
      }),
      graphql_yoga_http_duration: createHistogram({
        registry,
        histogram: {
          name: 'graphql_yoga_http_duration',
          help: 'Time spent on a GraphQL HTTP request, whole response included, in seconds',
          labelNames: ['operationName', 'operationType', 'method', 'statusCode'],
          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        },
        fillLabelsFn: (p, ctx: { request: Request; response: Response }) => ({
          ...opLabels(p),
          method: ctx.request.method,
          statusCode: ctx.response.status,
        }),
      }),
      graphql_envelop_deprecated_field: false,
      graphql_envelop_request_time_summary: false,
      graphql_envelop_phase_parse: false,
      graphql_envelop_phase_validate: false,
      graphql_envelop_phase_context: false,
      graphql_envelop_phase_execute: false,
      graphql_envelop_phase_subscribe: false,
      graphql_envelop_schema_change: false,
      graphql_envelop_execute_resolver: false,
    },
  });

  const subscriptions = new Gauge({
    name: 'cible_subscriptions_open',
    help: 'Subscriptions currently streaming, by transport (ws: graphql-ws, sse: HTTP)',
    labelNames: ['transport'],
    registers: [registry],
  });
  // Both transports reach yoga's envelop (graphql-ws through getEnveloped with the socket in the
  // context), so one hook counts them alike.
  const subscriptionGauge: Plugin = {
    onSubscribe({ args }) {
      const transport = (args.contextValue as { socket?: unknown }).socket ? 'ws' : 'sse';
      return {
        onSubscribeResult({ result }) {
          if (!result || !(Symbol.asyncIterator in (result as object))) return;
          subscriptions.inc({ transport });
          let ended = false;
          return {
            onEnd() {
              if (ended) return;
              ended = true;
              subscriptions.dec({ transport });
            },
          };
        },
      };
    },
  };

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

  const expected = config.metricsToken ? Buffer.from(`Bearer ${config.metricsToken}`) : null;
  const authorised = (header: string | undefined) => {
    if (!expected) return true;
    const got = Buffer.from(header ?? '');
    return got.length === expected.length && timingSafeEqual(got, expected);
  };
  // In production an open /metrics would show operation names and volumes to anyone.
  const enabled = expected !== null || !config.production;

  return {
    registry,
    plugins: [prometheus, subscriptionGauge],
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
      agenda.on('success', (job) => jobs.inc({ job: job.attrs.name, outcome: 'success' }));
      agenda.on('fail', (_err, job) => jobs.inc({ job: job.attrs.name, outcome: 'failure' }));
    },
    close() {
      registry.clear();
    },
  };
}
