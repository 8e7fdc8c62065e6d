/**
 * The send's link signer against the tracking module's own signer and verifier: the same tokens
 * byte for byte (so the endpoints, which only verify, cannot tell them apart), each verified for
 * its own kind only, and the URLs signTrackingToken refuses left unsigned.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config.js';
import { signTrackingToken, verifyTrackingToken } from '../events/tracking.token.js';
import { unsubscribeUrl } from '../unsubscribe/unsubscribe.js';
import { linkSigner } from './sending.links.js';

const config = loadConfig({
  TRACKING_SECRET: 'the links test secret, long enough to be one',
  PUBLIC_URL: 'https://cible.example',
});
const key = Buffer.from('0123456789abcdef0123456789abcdef');
const a = randomUUID();
const o = randomUUID();
const links = linkSigner(config, key, a, o);
const token = (link: string, prefix: string, suffix = '') => {
  expect(link.startsWith(`https://cible.example${prefix}`)).toBe(true);
  expect(link.endsWith(suffix)).toBe(true);
  return link.slice(`https://cible.example${prefix}`.length, link.length - suffix.length);
};

describe('linkSigner', () => {
  const urls = [
    'https://shop.example/sale?a=1&b=2',
    'http://shop.example/é?q="x"&u=\\u2028',
    'https://shop.example/😀#top',
    `https://shop.example/${'p'.repeat(1900)}`,
  ];

  it('signs what signTrackingToken signs, byte for byte, and each token verifies for its kind only', () => {
    for (const c of ['1', '42', '900719925474099']) {
      for (const u of urls) {
        const t = token(links.click(c, u) as string, '/t/c/');
        expect(t).toBe(signTrackingToken(key, { a, c, o, u, k: 'c' }));
        expect(verifyTrackingToken(key, t, 'c')).toEqual({ a, c, o, u, k: 'c' });
        expect(verifyTrackingToken(key, t, 'o')).toBeNull();
      }
      const open = token(links.open(c), '/t/o/', '.gif');
      expect(open).toBe(signTrackingToken(key, { a, c, o, k: 'o' }));
      expect(verifyTrackingToken(key, open, 'u')).toBeNull();
      expect(links.unsubscribe(c)).toBe(
        unsubscribeUrl(config, key, { accountId: a, contactId: c, operationId: o }),
      );
      expect(verifyTrackingToken(key, token(links.unsubscribe(c), '/u/'), 'u')).toEqual({ a, c, o, k: 'u' });
      // Another key's verifier refuses them.
      expect(verifyTrackingToken(Buffer.alloc(32, 1), open, 'o')).toBeNull();
    }
  });

  it('leaves unsigned the URLs signTrackingToken refuses, as often as asked', () => {
    for (const u of [
      'https://a b.example/',
      'https://x.example/\r\nSet-Cookie: a',
      `https://x.example/${'p'.repeat(2000)}`,
    ]) {
      expect(links.click('1', u)).toBeNull();
      expect(links.click('2', u)).toBeNull();
      expect(() => signTrackingToken(key, { a, c: '1', o, u, k: 'c' })).toThrow();
    }
  });

  it('refuses ids that are not ids', () => {
    expect(() => links.open('1 or 1=1')).toThrow(/contact id/);
    expect(() => linkSigner(config, key, 'acme', o)).toThrow(/account and an operation id/);
  });
});
