import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createMetrics } from '../src/http/metrics.js';
import { buildApp } from '../src/server.js';
import { createLogger } from '../src/shared/logger.js';
import { type Actor, createTestDatabase, signUpOwner, startTestApp, type TestApp } from './harness.js';

/** Probes, metrics, request ids and logs of a running app, over real HTTP. */
let t: TestApp & { databaseUrl: string };
let owner: Actor;
const base = () => t.url.replace(/\/graphql$/, '');

beforeAll(async () => {
  t = await startTestApp();
  owner = await signUpOwner(t);
});
afterAll(() => t.close());

const post = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(t.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

async function metricsText(url = base(), headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${url}/metrics`, { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  return res.text();
}

/** The value of one sample, e.g. `cible_subscriptions_open{transport="ws"}`; null when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number | null {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^[^{ ]+(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const have = Object.fromEntries([...(m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[2]);
  }
  return null;
}

async function until<T>(what: string, f: () => Promise<T | null | false>, tries = 100): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await f();
    if (v !== null && v !== false) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('probes', () => {
  it('/health answers while the process serves; /ready checks the database and migrations', async () => {
    const health = await fetch(`${base()}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${base()}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
    expect((await fetch(`${base()}/ready`, { method: 'POST' })).status).toBe(405);
  });

  it('/ready answers 503 with the reason while a migration is not applied', async () => {
    const { rows } = await t.sql.query<{ name: string }>(
      'delete from mikro_orm_migrations where id = (select max(id) from mikro_orm_migrations) returning name',
    );
    try {
      const res = await fetch(`${base()}/ready`);
      expect(res.status).toBe(503);
      const body = (await res.json()) as { status: string; reason: string };
      expect(body.status).toBe('unavailable');
      expect(body.reason).toContain(rows[0].name.replace(/\.[jt]s$/, ''));
      // Liveness does not depend on it: a balancer must not restart the process for this.
      expect((await fetch(`${base()}/health`)).status).toBe(200);
    } finally {
      await t.sql.query('insert into mikro_orm_migrations (name) values ($1)', [rows[0].name]);
    }
    expect((await fetch(`${base()}/ready`)).status).toBe(200);
  });

  it('/ready answers 503 while the database refuses connections, and 200 again after', async () => {
    const own = await startTestApp();
    own.sql.on('error', () => {}); // the test's own idle connections are cut too
    const dbName = new URL(own.databaseUrl).pathname.slice(1);
    const admin = new pg.Client(inject('adminUrl'));
    await admin.connect();
    const ownBase = own.url.replace(/\/graphql$/, '');
    try {
      await admin.query(`alter database ${dbName} allow_connections false`);
      await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [
        dbName,
      ]);
      const res = await fetch(`${ownBase}/ready`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({
        status: 'unavailable',
        reason: 'database unreachable or not migrated',
      });
      expect((await fetch(`${ownBase}/health`)).status).toBe(200);
    } finally {
      await admin.query(`alter database ${dbName} allow_connections true`);
      await admin.end();
    }
    // The pool replaces the connections it lost.
    await until('ready again', async () => (await fetch(`${ownBase}/ready`)).status === 200);
    await own.close();
    // Its body takes about a second, but one run in three under the full suite stalls about 60 s
    // before the probe (not yet found where: a database creation or ALTER DATABASE waiting on the
    // suite's other databases, most likely). Room for that stall, not a fix.
  }, 180_000);
});

describe('metrics', () => {
  it('counts operations by name, errors by code and the pools', async () => {
    const ok = await post(
      { query: 'query Whoami { me { id } }' },
      { authorization: `Bearer ${owner.token}` },
    );
    expect(ok.status).toBe(200);
    await post({ query: 'query Whoami { me { id } }' }); // anonymous: UNAUTHENTICATED
    const text = await metricsText();
    expect(sample(text, 'graphql_envelop_request', { operationName: 'Whoami', operationType: 'query' })).toBe(
      2,
    );
    expect(
      sample(text, 'graphql_envelop_request_duration_count', {
        operationName: 'Whoami',
        operationType: 'query',
      }),
    ).toBe(2);
    expect(
      sample(text, 'graphql_envelop_error_result', { operationName: 'Whoami', code: 'UNAUTHENTICATED' }),
    ).toBe(1);
    expect(
      sample(text, 'graphql_yoga_http_duration_count', { operationName: 'Whoami', statusCode: '200' }),
    ).toBe(2);
    expect(sample(text, 'cible_db_pool_connections', { pool: 'orm', state: 'max' })).toBe(10);
    expect(sample(text, 'cible_db_pool_connections', { pool: 'jobs', state: 'max' })).toBe(6);
    expect(sample(text, 'process_resident_memory_bytes', {})).toBeGreaterThan(0);
  });

  it('counts a parse error as GRAPHQL_PARSE_FAILED', async () => {
    await post({ query: '{ me { id ' });
    expect(
      sample(await metricsText(), 'graphql_envelop_error_result', { code: 'GRAPHQL_PARSE_FAILED' }),
    ).toBe(1);
  });

  it('counts a validation error by operation, and observes its HTTP duration with the status', async () => {
    const res = await post({ query: 'query NoSuchField { me { noSuchField } }' });
    const text = await metricsText();
    expect(
      sample(text, 'graphql_envelop_error_result', {
        operationName: 'NoSuchField',
        operationType: 'query',
        phase: 'validate',
        code: 'GRAPHQL_VALIDATION_FAILED',
      }),
    ).toBe(1);
    // Never executed, so not counted as an operation; the HTTP request still is.
    expect(sample(text, 'graphql_envelop_request', { operationName: 'NoSuchField' })).toBeNull();
    expect(
      sample(text, 'graphql_yoga_http_duration_count', {
        operationName: 'NoSuchField',
        method: 'POST',
        statusCode: String(res.status),
      }),
    ).toBe(1);
  });

  it('names a document of several operations by the one asked for', async () => {
    const query = 'query PickA { __typename } mutation PickB { __typename }';
    await post({ query, operationName: 'PickB' });
    await post({ query, operationName: 'PickA' });
    const text = await metricsText();
    expect(
      sample(text, 'graphql_envelop_request', { operationName: 'PickB', operationType: 'mutation' }),
    ).toBe(1);
    expect(sample(text, 'graphql_envelop_request', { operationName: 'PickA', operationType: 'query' })).toBe(
      1,
    );
  });

  it('does not count introspection', async () => {
    await post({ query: 'query Intro { __schema { queryType { name } } }' });
    expect(sample(await metricsText(), 'graphql_envelop_request', { operationName: 'Intro' })).toBeNull();
  });

  it('shows subscriptions open over graphql-ws and SSE, and closed ones go', async () => {
    const subscription = 'subscription Audit { auditEntryAdded { id } }';
    const open = (transport: string) => async () =>
      sample(await metricsText(), 'cible_subscriptions_open', { transport });
    const client = t.ws(owner.token);
    const stop = client.subscribe(
      { query: subscription },
      { next: () => {}, error: () => {}, complete: () => {} },
    );
    expect(await until('ws subscription', async () => ((await open('ws')()) === 1 ? 1 : null))).toBe(1);

    const abort = new AbortController();
    const sse = await fetch(t.url, {
      method: 'POST',
      signal: abort.signal,
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${owner.token}`,
      },
      body: JSON.stringify({ query: subscription }),
    });
    expect(sse.headers.get('content-type')).toMatch(/text\/event-stream/);
    expect(await until('sse subscription', async () => ((await open('sse')()) === 1 ? 1 : null))).toBe(1);

    stop();
    abort.abort();
    await sse.body?.cancel().catch(() => {});
    await until('both closed', async () => (await open('ws')()) === 0 && (await open('sse')()) === 0);
    // Each is counted as one operation once it ends.
    const text = await metricsText();
    expect(
      sample(text, 'graphql_envelop_request', { operationName: 'Audit', operationType: 'subscription' }),
    ).toBe(2);
    expect(
      sample(text, 'graphql_envelop_request_duration_count', {
        operationName: 'Audit',
        operationType: 'subscription',
      }),
    ).toBe(2);
  });

  it('counts Agenda jobs that succeed and fail', async () => {
    const { agenda } = t.app.services.jobs;
    agenda.define('metrics-test-ok', async () => {});
    agenda.define('metrics-test-fail', async () => {
      throw new Error('this job fails on purpose');
    });
    await agenda.now('metrics-test-ok');
    await agenda.now('metrics-test-fail');
    const text = await until('jobs counted', async () => {
      const m = await metricsText();
      return sample(m, 'cible_jobs_total', { job: 'metrics-test-fail', outcome: 'failure' }) === 1 ? m : null;
    });
    expect(sample(text, 'cible_jobs_total', { job: 'metrics-test-ok', outcome: 'success' })).toBe(1);
    expect(sample(text, 'cible_jobs_total', { job: 'metrics-test-ok', outcome: 'failure' })).toBeNull();
    // Another process's job, as Agenda re-emits it here (a notification, remote = true): not
    // counted, and above all not a crash of this process (it once was).
    agenda.emit('success', { jobName: 'metrics-test-ok', type: 'success' }, true);
    agenda.emit('fail', { jobName: 'metrics-test-fail', type: 'fail' }, true);
    const after = await metricsText();
    expect(sample(after, 'cible_jobs_total', { job: 'metrics-test-ok', outcome: 'success' })).toBe(1);
    expect(sample(after, 'cible_jobs_total', { job: 'metrics-test-fail', outcome: 'failure' })).toBe(1);
  });

  it('keeps operation names bounded', async () => {
    await Promise.all(
      Array.from({ length: 230 }, (_, i) => post({ query: `query Random${i} { __typename }` })),
    );
    const text = await metricsText();
    const names = new Set(
      [...text.matchAll(/^graphql_envelop_request\{[^}]*operationName="([^"]+)"/gm)].map((m) => m[1]),
    );
    expect(names.size).toBeLessThanOrEqual(201);
    expect(names.has('other')).toBe(true);
  });

  it('needs METRICS_TOKEN when it is set, and is off in production without one', async () => {
    const token = 'metrics-secret-0123456789';
    const guarded = await startTestApp(
      { METRICS_TOKEN: token, NODE_ENV: 'production' },
      { databaseUrl: t.databaseUrl },
    );
    const off = await startTestApp({ NODE_ENV: 'production' }, { databaseUrl: t.databaseUrl });
    try {
      const url = guarded.url.replace(/\/graphql$/, '');
      expect((await fetch(`${url}/metrics`)).status).toBe(401);
      expect((await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(
        401,
      );
      expect(await metricsText(url, { authorization: `Bearer ${token}` })).toContain(
        'graphql_envelop_request',
      );
      expect((await fetch(`${off.url.replace(/\/graphql$/, '')}/metrics`)).status).toBe(404);
      // Off, the app still answers GraphQL, with no metrics hook on its requests.
      const me = await fetch(off.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${owner.token}` },
        body: JSON.stringify({ query: '{ me { id } }' }),
      });
      expect(((await me.json()) as { data: { me: { id: string } } }).data.me.id).toBeTruthy();
      for (const [env, hooks] of [
        [{ NODE_ENV: 'production' }, 0],
        [{ NODE_ENV: 'production', METRICS_TOKEN: token }, 1],
      ] as const) {
        const m = createMetrics(loadConfig(env));
        expect(m.plugins).toHaveLength(hooks);
        m.close();
      }
    } finally {
      await guarded.close();
      await off.close();
    }
  });
});

describe('request ids and logs', () => {
  it('returns a generated id, or the caller’s sanitised and bounded', async () => {
    const own = await post({ query: '{ __typename }' });
    expect(own.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const given = await post({ query: '{ __typename }' }, { 'x-request-id': 'trace-42.a:b' });
    expect(given.headers.get('x-request-id')).toBe('trace-42.a:b');
    const dirty = await post({ query: '{ __typename }' }, { 'x-request-id': `a "b" <c>${'x'.repeat(300)}` });
    expect(dirty.headers.get('x-request-id')).toBe(`abc${'x'.repeat(125)}`);
    expect((await fetch(`${base()}/health`)).headers.get('x-request-id')).toBeTruthy();
  });

  it('logs JSON lines, an unexpected error with the request id, and requests at debug', async () => {
    const lines: string[] = [];
    const db = await createTestDatabase();
    const app = await buildApp(loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'debug' }), {
      databaseUrl: db.url,
      logger: createLogger('debug', (line) => lines.push(line)),
    });
    const url = await app.start();
    try {
      const other = await startTestApp({}, { databaseUrl: db.url });
      const actor = await signUpOwner(other);
      await other.close();
      const { default: pg } = await import('pg');
      const sql = new pg.Client(db.url);
      await sql.connect();
      await sql.query('alter table audit_entry rename to audit_entry_away');
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${actor.token}`,
            'x-request-id': 'failing-call-1',
          },
          body: JSON.stringify({ query: '{ auditLog(first: 5) { nodes { id } } }' }),
        });
        expect(await res.text()).toContain('Unexpected error.');
      } finally {
        await sql.query('alter table audit_entry_away rename to audit_entry');
        await sql.end();
      }
      const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      const failure = records.find((r) => r.reqId === 'failing-call-1' && r.level === 'error');
      expect(failure).toMatchObject({ level: 'error', reqId: 'failing-call-1' });
      expect(typeof failure?.time).toBe('string');
      expect(JSON.stringify(failure)).toMatch(/audit_entry/);
      // At debug, one access line per request, with the same id.
      await until('the access line', async () =>
        lines.some((l) => l.includes('"msg":"request"') && l.includes('failing-call-1')),
      );
      const access = records
        .concat(lines.map((l) => JSON.parse(l)))
        .find((r) => r.msg === 'request' && r.reqId === 'failing-call-1');
      expect(access).toMatchObject({ level: 'debug', method: 'POST', path: '/graphql', status: 200 });
    } finally {
      await app.stop();
      await db.drop();
    }
  });

  it('writes nothing at LOG_LEVEL=silent', () => {
    const lines: string[] = [];
    const logger = createLogger('silent', (line) => lines.push(line));
    logger.error('boom', new Error('x'));
    logger.warn('w');
    expect(lines).toEqual([]);
  });
});
