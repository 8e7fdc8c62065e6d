import { performance } from 'node:perf_hooks';
import { type DocumentNode, type GraphQLError, getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { Counter, type Gauge, Histogram, type Registry } from 'prom-client';

/**
 * Operation names come from the client: past this many distinct names, new ones are counted as
 * `other`, so a client sending random names cannot grow the registry without bound.
 */
const MAX_OPERATION_NAMES = 200;
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type CounterChild = ReturnType<Counter['labels']>;
type HistogramChild = ReturnType<Histogram['labels']>;

/**
 * One operation's label pair with its metric children bound once: a request then costs a few
 * Map lookups, not label objects built, spread and validated per metric per request (what
 * @graphql-yoga/plugin-prometheus did, ~55 µs of an authorised page read).
 */
interface Op {
  requests: CounterChild;
  duration: HistogramChild;
  http(method: string, status: number): HistogramChild;
  error(phase: string, code: string): CounterChild;
}

type Result = { errors?: readonly GraphQLError[] } | null | undefined;
type Ctx = { request?: Request; socket?: unknown; params?: { operationName?: string | null } };

const isStream = (r: unknown): boolean =>
  typeof r === 'object' && r !== null && Symbol.asyncIterator in (r as object);
const codeOf = (error: unknown, fallback: string) =>
  String((error as GraphQLError | undefined)?.extensions?.code ?? fallback).slice(0, 64);

/**
 * The per-operation metrics of one registry: graphql_envelop_request, ..._request_duration
 * (execution), ..._error_result (by phase and extensions.code), graphql_yoga_http_duration (the
 * HTTP request until its response starts) and the open subscriptions gauge. Introspection is not
 * counted. The names and labels are those @graphql-yoga/plugin-prometheus gave them.
 */
export function operationMetrics(registry: Registry, subscriptions: Gauge): Plugin {
  const registers = [registry];
  const requests = new Counter({
    name: 'graphql_envelop_request',
    help: 'GraphQL operations executed, by operation',
    labelNames: ['operationName', 'operationType'],
    registers,
  });
  const duration = new Histogram({
    name: 'graphql_envelop_request_duration',
    help: 'Time spent executing a GraphQL operation, in seconds',
    labelNames: ['operationName', 'operationType'],
    buckets: BUCKETS,
    registers,
  });
  const httpDuration = new Histogram({
    name: 'graphql_yoga_http_duration',
    help: 'Time spent on a GraphQL HTTP request, whole response included, in seconds',
    labelNames: ['operationName', 'operationType', 'method', 'statusCode'],
    buckets: BUCKETS,
    registers,
  });
  const errors = new Counter({
    name: 'graphql_envelop_error_result',
    help: 'Errors in GraphQL results, by extensions.code and phase',
    labelNames: ['operationName', 'operationType', 'phase', 'code'],
    registers,
  });

  const ops = new Map<string, Op>();
  const op = (operationName: string, operationType: string): Op => {
    const key = `${operationType} ${operationName}`;
    let found = ops.get(key);
    if (found) return found;
    const labels = { operationName, operationType };
    const https = new Map<string, HistogramChild>();
    const errs = new Map<string, CounterChild>();
    found = {
      requests: requests.labels(labels),
      duration: duration.labels(labels),
      http(method, status) {
        const k = `${method} ${status}`;
        let child = https.get(k);
        if (!child) {
          child = httpDuration.labels({ ...labels, method, statusCode: String(status) });
          https.set(k, child);
        }
        return child;
      },
      error(phase, code) {
        const k = `${phase} ${code}`;
        let child = errs.get(k);
        if (!child) {
          child = errors.labels({ ...labels, phase, code });
          errs.set(k, child);
        }
        return child;
      },
    };
    ops.set(key, found);
    return found;
  };

  const names = new Set<string>();
  const boundedName = (name: string | null | undefined) => {
    if (!name) return 'Anonymous';
    if (names.has(name)) return name;
    if (names.size >= MAX_OPERATION_NAMES || name.length > 100) return 'other';
    names.add(name);
    return name;
  };
  const anonymous = () => op('Anonymous', 'unknown');

  /** Per parsed document (yoga's parser cache hands the same one back): its Op, null for introspection. */
  const byDocument = new WeakMap<DocumentNode, { name: string | undefined; op: Op | null }>();
  const opOf = (document: DocumentNode, requested: string | null | undefined): Op | null => {
    const cached = byDocument.get(document);
    if (cached && (!requested || requested === cached.name)) return cached.op;
    const ast = getOperationAST(document, requested);
    const introspection = document.loc
      ? document.loc.source.body.includes('__schema')
      : ast?.selectionSet.selections.some((s) => s.kind === 'Field' && s.name.value === '__schema');
    const found = introspection
      ? null
      : op(boundedName(requested || ast?.name?.value), ast?.operation ?? 'unknown');
    if (!cached) byDocument.set(document, { name: requested || ast?.name?.value, op: found });
    return found;
  };

  /** The operation of a request or graphql-ws subscription, from parse on; absent when skipped. */
  const byContext = new WeakMap<object, Op>();
  /** HTTP requests: when yoga received them, and their operation once parsed. */
  const byRequest = new WeakMap<Request, { start: number; op: Op | null }>();

  const countErrors = (o: Op, result: Result) => {
    if (!result?.errors?.length) return;
    for (const e of result.errors) o.error('execute', codeOf(e, 'INTERNAL_SERVER_ERROR')).inc();
  };

  const afterParse = ({ context, result }: { context: Ctx; result: unknown }) => {
    let o: Op | null;
    if (result instanceof Error || result === null) {
      o = anonymous();
      o.error('parse', codeOf(result, 'GRAPHQL_PARSE_FAILED')).inc();
      o = null; // as before: no operation, no HTTP duration either
    } else {
      o = opOf(result as DocumentNode, context.params?.operationName);
      if (o) byContext.set(context, o);
    }
    if (context.request) {
      const r = byRequest.get(context.request);
      if (r) r.op = o;
    }
  };
  const afterValidate = ({ valid, context }: { valid: boolean; context: Ctx }) => {
    if (valid) return;
    byContext.get(context)?.error('validate', 'GRAPHQL_VALIDATION_FAILED').inc();
  };

  return {
    onPluginInit({ registerContextErrorHandler }) {
      registerContextErrorHandler(({ context, error }) => {
        byContext
          .get(context as object)
          ?.error('context', codeOf(error, 'INTERNAL_SERVER_ERROR'))
          .inc();
      });
    },
    onRequest({ request }) {
      byRequest.set(request, { start: performance.now(), op: null });
    },
    onParse: () => afterParse,
    onValidate: () => afterValidate,
    onExecute({ args }) {
      const o = byContext.get(args.contextValue as object);
      if (!o) return;
      const start = performance.now();
      return {
        onExecuteDone({ result }) {
          if (isStream(result)) {
            // @defer / @stream: counted when the stream ends.
            return {
              onNext: ({ result: r }) => countErrors(o, r as Result),
              onEnd() {
                o.requests.inc();
                o.duration.observe((performance.now() - start) / 1000);
              },
            };
          }
          countErrors(o, result as Result);
          o.requests.inc();
          o.duration.observe((performance.now() - start) / 1000);
          return undefined;
        },
      };
    },
    // Both transports reach yoga's envelop (graphql-ws through getEnveloped with the socket in the
    // context), so one hook counts them alike.
    onSubscribe({ args }) {
      const o = byContext.get(args.contextValue as object);
      const transport = (args.contextValue as Ctx).socket ? 'ws' : 'sse';
      const start = performance.now();
      return {
        onSubscribeResult({ result }) {
          if (!isStream(result)) {
            // Refused before streaming (e.g. UNAUTHENTICATED): one result, no subscription open.
            if (o) {
              countErrors(o, result as Result);
              o.requests.inc();
              o.duration.observe((performance.now() - start) / 1000);
            }
            return;
          }
          subscriptions.inc({ transport });
          let ended = false;
          return {
            onNext: o ? ({ result: r }) => countErrors(o, r as Result) : undefined,
            onEnd() {
              if (ended) return;
              ended = true;
              subscriptions.dec({ transport });
              if (o) {
                o.requests.inc();
                o.duration.observe((performance.now() - start) / 1000);
              }
            },
          };
        },
        onSubscribeError({ error }) {
          o?.error('subscribe', codeOf(error, 'INTERNAL_SERVER_ERROR')).inc();
        },
      };
    },
    onResponse({ request, response }) {
      const r = byRequest.get(request);
      if (r?.op) r.op.http(request.method, response.status).observe((performance.now() - r.start) / 1000);
    },
  };
}
