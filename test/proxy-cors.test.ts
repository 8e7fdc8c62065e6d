import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { clientIpResolver } from '../src/http/client-ip.js';
import { startTestApp, type TestApp, uniqueEmail } from './harness.js';

/** The audit IP behind proxies (TRUST_PROXY) and browser preflights (CORS_ORIGINS). */
let plain: TestApp & { databaseUrl: string };
let proxied: TestApp;
let narrow: TestApp;

beforeAll(async () => {
  plain = await startTestApp();
  proxied = await startTestApp({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }, { databaseUrl: plain.databaseUrl });
  narrow = await startTestApp(
    { CORS_ORIGINS: 'https://app.example.com,http://localhost:5173' },
    { databaseUrl: plain.databaseUrl },
  );
});
afterAll(async () => {
  await narrow.close();
  await proxied.close();
  await plain.close();
});

/** Signs up with these headers and reads the IP its audit entry recorded. */
async function auditedIp(t: TestApp, headers: Record<string, string>): Promise<string | null> {
  const email = uniqueEmail('proxy');
  const res = await fetch(t.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({
      query: 'mutation($i: SignUpInput!) { signUp(input: $i) { user { id } } }',
      variables: { i: { accountName: 'Proxy', name: 'P', email, password: 'correct horse battery' } },
    }),
  });
  const body = (await res.json()) as { data?: { signUp: { user: { id: string } } }; errors?: unknown };
  if (!body.data) throw new Error(JSON.stringify(body.errors));
  const { rows } = await t.sql.query<{ ip: string | null }>(
    "select ip from audit_entry where user_id = $1 and action = 'signUp'",
    [body.data.signUp.user.id],
  );
  return rows[0].ip;
}

describe('client IP in audit entries', () => {
  it('ignores X-Forwarded-For when no proxy is trusted (anyone can write it)', async () => {
    expect(await auditedIp(plain, { 'x-forwarded-for': '203.0.113.9' })).toBe('127.0.0.1');
  });

  it('takes the right-most address that is not a trusted proxy', async () => {
    // The client forged the first hop; our proxies appended the real one and their own.
    const chain = '198.51.100.66, 203.0.113.9, 10.1.2.3';
    expect(await auditedIp(proxied, { 'x-forwarded-for': chain })).toBe('203.0.113.9');
    expect(await auditedIp(proxied, {})).toBe('127.0.0.1');
  });

  it('resolves chains as a trusted peer reports them', () => {
    const ipOf = clientIpResolver(loadConfig({ TRUST_PROXY: '10.0.0.0/8,2001:db8::/32' }).trustProxy);
    const req = (peer: string, xff?: string | string[]) =>
      ({
        socket: { remoteAddress: peer },
        headers: xff === undefined ? {} : { 'x-forwarded-for': xff },
      }) as unknown as IncomingMessage;
    expect(ipOf(req('::ffff:10.0.0.1', '203.0.113.9'))).toBe('203.0.113.9');
    expect(ipOf(req('203.0.113.50', '198.51.100.1'))).toBe('203.0.113.50'); // untrusted peer
    expect(ipOf(req('10.0.0.1', '10.0.0.7, 10.0.0.8'))).toBe('10.0.0.7'); // all trusted: left-most
    expect(ipOf(req('10.0.0.1', ['198.51.100.1', '2001:db8::5']))).toBe('198.51.100.1');
    expect(ipOf(req('10.0.0.1', 'not-an-ip, 10.0.0.9'))).toBe('10.0.0.9'); // garbage ends the walk
    expect(ipOf(req('10.0.0.1', ''))).toBe('10.0.0.1');
    expect(clientIpResolver([])(req('::ffff:127.0.0.1', '1.2.3.4'))).toBe('127.0.0.1');
  });
});

const preflight = (t: TestApp, origin: string) =>
  fetch(t.url, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type',
    },
  });

describe('CORS', () => {
  it('answers a preflight from any origin by default, without credentials, cached for a day', async () => {
    const res = await preflight(plain, 'https://somewhere.example');
    expect(res.status).toBeLessThan(300);
    // yoga (whatwg-node) answers `*` by echoing the origin; without credentials that is the same.
    expect(res.headers.get('access-control-allow-origin')).toBe('https://somewhere.example');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    expect(res.headers.get('access-control-max-age')).toBe('86400');
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toMatch(/authorization/);
    expect(res.headers.get('access-control-allow-methods')).toMatch(/POST/);
    const post = await fetch(plain.url, {
      method: 'POST',
      headers: { origin: 'https://somewhere.example', 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(post.headers.get('access-control-allow-origin')).toBe('https://somewhere.example');
    expect(post.headers.get('access-control-allow-credentials')).toBeNull();
    expect(post.headers.get('access-control-expose-headers')?.toLowerCase()).toMatch(/x-request-id/);
  });

  it('allows only the configured origins when CORS_ORIGINS lists them', async () => {
    const allowed = await preflight(narrow, 'http://localhost:5173');
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(allowed.headers.get('access-control-max-age')).toBe('86400');
    expect(allowed.headers.get('vary')?.toLowerCase()).toMatch(/origin/);
    const refused = await preflight(narrow, 'https://evil.example');
    expect(refused.headers.get('access-control-allow-origin')).not.toBe('https://evil.example');
    expect(refused.headers.get('access-control-allow-origin')).not.toBe('*');
  });
});
