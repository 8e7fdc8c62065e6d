/**
 * The fifth corpus's replies: what MTAs and providers document that they answer, at the SMTP step
 * they answer it, none of them in the second corpus (synth/). Each group names where its wording
 * is published: an MTA's manual or source, a provider's reference of its replies, or RFC 5321's
 * own reply texts. Hosts, addresses and identifiers are example values.
 */
export type Step = 'CONNECT' | 'HELO' | 'MAIL' | 'RCPT' | 'DATA';
export interface Reply {
  step: Step;
  text: string;
}

const at =
  (step: Step) =>
  (...texts: string[]): Reply[] =>
    texts.map((text) => ({ step, text }));

export const REPLIES: Reply[] = [
  // RFC 5321, 4.2.2 and 4.2.3: the reply texts the standard gives as examples.
  ...at('RCPT')(
    '452 Requested action not taken: insufficient system storage',
    '553 Requested action not taken: mailbox name not allowed',
    '450 Requested mail action not taken: mailbox unavailable',
    '451 Requested action aborted: local error in processing',
  ),
  ...at('DATA')('552 Requested mail action aborted: exceeded storage allocation', '554 Transaction failed'),
  ...at('CONNECT')('421 mx.example.com Service not available, closing transmission channel'),
  // Postfix: smtpd's replies for its restrictions and limits (postconf(5), smtpd.c).
  ...at('RCPT')(
    '550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown in local recipient table',
    '450 4.1.1 <bob@example.com>: Recipient address rejected: undeliverable address: host mx.example.org[192.0.2.7] said: 550 5.1.1 No such user (in reply to RCPT TO command)',
    '554 5.7.1 <bob@example.com>: Recipient address rejected: Access denied',
    '554 5.7.1 <mx.example.net[192.0.2.9]>: Client host rejected: Access denied',
    '452 4.5.3 Error: too many recipients',
    '451 4.3.5 <bob@example.com>: Recipient address rejected: Server configuration problem',
    '450 4.7.1 <bob@example.com>: Recipient address rejected: Greylisted for 300 seconds',
  ),
  ...at('MAIL')(
    '553 5.7.1 <sender@example.org>: Sender address rejected: not owned by user sender@example.org',
    '554 5.7.1 <sender@example.org>: Sender address rejected: Access denied',
    '452 4.3.1 Insufficient system storage',
  ),
  ...at('DATA')('552 5.3.4 Error: message file too big', '554 5.5.1 Error: no valid recipients'),
  ...at('CONNECT')('421 4.3.2 Service not available', '421 4.7.0 mx.example.com Error: too many errors'),
  // Exim: its ACLs' and routers' default messages (Exim's specification, chapters 42-43).
  ...at('RCPT')(
    '550 Unrouteable address',
    '550 Administrative prohibition',
    '550 relay not permitted',
    '550 Unknown user',
  ),
  ...at('CONNECT')('554 SMTP synchronization error'),
  // Dovecot LMTP and Cyrus LMTP, the mailbox stores behind many MTAs.
  ...at('RCPT')(
    "550 5.1.1 <bob@example.com> User doesn't exist: bob@example.com",
    '552 5.2.2 <bob@example.com> Quota exceeded (mailbox for user is full)',
    '550 5.1.1 Mailbox does not exist',
    '452 4.2.2 Over quota',
  ),
  // Microsoft Exchange and Exchange Online: its reference of NDR codes.
  ...at('RCPT')(
    '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient bob@example.com not found by SMTP address lookup',
    '550 5.4.1 Recipient address rejected: Access denied. [AM0EUR03FT019.eop-EUR03.prod.protection.outlook.com]',
    '550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain',
    '550 5.7.64 TenantAttribution; Relay Access Denied',
    '550 5.7.1 Unable to relay',
  ),
  ...at('MAIL')(
    '550 5.7.511 Access denied, banned sender[192.0.2.9]. To request removal from this list please forward this message to delist@example.com.',
    '550 5.7.501 Service unavailable. Spam abuse detected from IP range.',
    '550 5.7.750 Service unavailable. Client blocked from sending from unregistered domains.',
    '530 5.7.57 Client was not authenticated to send anonymous mail during MAIL FROM',
  ),
  ...at('DATA')(
    '550 5.7.512 Access denied, message must be RFC 5322 section 3.6.2 compliant and include a valid From address.',
    '550 5.7.520 Access denied, Your organization does not allow external forwarding.',
    '550 5.7.1 RESOLVER.RST.AuthRequired; authentication required',
    '550 5.7.129 RESOLVER.RST.RestrictedToRecipientsPermission; you are not allowed to send this message to this recipient',
    '554 5.4.14 Hop count exceeded - possible mail loop ATTR34',
    '550 5.6.211 Invalid MIME Content: Single text value size (32004) exceeded allowed maximum (32000) for the Content-Type header',
  ),
  // Gmail: its reference of SMTP errors and codes.
  ...at('RCPT')(
    '452 4.2.2 The recipient\'s inbox is out of storage space. Please direct the recipient to https://support.google.com/mail/?p=OverQuotaTemp',
    '550 5.2.1 The email account that you tried to reach is inactive.',
    '421 4.7.0 IP not in whitelist for RCPT domain, closing connection.',
    '450 4.2.1 The user you are trying to contact is receiving mail too quickly. Please resend your message at a later time.',
    '550 5.7.1 The user or domain that you are sending to (or from) has a policy that prohibited the mail that you sent.',
  ),
  ...at('MAIL')(
    '421 4.7.28 Our system has detected an unusual rate of unsolicited mail originating from your IP address. To protect our users from spam, mail sent from your IP address has been temporarily rate limited.',
    "550 5.7.1 The IP you're using to send mail is not authorized to send email directly to our servers. Please use the SMTP relay at your service provider instead.",
    '421 4.7.0 TLS required for RCPT domain, closing connection.',
  ),
  ...at('DATA')(
    '552 5.7.0 This message was blocked because its content presents a potential security issue.',
    '550 5.7.1 This message violates example.com email policy.',
    '550 5.7.23 The message was rejected because of Sender Policy Framework violation.',
    '552 5.3.4 Your message exceeded Google\'s message size limits.',
    '550 5.7.1 Messages missing a valid Message-ID header are not accepted.',
  ),
  // Yahoo and AOL: their reference of SMTP error codes.
  ...at('RCPT')(
    '554 30 Sorry, your message to bob@example.com cannot be delivered. This mailbox is disabled (554.30).',
    '452 Mailbox full',
  ),
  ...at('CONNECT')(
    '421 4.7.0 [TSS01] Messages from 192.0.2.9 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1',
    '554 5.7.9 Message not accepted for policy reasons. See https://senders.yahooinc.com/error-codes',
  ),
  ...at('DATA')('554 Message not allowed - [PH01] Email not accepted for policy reasons.'),
  // Mimecast and Proofpoint: their published references of rejection messages.
  ...at('RCPT')(
    '550 Invalid Recipient - https://community.mimecast.com/docs/DOC-1369#550',
    '550 Administrative prohibition - envelope blocked - https://community.mimecast.com/docs/DOC-1369#550',
  ),
  ...at('DATA')(
    '550 Rejected by header based Anti-Spoofing policy: sender@example.org',
    '554 Email rejected due to security policies - https://community.mimecast.com/docs/DOC-1369#554',
    '550 5.7.1 Message blocked due to spam content in the message.',
    '554 5.7.0 Local Policy Violation',
  ),
  ...at('CONNECT')('554 5.7.0 Your access to submit messages to this e-mail system has been rejected.'),
  // Amazon SES's replies to its senders (its documentation of SMTP responses).
  ...at('DATA')(
    '554 Message rejected: Email address is not verified. The following identities failed the check in region US-EAST-1: sender@example.org',
    '554 Transaction failed: Missing final \'@domain\'',
  ),
  ...at('MAIL')('454 Throttling failure: Maximum sending rate exceeded.', '454 Throttling failure: Daily message quota exceeded.'),
];
