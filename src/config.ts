import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { type FormConfig, loadFormConfig } from './modules/forms/form.config.js';
import { type InvoiceConfig, loadInvoiceConfig } from './modules/invoices/invoice.config.js';
import { loadMailConfig, type MailConfig } from './modules/mail/mail.config.js';
import { loadWebhookConfig, type WebhookConfig } from './modules/webhooks/webhook.config.js';

/** Every environment variable Cible reads, parsed and validated in one place. */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | null;
  publicUrl: string;
  smtpUrl: string | null;
  /** HTTP gateway for SMS (a JSON POST per message); without it SMS go to the local SMS outbox. */
  smsGatewayUrl: string | null;
  /** Bearer token for the gateway, also the HMAC-SHA256 key of X-Cible-Signature. */
  smsGatewayToken: string | null;
  redisUrl: string | null;
  agendaMongoUrl: string | null;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** Secret for signed tracking links; derived per install when unset. */
  trackingSecret: string | null;
  /** NODE_ENV=production: /metrics needs METRICS_TOKEN, else it is off. */
  production: boolean;
  /** Proxies whose X-Forwarded-For is believed: addresses and CIDR subnets; empty trusts none. */
  trustProxy: ProxyRange[];
  /** Origins browsers may call from; ['*'] is any origin (bearer auth, no cookies). */
  corsOrigins: string[];
  /** When set, /metrics needs `Authorization: Bearer <token>`. */
  metricsToken: string | null;
  /** How long a shutdown waits for in-flight requests and running jobs. */
  shutdownTimeoutMs: number;
  /** Worker threads for CPU-bound calls (src/workers/), per kind of call. */
  workerThreads: number;
  /** Calls waiting for a worker, per kind; one more answers RATE_LIMITED. */
  workerQueueSize: number;
  /** Longest a CPU-bound call may run in its worker; then it is terminated and the call refused. */
  cpuCallTimeoutMs: number;
  /**
   * Statement timeout of a segment count or page (src/db/bounded-read.ts); past it the field
   * answers TIMEOUT. Exports are not bounded by it: they run as long as their client reads.
   */
  queryTimeoutMs: number;
  /** The sending engine (src/modules/sending): recipients claimed per batch. */
  sendBatchSize: number;
  /** How long a claim holds before another worker may take it over (a dead worker's claims). */
  sendLeaseSeconds: number;
  /** Worker jobs per sending operation: Agenda spreads them over the server processes. */
  sendWorkers: number;
  /** Worker jobs one process runs at once (of every send): 1 spreads a send's slots over processes. */
  sendProcessSlots: number;
  /** Messages one worker hands to the transport at once. */
  sendConcurrency: number;
  /** The first retry of a deferred message (4xx, no answer); each next one waits 4 times longer. */
  sendRetrySeconds: number;
  /** How often the dispatcher looks for due operations and idle sends. */
  sendDispatchSeconds: number;
  /** Messages per second one process hands to the SMTP server or gateway, all sends together; 0: no limit. */
  sendRatePerSecond: number;
  /** Domain of the VERP return paths (bounces+<token>@domain); null: each message's From domain. */
  bounceDomain: string | null;
  /** HMAC-SHA256 key of POST /bounces/inbound (X-Cible-Signature); null: the endpoint refuses all. */
  bounceInboundToken: string | null;
  /** DKIM key the SMTP transport signs every message with; null: messages go unsigned. */
  dkim: DkimConfig | null;
  /** The free credits a new account starts with (src/modules/credits), per kind. */
  freeCredits: { EMAIL: number; SMS: number };
  /** Webhook deliveries (src/modules/webhooks/webhook.config.ts). */
  webhooks: WebhookConfig;
  /** The queue of workflow mails (src/modules/mail/mail.config.ts). */
  mail: MailConfig;
  /** Public form submissions' rate limits (src/modules/forms/form.config.ts). */
  forms: FormConfig;
  /** Credit packs, seller, numbering and payment rules (src/modules/invoices/invoice.config.ts). */
  invoices: InvoiceConfig;
}

export type WorkerSettings = Pick<Config, 'workerThreads' | 'workerQueueSize' | 'cpuCallTimeoutMs'>;

/** nodemailer's DKIM options: d= domainName, s= keySelector, the PEM private key. */
export interface DkimConfig {
  domainName: string;
  keySelector: string;
  privateKey: string;
}

/** One trusted proxy range; a single address is a /32 (IPv4) or /128 (IPv6). */
export interface ProxyRange {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

export class ConfigError extends Error {}

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;

function parseUrl(env: NodeJS.ProcessEnv, name: string, protocols: string[]): string | null {
  const raw = env[name]?.trim();
  if (!raw) return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a valid URL: ${JSON.stringify(raw)}`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(`${name} must start with ${protocols.map((p) => `${p}//`).join(' or ')}`);
  }
  return raw;
}

/** `loopback` is the usual shorthand (a proxy on the same host, e.g. nginx beside the server). */
const NAMED_RANGES: Record<string, string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  private: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

function parseTrustProxy(raw: string | undefined): ProxyRange[] {
  const ranges: ProxyRange[] = [];
  for (const item of (raw ?? '').split(',').map((x) => x.trim().toLowerCase())) {
    if (!item) continue;
    for (const entry of NAMED_RANGES[item] ?? [item]) {
      const [address, bits, extra] = entry.split('/');
      const v = isIP(address);
      const max = v === 4 ? 32 : 128;
      const prefix = bits === undefined ? max : Number(bits);
      const badBits = bits !== undefined && !/^\d{1,3}$/.test(bits);
      if (!v || extra !== undefined || badBits || prefix > max) {
        throw new ConfigError(
          `TRUST_PROXY must be a comma list of IP addresses, CIDR ranges, loopback or private; got ${JSON.stringify(item)}`,
        );
      }
      ranges.push({ address, prefix, family: v === 4 ? 'ipv4' : 'ipv6' });
    }
  }
  return ranges;
}

function parseCorsOrigins(raw: string | undefined): string[] {
  const items = (raw ?? '*')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  if (items.length === 0 || items.includes('*')) return ['*'];
  return items.map((item) => {
    let url: URL | null = null;
    try {
      url = new URL(item);
    } catch {}
    // An origin is scheme://host[:port], nothing after it: browsers compare it as a whole string.
    if (!url || !['http:', 'https:'].includes(url.protocol) || url.origin !== item.replace(/\/$/, '')) {
      throw new ConfigError(
        `CORS_ORIGINS must be * or a comma list of origins like https://app.example.com; got ${JSON.stringify(item)}`,
      );
    }
    return url.origin;
  });
}

export function wholeNumber(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  min: number,
  max: number,
) {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

/** A boolean variable: true/1 or false/0 (any case); unset or empty takes the fallback. */
export function flag(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (!raw) return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(`${name} must be true or false, got ${JSON.stringify(raw)}`);
}

const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/i;

function parseDomain(env: NodeJS.ProcessEnv, name: string): string | null {
  const raw = env[name]?.trim();
  if (!raw) return null;
  if (!DOMAIN.test(raw))
    throw new ConfigError(
      `${name} must be a domain name like bounces.example.com, got ${JSON.stringify(raw)}`,
    );
  return raw.toLowerCase();
}

function secret(env: NodeJS.ProcessEnv, name: string, minLength: number): string | null {
  const raw = env[name]?.trim() || null;
  if (raw !== null && raw.length < minLength)
    throw new ConfigError(`${name} must be at least ${minLength} characters long`);
  return raw;
}

/**
 * DKIM_DOMAIN, DKIM_SELECTOR and the key (DKIM_PRIVATE_KEY: the PEM text, `\n` accepted for line
 * breaks as env files write them; or DKIM_PRIVATE_KEY_FILE: its path): all or none. The key is
 * parsed here, so a bad one stops the start rather than every send.
 */
function parseDkim(env: NodeJS.ProcessEnv): DkimConfig | null {
  const domain = env.DKIM_DOMAIN?.trim();
  const selector = env.DKIM_SELECTOR?.trim();
  const file = env.DKIM_PRIVATE_KEY_FILE?.trim();
  let key = env.DKIM_PRIVATE_KEY?.replace(/\\n/g, '\n').trim();
  if (!domain && !selector && !key && !file) return null;
  if (!domain || !selector || (!key && !file))
    throw new ConfigError(
      'DKIM needs DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY (or DKIM_PRIVATE_KEY_FILE)',
    );
  if (!DOMAIN.test(domain))
    throw new ConfigError(`DKIM_DOMAIN must be a domain name, got ${JSON.stringify(domain)}`);
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(selector))
    throw new ConfigError(
      `DKIM_SELECTOR must be a DNS label such as mail2026, got ${JSON.stringify(selector)}`,
    );
  if (!key && file) {
    try {
      key = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new ConfigError(`DKIM_PRIVATE_KEY_FILE cannot be read: ${(err as Error).message}`);
    }
  }
  try {
    const type = createPrivateKey(key as string).asymmetricKeyType;
    if (type !== 'rsa' && type !== 'ed25519') throw new Error(`a ${type} key`);
  } catch (err) {
    throw new ConfigError(
      `the DKIM private key is not an RSA or Ed25519 PEM key (${(err as Error).message})`,
    );
  }
  return { domainName: domain.toLowerCase(), keySelector: selector, privateKey: key as string };
}

/**
 * By default one worker per core but one: the event loop keeps a core to answer other requests
 * while every worker is busy (at least one worker on a single core).
 */
export function loadWorkerSettings(env: NodeJS.ProcessEnv = process.env): WorkerSettings {
  const cores = os.availableParallelism();
  const workerThreads = wholeNumber(env, 'WORKER_THREADS', Math.max(1, cores - 1), 1, 256);
  return {
    workerThreads,
    workerQueueSize: wholeNumber(env, 'WORKER_QUEUE_SIZE', 64 * workerThreads, 0, 100_000),
    // The largest real bounce of the corpus classifies in milliseconds; 10 s is far beyond any
    // honest input, even on a loaded machine where a worker's wall time stretches (3 s refused
    // one-line replies under test load), and bounds what one call can hold a worker for.
    cpuCallTimeoutMs: wholeNumber(env, 'CPU_CALL_TIMEOUT_MS', 10_000, 10, 600_000),
  };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const portRaw = env.PORT?.trim() || '4000';
  const port = Number(portRaw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`PORT must be an integer between 0 and 65535, got ${JSON.stringify(portRaw)}`);
  }
  const logLevel = (env.LOG_LEVEL?.trim() || 'info') as Config['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(
      `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(logLevel)}`,
    );
  }
  const host = env.HOST?.trim() || '0.0.0.0';
  const publicUrl =
    parseUrl(env, 'PUBLIC_URL', ['http:', 'https:']) ?? `http://localhost:${port === 0 ? 4000 : port}`;
  const trackingSecret = env.TRACKING_SECRET?.trim() || null;
  if (trackingSecret !== null && trackingSecret.length < 32) {
    throw new ConfigError('TRACKING_SECRET must be at least 32 characters long');
  }
  const timeoutRaw = env.SHUTDOWN_TIMEOUT_MS?.trim() || '10000';
  const shutdownTimeoutMs = Number(timeoutRaw);
  if (!Number.isInteger(shutdownTimeoutMs) || shutdownTimeoutMs < 0) {
    throw new ConfigError(
      `SHUTDOWN_TIMEOUT_MS must be a whole number of milliseconds, got ${JSON.stringify(timeoutRaw)}`,
    );
  }
  const metricsToken = env.METRICS_TOKEN?.trim() || null;
  if (metricsToken !== null && metricsToken.length < 16) {
    throw new ConfigError('METRICS_TOKEN must be at least 16 characters long');
  }
  const databaseUrl = parseUrl(env, 'DATABASE_URL', ['postgres:', 'postgresql:']);
  return {
    port,
    host,
    dataDir: path.resolve(env.DATA_DIR?.trim() || './.cible'),
    databaseUrl,
    publicUrl: publicUrl.replace(/\/$/, ''),
    smtpUrl: parseUrl(env, 'SMTP_URL', ['smtp:', 'smtps:']),
    smsGatewayUrl: parseUrl(env, 'SMS_GATEWAY_URL', ['http:', 'https:']),
    smsGatewayToken: env.SMS_GATEWAY_TOKEN?.trim() || null,
    redisUrl: parseUrl(env, 'REDIS_URL', ['redis:', 'rediss:']),
    agendaMongoUrl: parseUrl(env, 'AGENDA_MONGO_URL', ['mongodb:', 'mongodb+srv:']),
    logLevel,
    trackingSecret,
    production: env.NODE_ENV?.trim() === 'production',
    trustProxy: parseTrustProxy(env.TRUST_PROXY),
    corsOrigins: parseCorsOrigins(env.CORS_ORIGINS),
    metricsToken,
    shutdownTimeoutMs,
    // 15 s: a count over a million contacts takes well under a second when the criterion uses
    // what is indexed or maintained; one past 15 s holds a session and a core for nothing useful.
    queryTimeoutMs: wholeNumber(env, 'QUERY_TIMEOUT_MS', 15_000, 10, 600_000),
    sendBatchSize: wholeNumber(env, 'SEND_BATCH_SIZE', 100, 1, 10_000),
    sendLeaseSeconds: wholeNumber(env, 'SEND_LEASE_SECONDS', 120, 1, 86_400),
    sendWorkers: wholeNumber(env, 'SEND_WORKERS', 4, 1, 64),
    sendProcessSlots: wholeNumber(env, 'SEND_PROCESS_SLOTS', 2, 1, 64),
    sendConcurrency: wholeNumber(env, 'SEND_CONCURRENCY', 5, 1, 100),
    sendRetrySeconds: wholeNumber(env, 'SEND_RETRY_SECONDS', 300, 1, 86_400),
    sendDispatchSeconds: wholeNumber(env, 'SEND_DISPATCH_SECONDS', 5, 1, 3_600),
    sendRatePerSecond: wholeNumber(env, 'SEND_RATE_PER_SECOND', 0, 0, 100_000),
    bounceDomain: parseDomain(env, 'BOUNCE_DOMAIN'),
    bounceInboundToken: secret(env, 'BOUNCE_INBOUND_TOKEN', 16),
    dkim: parseDkim(env),
    freeCredits: {
      EMAIL: wholeNumber(env, 'FREE_EMAIL_CREDITS', 10_000, 0, 1_000_000_000),
      SMS: wholeNumber(env, 'FREE_SMS_CREDITS', 1_000, 0, 1_000_000_000),
    },
    webhooks: loadWebhookConfig(env, databaseUrl === null),
    mail: loadMailConfig(env),
    forms: loadFormConfig(env),
    invoices: loadInvoiceConfig(env),
    ...loadWorkerSettings(env),
  };
}
