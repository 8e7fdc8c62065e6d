/**
 * Phrases of Sisimai's reason tables that the lists of phrases-recipient.ts, phrases-sender.ts and
 * phrases-transport.ts lacked: the literal `$index` entries of Sisimai 4.25's Sisimai/Reason/*.pm
 * (Debian's libsisimai-perl, BSD 2-clause; issue 17, 3: Sisimai's documented reason definitions),
 * each under the reason its table gives it. Left out: those our lists give another reason (the
 * difference is deliberate there, and dev/'s Sisimai 5.2 labels agree with ours), ten too
 * generic to name a reason alone ("address rejected", "size limit", "as a relay"...), and Expired's
 * "giving up on": qmail-remote.c writes "Giving up on <ip>." after any permanent failure of a
 * host, so it named every qmail-like notice expired.
 */
export const SISIMAI_TABLE_PHRASES: Readonly<Record<string, readonly string[]>> = {
  contenterror: [
    'message header size, or recipient list, exceeds policy limit',
    'message mime complexity exceeds the policy maximum',
    'this message contain invalid mime headers',
    'this message contain improperly-formatted binary content',
    'this message contain text that uses unnecessary base64 encoding',
  ],
  expired: [
    'could not find a gateway for',
    'failed to deliver to domain',
    'it has not been collected after',
    'server did not respond',
    'was not reachable within the allowed queue period',
  ],
  filtered: [
    'due to extended inactivity new mail is not currently being accepted for this mailbox',
    'resolver.rst.notauthorized',
  ],
  hostunknown: ['the account or domain may not exist'],
  mailboxfull: [
    'boite du destinataire pleine',
    'does not have enough space',
    'full mailbox',
    'is over disk quota',
    'mailbox exceeded the local limit',
    'maildir delivery failed: userdisk quota',
    'maildir delivery failed: domaindisk quota',
    'over the allowed quota',
    "the user's space has been used up",
  ],
  mesgtoobig: ['taille limite du message atteinte'],
  networkerror: [
    'dns records for the destination computer could not be found',
    'mail forwarding loop for',
    'maximum forwarding loop count exceeded',
    'unrouteable mail domain',
  ],
  norelaying: [
    'mail server requires authentication when attempting to send to a non-local e-mail address',
    'not an open relay, so get lost',
    "that domain isn't in my list of allowed rcpthost",
    "we don't handle mail for",
  ],
  notaccept: ['no route for current request', 'smtp protocol returned a permanent error'],
  policyviolation: [
    'closed mailing list',
    'message bounced due to organizational settings',
    'message given low priority',
    'messages with multiple addresses',
    'the email address used to send your message is not subscribed to this group',
    'the message was rejected by organization policy',
    'we do not accept messages containing images or other attachments',
    'you have exceeded the allowable number of posts without solving a captcha',
    'you have exceeded the the allowable number of posts without solving a captcha',
  ],
  rejected: [
    'batv failed to verify',
    'batv validation failure',
    "because the sender isn't on the recipient's list of senders to accept mail from",
    'bogus mail from',
    'denied [bouncedeny]',
    'denied by secumail valid-address-filter',
    'does not exist e2110',
    'envelope blocked –',
    'error: no third-party dsns',
    'recipient addresses rejected : access denied',
    'recipient not accepted. (batv: no tag',
    'rfc 1035 violation: recursive cname records for',
    'rule imposed mailbox access for',
    'sender email address rejected',
    'sender is in my black list',
    'the message has been rejected by batv defense',
  ],
  suspend: [
    'is currently suspended',
    'temporary locked',
    'mailbox is frozen',
    'recipient rejected: temporarily inactive',
  ],
  systemerror: [
    "can't create user output file",
    'could not load drd for domain',
    'interrupted system call',
    'it encountered an error while being processed',
    'local configuration error',
    'loop was found in the mail exchanger',
    'queue file write error',
    'mail system configuration error',
    'remote server is misconfigured',
    'server configuration error',
  ],
  toomanyconn: [
    'has exceeded the max emails per hour',
    'trop de connexions,',
    'we have already made numerous attempts to deliver this message',
  ],
  vacation: ['i will be traveling for work on'],
};
