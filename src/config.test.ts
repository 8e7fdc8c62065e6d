import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('configuration', () => {
  it('needs no variable at all', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 4000,
      host: '0.0.0.0',
      databaseUrl: null,
      smtpUrl: null,
      redisUrl: null,
      agendaMongoUrl: null,
    });
    expect(c.dataDir).toBe(path.resolve('.cible'));
    expect(c.publicUrl).toBe('http://localhost:4000');
  });

  it('loads the invoice settings, with the flag parser shared with webhooks', () => {
    expect(loadConfig({}).invoices).toMatchObject({
      fourEyes: true,
      creditsAfterPayment: false,
      dueDays: 30,
    });
    const c = loadConfig({
      INVOICE_FOUR_EYES: '0',
      CREDITS_AFTER_PAYMENT: 'TRUE',
      LOW_BALANCE_THRESHOLD: '50',
    });
    expect(c.invoices).toMatchObject({ fourEyes: false, creditsAfterPayment: true, lowBalanceThreshold: 50 });
    expect(c.invoices.packs.map((p) => p.id)).toContain('SMS_1K');
  });

  it.each([
    [{ PORT: 'eighty' }, /PORT/],
    [{ PORT: '70000' }, /PORT/],
    [{ DATABASE_URL: 'mysql://x@y/z' }, /DATABASE_URL/],
    [{ DATABASE_URL: 'not a url' }, /DATABASE_URL/],
    [{ SMTP_URL: 'http://mail' }, /SMTP_URL/],
    [{ REDIS_URL: 'localhost:6379' }, /REDIS_URL/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    [{ TRACKING_SECRET: 'short' }, /TRACKING_SECRET/],
    [{ TRUST_PROXY: '10.0.0.300' }, /TRUST_PROXY/],
    [{ TRUST_PROXY: '10.0.0.0/33' }, /TRUST_PROXY/],
    [{ TRUST_PROXY: '10.0.0.0/' }, /TRUST_PROXY/],
    [{ TRUST_PROXY: '::1/129' }, /TRUST_PROXY/],
    [{ TRUST_PROXY: 'proxy.example.com' }, /TRUST_PROXY/],
    [{ CORS_ORIGINS: 'app.example.com' }, /CORS_ORIGINS/],
    [{ CORS_ORIGINS: 'https://app.example.com/path' }, /CORS_ORIGINS/],
    [{ METRICS_TOKEN: 'short' }, /METRICS_TOKEN/],
    [{ SHUTDOWN_TIMEOUT_MS: '-1' }, /SHUTDOWN_TIMEOUT_MS/],
    [{ SHUTDOWN_TIMEOUT_MS: '5s' }, /SHUTDOWN_TIMEOUT_MS/],
    [{ WORKER_THREADS: '0' }, /WORKER_THREADS/],
    [{ WORKER_THREADS: '2.5' }, /WORKER_THREADS/],
    [{ WORKER_QUEUE_SIZE: '-1' }, /WORKER_QUEUE_SIZE/],
    [{ CPU_CALL_TIMEOUT_MS: '3s' }, /CPU_CALL_TIMEOUT_MS/],
    [{ CPU_CALL_TIMEOUT_MS: '0' }, /CPU_CALL_TIMEOUT_MS/],
    [{ QUERY_TIMEOUT_MS: '15s' }, /QUERY_TIMEOUT_MS/],
    [{ QUERY_TIMEOUT_MS: '5' }, /QUERY_TIMEOUT_MS/],
    [{ QUERY_TIMEOUT_MS: '600001' }, /QUERY_TIMEOUT_MS/],
    [{ INVOICE_FOUR_EYES: 'maybe' }, /INVOICE_FOUR_EYES/],
    [{ WEBHOOKS_ALLOW_PRIVATE: 'yes' }, /WEBHOOKS_ALLOW_PRIVATE/],
    [{ INVOICE_DUE_DAYS: '366' }, /INVOICE_DUE_DAYS/],
    [{ LOW_BALANCE_THRESHOLD: '-1' }, /LOW_BALANCE_THRESHOLD/],
    [{ INVOICE_PACKS: '[{"id":"X"}]' }, /INVOICE_PACKS/],
  ])('refuses %o with a message naming the variable', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(name);
  });

  it('reads the values it is given', () => {
    const c = loadConfig({
      PORT: '0',
      DATABASE_URL: 'postgres://u:p@db:5432/cible',
      PUBLIC_URL: 'https://cible.example.com/',
    });
    expect(c.port).toBe(0);
    expect(c.databaseUrl).toBe('postgres://u:p@db:5432/cible');
    expect(c.publicUrl).toBe('https://cible.example.com');
  });

  it('trusts no proxy, allows any origin and keeps /metrics open outside production by default', () => {
    const c = loadConfig({});
    expect(c.trustProxy).toEqual([]);
    expect(c.corsOrigins).toEqual(['*']);
    expect(c.metricsToken).toBeNull();
    expect(c.production).toBe(false);
    expect(c.shutdownTimeoutMs).toBe(10_000);
    expect(c.queryTimeoutMs).toBe(15_000);
    expect(loadConfig({ QUERY_TIMEOUT_MS: '250' }).queryTimeoutMs).toBe(250);
    expect(loadConfig({ NODE_ENV: 'production' }).production).toBe(true);
  });

  it('sizes the worker pools after the cores, leaving one to the event loop, unless told', () => {
    const c = loadConfig({});
    expect(c.workerThreads).toBe(Math.max(1, os.availableParallelism() - 1));
    expect(c.workerQueueSize).toBe(64 * c.workerThreads);
    expect(c.cpuCallTimeoutMs).toBe(10_000);
    expect(
      loadConfig({ WORKER_THREADS: '3', WORKER_QUEUE_SIZE: '5', CPU_CALL_TIMEOUT_MS: '250' }),
    ).toMatchObject({ workerThreads: 3, workerQueueSize: 5, cpuCallTimeoutMs: 250 });
  });

  it('reads TRUST_PROXY as addresses, CIDR ranges and named ranges', () => {
    const c = loadConfig({ TRUST_PROXY: ' 10.0.0.0/8, 203.0.113.7 ,fd00::/8, loopback' });
    expect(c.trustProxy).toEqual([
      { address: '10.0.0.0', prefix: 8, family: 'ipv4' },
      { address: '203.0.113.7', prefix: 32, family: 'ipv4' },
      { address: 'fd00::', prefix: 8, family: 'ipv6' },
      { address: '127.0.0.0', prefix: 8, family: 'ipv4' },
      { address: '::1', prefix: 128, family: 'ipv6' },
    ]);
  });

  it('reads CORS_ORIGINS as origins, or * among them as any', () => {
    expect(
      loadConfig({ CORS_ORIGINS: 'https://app.example.com, http://localhost:5173/' }).corsOrigins,
    ).toEqual(['https://app.example.com', 'http://localhost:5173']);
    expect(loadConfig({ CORS_ORIGINS: 'https://a.example.com,*' }).corsOrigins).toEqual(['*']);
  });
});
