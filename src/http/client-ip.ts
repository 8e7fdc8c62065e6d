import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import type { ProxyRange } from '../config.js';

/** IPv4 peers of a dual-stack socket read `::ffff:1.2.3.4`; audit entries keep the plain form. */
function plain(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/**
 * The client's address for audit entries and sessions. Without trusted proxies it is the socket's
 * peer: X-Forwarded-For is anyone's to write. With TRUST_PROXY it walks the chain the proxies
 * appended to (`client, proxy1, proxy2` then the peer) from the right and stops at the first
 * address that is not a trusted proxy: everything left of it was written by an untrusted party.
 */
export function clientIpResolver(trusted: ProxyRange[]): (req: IncomingMessage | undefined) => string | null {
  const peerOf = (req: IncomingMessage | undefined) => {
    const a = req?.socket?.remoteAddress;
    return a ? plain(a) : null;
  };
  if (trusted.length === 0) return peerOf;
  const list = new BlockList();
  for (const r of trusted) list.addSubnet(r.address, r.prefix, r.family);
  const isTrusted = (a: string) => {
    const v = isIP(a);
    return v !== 0 && list.check(a, v === 4 ? 'ipv4' : 'ipv6');
  };
  return (req) => {
    let ip = peerOf(req);
    if (!ip || !isTrusted(ip)) return ip;
    const header = req?.headers['x-forwarded-for'];
    if (!header) return ip;
    const hops = (Array.isArray(header) ? header.join(',') : header).split(',');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = plain(hops[i].trim());
      // A hop that is no address (garbage, a port suffix) ends the walk: the trusted proxy that
      // forwarded it is the last address we can vouch for.
      if (!isIP(hop)) return ip;
      ip = hop;
      if (!isTrusted(hop)) return hop;
    }
    return ip; // every hop is a trusted proxy: the left-most is the closest we know to the client
  };
}
