import { createHmac, randomBytes } from 'node:crypto';

/**
 * Standard Webhooks signing (spec/standard-webhooks.md): `webhook-signature` holds
 * `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">`, one per secret,
 * space-separated; a secret is `whsec_` + base64 of its key bytes. Node's own HMAC rather than the
 * reference package, which computes SHA-256 in JavaScript: the tests verify every request with
 * that package (`standardwebhooks`), so the two implementations check each other.
 */
export const SECRET_PREFIX = 'whsec_';
/** The specification asks for 24 to 64 bytes; 32 is what its examples use. */
const SECRET_BYTES = 32;

export function newSecret(): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString('base64');
}

/** What the API shows of a secret once it was shown in full: its prefix and last 4 characters. */
export const secretHint = (secret: string) => `${SECRET_PREFIX}…${secret.slice(-4)}`;

const keyOf = (secret: string) => Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');

/** The `webhook-signature` header for this message, signed by every secret given (rotation). */
export function signatureHeader(secrets: string[], msgId: string, timestamp: number, body: string): string {
  return secrets
    .map(
      (s) =>
        `v1,${createHmac('sha256', keyOf(s)).update(`${msgId}.${timestamp}.`).update(body).digest('base64')}`,
    )
    .join(' ');
}

/** The three headers of one attempt; the timestamp is the attempt's (seconds), the id the message's. */
export function signedHeaders(
  secrets: string[],
  msgId: string,
  at: Date,
  body: string,
): Record<string, string> {
  const timestamp = Math.floor(at.getTime() / 1000);
  return {
    'webhook-id': msgId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signatureHeader(secrets, msgId, timestamp, body),
  };
}

export const msgIdOf = (deliveryId: string) => `msg_${deliveryId}`;
