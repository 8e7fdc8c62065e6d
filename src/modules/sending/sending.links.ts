import { createHmac, createSecretKey } from 'node:crypto';
import type { Config } from '../../config.js';
import { isRowId, isUuid } from '../../shared/ids.js';
import { hasControlChars } from '../events/tracking.token.js';

/** URLs of one send whose checks are kept; past this many, each is checked again (a template with
 * a link per contact would otherwise grow the map for the whole slice). */
const KEPT_URLS = 1000;

export interface LinkSigner {
  /** The click link of `url` for a contact, or null for a URL that is never signed (see below). */
  click(contactId: string, url: string): string | null;
  /** The open pixel's URL. */
  open(contactId: string): string;
  /** The unsubscribe link (and List-Unsubscribe target): what unsubscribeUrl makes. */
  unsubscribe(contactId: string): string;
}

/**
 * The tracking links of one send's messages, seven HMAC-signed tokens per message in
 * bench/sending.ts (five clicks, the pixel, the unsubscribe link). The tokens are byte for byte
 * what signTrackingToken signs (`<base64url JSON>.<base64url HMAC-SHA256 of "v1." + it>`, the
 * payload's keys in its order; sending.links.test.ts compares), so /t/c, /t/o and /u verify them
 * unchanged; what signTrackingToken does again for every token is done here once per send: the
 * account and operation ids checked and written into the JSON, the key imported, each distinct
 * URL parsed and checked (a `new URL` per click was a third of a token's cost). A URL that
 * signTrackingToken would refuse (control characters, over 2000 characters, not a URL) is left as
 * it is written instead of failing the message.
 */
export function linkSigner(config: Config, key: Buffer, accountId: string, operationId: string): LinkSigner {
  if (!isUuid(accountId) || !isUuid(operationId))
    throw new Error('cannot sign links: not an account and an operation id');
  const secret = createSecretKey(key);
  const head = `{"a":"${accountId}","c":"`;
  const tail = `","o":"${operationId}"`;
  const sign = (json: string) => {
    const body = Buffer.from(json, 'utf8').toString('base64url');
    return `${body}.${createHmac('sha256', secret).update('v1.').update(body).digest('base64url')}`;
  };
  const contact = (id: string) => {
    if (!isRowId(id)) throw new Error('cannot sign links: not a contact id');
    return id;
  };
  const urls = new Map<string, string | null>();
  /** The URL as a JSON string when signTrackingToken would sign it, else null. */
  const checked = (url: string): string | null => {
    let json = urls.get(url);
    if (json !== undefined) return json;
    json = null;
    if (url.length <= 2000 && !hasControlChars(url)) {
      try {
        const { protocol } = new URL(url);
        if (protocol === 'http:' || protocol === 'https:') json = JSON.stringify(url);
      } catch {
        // not a URL: left as written
      }
    }
    if (urls.size < KEPT_URLS) urls.set(url, json);
    return json;
  };
  return {
    click(contactId, url) {
      const u = checked(url);
      return u === null
        ? null
        : `${config.publicUrl}/t/c/${sign(`${head}${contact(contactId)}${tail},"u":${u},"k":"c"}`)}`;
    },
    open: (contactId) =>
      `${config.publicUrl}/t/o/${sign(`${head}${contact(contactId)}${tail},"k":"o"}`)}.gif`,
    unsubscribe: (contactId) =>
      `${config.publicUrl}/u/${sign(`${head}${contact(contactId)}${tail},"k":"u"}`)}`,
  };
}
