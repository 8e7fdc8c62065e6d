import path from 'node:path';

/** Every environment variable Cible reads, parsed and validated in one place. */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | null;
  publicUrl: string;
  smtpUrl: string | null;
  redisUrl: string | null;
  agendaMongoUrl: string | null;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** Secret for signed tracking links; derived per install when unset. */
  trackingSecret: string | null;
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
  return {
    port,
    host,
    dataDir: path.resolve(env.DATA_DIR?.trim() || './.cible'),
    databaseUrl: parseUrl(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    publicUrl: publicUrl.replace(/\/$/, ''),
    smtpUrl: parseUrl(env, 'SMTP_URL', ['smtp:', 'smtps:']),
    redisUrl: parseUrl(env, 'REDIS_URL', ['redis:', 'rediss:']),
    agendaMongoUrl: parseUrl(env, 'AGENDA_MONGO_URL', ['mongodb:', 'mongodb+srv:']),
    logLevel,
    trackingSecret,
  };
}
