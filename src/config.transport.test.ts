/** The email transport's settings: VERP domain, inbound token, DKIM key, process send rate. */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const pem = (type: 'rsa' | 'ed25519' | 'ec') =>
  (type === 'ec'
    ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
    : type === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 1024 })
      : generateKeyPairSync('ed25519')
  ).privateKey
    .export({ type: 'pkcs8', format: 'pem' })
    .toString();

describe('email transport settings', () => {
  it('default to no DKIM, the From domain, no inbound token and no process rate', () => {
    expect(loadConfig({})).toMatchObject({
      dkim: null,
      bounceDomain: null,
      bounceInboundToken: null,
      sendRatePerSecond: 0,
    });
    expect(loadConfig({ BOUNCE_DOMAIN: 'Bounces.Example.COM', SEND_RATE_PER_SECOND: '50' })).toMatchObject({
      bounceDomain: 'bounces.example.com',
      sendRatePerSecond: 50,
    });
    expect(() => loadConfig({ BOUNCE_DOMAIN: 'not a domain' })).toThrow(ConfigError);
    expect(() => loadConfig({ BOUNCE_DOMAIN: 'bounces@example.com' })).toThrow(/domain name/);
    expect(() => loadConfig({ BOUNCE_INBOUND_TOKEN: 'short' })).toThrow(/at least 16/);
    expect(() => loadConfig({ SEND_RATE_PER_SECOND: '-1' })).toThrow(/SEND_RATE_PER_SECOND/);
  });

  it('read a DKIM key as PEM text (\\n-escaped too) or from a file, RSA or Ed25519, all three or none', () => {
    const rsa = pem('rsa');
    const base = { DKIM_DOMAIN: 'Acme.Example', DKIM_SELECTOR: 's2026' };
    expect(loadConfig({ ...base, DKIM_PRIVATE_KEY: rsa }).dkim).toEqual({
      domainName: 'acme.example',
      keySelector: 's2026',
      privateKey: rsa.trim(),
    });
    expect(loadConfig({ ...base, DKIM_PRIVATE_KEY: rsa.replace(/\n/g, '\\n') }).dkim?.privateKey).toBe(
      rsa.trim(),
    );
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dkim-'));
    try {
      const file = path.join(dir, 'key.pem');
      const ed = pem('ed25519');
      writeFileSync(file, ed);
      expect(loadConfig({ ...base, DKIM_PRIVATE_KEY_FILE: file }).dkim?.privateKey).toBe(ed.trim());
      expect(() => loadConfig({ ...base, DKIM_PRIVATE_KEY_FILE: `${file}.missing` })).toThrow(
        /cannot be read/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(() => loadConfig({ ...base, DKIM_PRIVATE_KEY: pem('ec') })).toThrow(/RSA or Ed25519/);
    expect(() => loadConfig({ ...base, DKIM_PRIVATE_KEY: 'not a key' })).toThrow(/RSA or Ed25519/);
    expect(() => loadConfig({ DKIM_DOMAIN: 'acme.example', DKIM_PRIVATE_KEY: rsa })).toThrow(/DKIM needs/);
    expect(() => loadConfig({ ...base })).toThrow(/DKIM needs/);
    expect(() => loadConfig({ ...base, DKIM_SELECTOR: 'bad selector', DKIM_PRIVATE_KEY: rsa })).toThrow(
      /DKIM_SELECTOR/,
    );
  });
});
