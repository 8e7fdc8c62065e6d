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

  it.each([
    [{ PORT: 'eighty' }, /PORT/],
    [{ PORT: '70000' }, /PORT/],
    [{ DATABASE_URL: 'mysql://x@y/z' }, /DATABASE_URL/],
    [{ DATABASE_URL: 'not a url' }, /DATABASE_URL/],
    [{ SMTP_URL: 'http://mail' }, /SMTP_URL/],
    [{ REDIS_URL: 'localhost:6379' }, /REDIS_URL/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    [{ TRACKING_SECRET: 'short' }, /TRACKING_SECRET/],
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
});
