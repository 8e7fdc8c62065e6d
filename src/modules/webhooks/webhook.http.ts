import dns from 'node:dns';
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import { Agent, request } from 'undici';
import { storable } from '../../shared/text.js';

/**
 * The one HTTP call of a delivery attempt. Safety (issue 14, item 5): unless private addresses are
 * allowed (WEBHOOKS_ALLOW_PRIVATE), only https URLs, and only to public addresses, checked on the
 * address really connected to: the dispatcher's lookup refuses a name that resolves to a private,
 * loopback, link-local or otherwise special address at the moment of the connection (so a name
 * that was public when the webhook was saved and rebinds to 127.0.0.1 later is refused), and an
 * address literal is checked before the call. Redirects are never followed (undici's request
 * follows none): a 3xx is a failure like any other non-2xx.
 */

/** What a receiver's answer keeps: enough to debug it, bounded whatever it sends. */
export const RESPONSE_KEPT = 1024;

/** Only ipaddr.js's `unicast` range is public: private, loopback, link-local, CGNAT, ... are not. */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let ip = ipaddr.parse(address);
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress())
    ip = (ip as ipaddr.IPv6).toIPv4Address();
  return ip.range() === 'unicast';
}

export class UnsafeUrl extends Error {}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | dns.LookupAddress[],
  family?: number,
) => void;

/** dns.lookup, refusing every answer when one of its addresses is not public. */
function publicLookup(hostname: string, options: dns.LookupOptions, callback: LookupCallback): void {
  dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const bad = addresses.find((a) => !isPublicAddress(a.address));
    if (bad)
      return callback(new UnsafeUrl(`${hostname} resolves to ${bad.address}, not a public address`), []);
    if (options.all) return callback(null, addresses);
    callback(null, addresses[0].address, addresses[0].family);
  });
}

/** Why a URL may not receive deliveries, or null. Checked at save time and before each call. */
export function urlProblem(raw: string, allowPrivate: boolean): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'url must be an absolute URL';
  }
  if (url.username || url.password) return 'url must not carry credentials';
  if (url.protocol !== 'https:' && !(allowPrivate && url.protocol === 'http:'))
    return allowPrivate ? 'url must be http or https' : 'url must be https';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!allowPrivate && net.isIP(host) && !isPublicAddress(host))
    return `url's address ${host} is not a public address`;
  if (!allowPrivate && !net.isIP(host) && (host === 'localhost' || host.endsWith('.localhost')))
    return 'url must not name localhost';
  return null;
}

export interface PostResult {
  status: number | null;
  ms: number;
  body: string | null;
  /** Seconds asked by Retry-After (a number or an HTTP date), when the answer had one. */
  retryAfter: number | null;
  error: string | null;
}

export interface Poster {
  post(url: string, headers: Record<string, string>, body: string): Promise<PostResult>;
  close(): Promise<void>;
}

function retryAfterOf(value: string | string[] | undefined): number | null {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return null;
  if (/^\d+$/.test(v.trim())) return Number(v.trim());
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, Math.round((at - Date.now()) / 1000));
}

export function createPoster(opts: { allowPrivate: boolean; timeoutMs: number }): Poster {
  const agent = new Agent({
    connect: opts.allowPrivate ? {} : { lookup: publicLookup as never },
    keepAliveTimeout: 30_000,
  });
  return {
    async post(url, headers, body) {
      const start = performance.now();
      const ms = () => Math.round(performance.now() - start);
      const problem = urlProblem(url, opts.allowPrivate);
      if (problem) return { status: null, ms: 0, body: null, retryAfter: null, error: problem };
      try {
        const res = await request(url, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json', 'user-agent': 'Cible-Webhooks/1' },
          body,
          dispatcher: agent,
          signal: AbortSignal.timeout(opts.timeoutMs),
        });
        let kept = '';
        for await (const chunk of res.body) {
          if (kept.length < RESPONSE_KEPT) kept += chunk.toString('utf8');
          if (kept.length >= RESPONSE_KEPT) {
            res.body.destroy();
            break;
          }
        }
        return {
          status: res.statusCode,
          ms: ms(),
          body: storable(kept.slice(0, RESPONSE_KEPT)),
          retryAfter: retryAfterOf(res.headers['retry-after']),
          error: null,
        };
      } catch (err) {
        const e = err as Error & { cause?: Error };
        const reason =
          e.name === 'TimeoutError' || e.name === 'AbortError'
            ? `no answer within ${opts.timeoutMs} ms`
            : ((e.cause instanceof UnsafeUrl ? e.cause.message : null) ?? e.message);
        return { status: null, ms: ms(), body: null, retryAfter: null, error: reason.slice(0, 500) };
      }
    },
    close: () => agent.close(),
  };
}
