import { isIP } from 'node:net';

/**
 * Which opens and clicks a machine made, decided as a deliverability engineer would: from the
 * fetcher's user agent and address at the request (here), and from timing against the send and
 * the contact's other clicks (in SQL, tracking.repository.ts, where the send and the clicks are).
 * A machine hit is still recorded (`contact_event.machine`), and is kept out of the operation's
 * unique opens and clicks (Operation.stats shows it apart).
 *
 * Evidence, rule by rule:
 * - Apple Mail Privacy Protection (iOS 15, macOS 12 and later) downloads every remote image of a
 *   message when it reaches the device, read or not, through Apple's proxies: the open pixel is
 *   fetched with the user agent `Mozilla/5.0` and nothing else (ua-parser/uap-core#509, from
 *   2021-09-20), from Apple's address space 17.0.0.0/8 (SocketLabs, "Identifying Apple MPP opens";
 *   SendGrid's `sg_machine_open` flags the same opens). A later real open is served from the
 *   device's cache, so every open through the proxy is the prefetch: machine. A click from
 *   17.0.0.0/8 is not (iCloud Private Relay carries real people's clicks from Apple addresses).
 * - Gmail's image proxy (`GoogleImageProxy`), Yahoo's (`YahooMailProxy`) and Outlook.com's fetch
 *   the image when the reader opens the message (Gmail, "Images now showing", 2013), hiding only
 *   the reader's address: these opens are human, and are not flagged. (A repeat open may be
 *   served from their cache and never reach us: opens through them are a floor.)
 * - Security gateways follow every link (and load images) before delivery or when the message
 *   arrives: Barracuda (Link Protection), Mimecast (URL Protect), Proofpoint (URL Defense),
 *   Microsoft Defender Safe Links (whose detonation identifies as `BingPreview`), Cisco IronPort,
 *   Trend Micro, Sophos, Fortinet (Act-On and Barracuda Campus on unwanted link clicks; Validity
 *   community threads). Their user agents, and those of plain HTTP libraries and headless browsers
 *   no reader uses, mark a machine. A request without a user agent is a machine too.
 * - Timing (SQL): a hit within SEND_WINDOW_SECONDS of its send (or while the send is still being
 *   recorded) is faster than a person reads; and a contact who clicks BURST_LINKS distinct links
 *   of one message within BURST_SECONDS is a scanner walking the links (people click one or two).
 * HEAD requests are never recorded (tracking.ts): link checkers probe with them.
 */

export type HitKind = 'open' | 'click';

/** Why a hit is machine-made (null: nothing says so at the request). */
export type MachineReason = 'apple-proxy' | 'scanner' | 'no-user-agent';

/** An open or click within this many seconds of its send is a machine's. */
export const SEND_WINDOW_SECONDS = 5;
/** Clicks on this many distinct links of one message within BURST_SECONDS are a scanner's. */
export const BURST_LINKS = 3;
export const BURST_SECONDS = 5;

/** Apple's address space, 17.0.0.0/8 (ARIN allocation): where Mail Privacy Protection fetches from. */

/**
 * Scanners and tools, matched case-insensitively anywhere in the user agent. Kept to names that
 * no mail client or browser carries.
 */
const SCANNER = new RegExp(
  [
    'barracuda',
    'mimecast',
    'proofpoint',
    'bingpreview',
    'safelinks',
    'ironport',
    'ciscosecureemail',
    'trendmicro',
    'sophos',
    'fortiguard',
    'forcepoint',
    'symantec',
    'messagelabs',
    'zscaler',
    'headlesschrome',
    'phantomjs',
    'python-requests',
    'python-urllib',
    'aiohttp',
    'go-http-client',
    'okhttp',
    'java/',
    'libwww-perl',
    'wget',
    'curl/',
    'httpclient',
    'node-fetch',
    'axios/',
    'bot\\b',
    'crawler',
    'spider',
    'scanner',
    'slurp',
  ].join('|'),
  'i',
);

/**
 * What the request itself says: the user agent (as sent, possibly absent) and the client's
 * address (as server.ts's clientIpResolver decides it, TRUST_PROXY included).
 */
export function machineReason(
  kind: HitKind,
  userAgent: string | undefined,
  ip: string | null,
): MachineReason | null {
  const ua = userAgent?.trim() ?? '';
  if (!ua) return 'no-user-agent';
  if (SCANNER.test(ua)) return 'scanner';
  // No browser sends the bare token; Apple's proxy does, for images only (it never follows links).
  if (ua === 'Mozilla/5.0') return kind === 'open' ? 'apple-proxy' : 'scanner';
  if (kind === 'open' && ip !== null && isApple(ip)) return 'apple-proxy';
  return null;
}

// A prefix test for the one /8 (BlockList.check builds a SocketAddress per call: 8 us a hit).
function isApple(ip: string): boolean {
  const plain = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  return plain.startsWith('17.') && isIP(plain) === 4;
}
