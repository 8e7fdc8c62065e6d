/**
 * Providers that name the reason of a refusal by a code of their own in the reply, and publish
 * what each code means. Such a code is the most specific evidence a reply holds: it is read
 * before any wording or status code, as Sisimai reads a known remote host's replies first. The
 * codes are distinct enough (`AUP#CXBL`, `AUP#I-1100`, `i.ua/err/2`) to need no host name.
 */

/**
 * Cox, "Email Error Codes" (cox.com/residential/support/email-error-codes.html): `AUP#` and a
 * code in its replies ("554 ... cox.net rejected ... AUP#CXBL").
 */
const COX: Readonly<Record<string, string>> = {
  cxbl: 'blocked', // the sending IP is blocked for spam-like behaviour
  cdrbl: 'blocked', // the same, temporarily
  cxdns: 'requireptr', // the reverse DNS of the sending IP fails
  cxsndr: 'authfailure', // SPF, DomainKeys or DKIM failed for the sending domain
  cxsmtp: 'rejected', // not verified to come from a legitimate sender
  cxcnct: 'toomanyconn', // too many concurrent connections from the IP
  cxmxrt: 'toomanyconn', // too many recipients sent to: wait before sending more
  cxthrt: 'securityerror', // sending limited: suspicious account activity
  cxmj: 'securityerror', // sending blocked: suspicious activity on the primary account
};

/**
 * Spectrum (Charter), "Understanding email error codes" (spectrumbusiness.net/support/internet/
 * understanding-email-error-codes): `AUP#I-nnnn` for mail coming in, `AUP#O-nnnn` going out;
 * ranges of codes share a meaning.
 */
const SPECTRUM: ReadonlyArray<[from: number, to: number, reason: string]> = [
  [1000, 1000, 'blocked'], // the sending IP is blocked for suspicious activity
  [1010, 1080, 'rejected'], // the sending account is blocked or limited
  [1090, 1090, 'systemerror'], // the message cannot be processed now
  [1100, 1150, 'requireptr'], // no full-circle DNS for the sending IP
  [1160, 1190, 'policyviolation'], // against the domain's security policies
  [1200, 1250, 'blocked'], // the IP is listed by Cloudmark CSI or Spamhaus
  [1260, 1260, 'networkerror'], // IPv6 is not accepted
  [1300, 1340, 'toomanyconn'], // concurrent or total connections over the limit
  [1350, 1490, 'speeding'], // messages, recipients or invalid recipients over the limit
  [1500, 1520, 'rejected'], // sending as another address than the one signed in
  [1530, 1530, 'mesgtoobig'], // over 20 MB
  [1540, 1550, 'speeding'], // too many messages in a session, or recipients in a message
  [1560, 1560, 'policyviolation'], // too many invalid recipients
  [1580, 1580, 'speeding'], // too many recipients in a short time
];

/** i.ua, its error pages (mail.i.ua/err/N), which its replies link to. */
const IUA: Readonly<Record<string, string>> = {
  '1': 'norelaying', // SMTP as a mail gate is forbidden
  '2': 'userunknown', // the user is not found
  '3': 'suspend', // the mailbox has not been used for more than 3 months
  '4': 'mailboxfull',
  '5': 'toomanyconn', // the sending limit is exceeded
  '6': 'norelaying', // use your provider's SMTP server
  '7': 'blocked', // a wrong HELO/EHLO name
  '8': 'rejected', // the sender address could not be checked
  '9': 'blocked', // the sending IP is blacklisted
  '10': 'filtered', // not in the recipient's list of allowed senders
};

/** The reason a provider's documented code in the (lower-cased) reply gives, or null. */
export function providerReason(t: string): string | null {
  if (!t.includes('aup#') && !t.includes('i.ua/err/')) return null;
  const cox = /\baup#([a-z]+|ipbl\d+|urlbl\d+)\b/.exec(t)?.[1];
  if (cox) {
    // Cox's IPBL codes name the DNSBLs the sending IP is on, its URLBL codes those of a URL in
    // the message.
    if (cox.startsWith('ipbl')) return 'blocked';
    if (cox.startsWith('urlbl')) return 'spamdetected';
    if (COX[cox]) return COX[cox];
  }
  const spectrum = /\baup#[io]-?(\d{4})\b/.exec(t)?.[1];
  if (spectrum) {
    const n = Number(spectrum);
    const range = SPECTRUM.find(([from, to]) => n >= from && n <= to);
    if (range) return range[2];
  }
  const iua = /\bi\.ua\/err\/(\d{1,2})\b/.exec(t)?.[1];
  return (iua && IUA[iua]) || null;
}
