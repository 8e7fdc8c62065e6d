import { createHmac } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { SmsOutboxMessage } from './sms-outbox.entity.js';

export interface SmsMessage {
  accountId: string | null;
  /** The sender id (letters and digits, or a number). */
  from: string;
  to: string;
  text: string;
  /** Deterministic id chosen by the caller, sent to the gateway as `reference`. */
  messageId: string;
  kind: 'TEST' | 'OPERATION';
}

export interface SmsResult {
  /** The gateway's id for the message (its `id` in the JSON answer), or the outbox row's. */
  gatewayId: string;
}

/** The gateway did not accept the message: its HTTP status (0 when it did not answer). */
export class SmsGatewayError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export interface SmsTransport {
  readonly kind: 'gateway' | 'outbox';
  send(em: EntityManager, message: SmsMessage): Promise<SmsResult>;
}

export const SMS_GATEWAY_TIMEOUT_MS = 10_000;

/** HMAC-SHA256 of the exact body with the token, hex: what a gateway checks X-Cible-Signature with. */
export const signBody = (token: string, body: string) =>
  createHmac('sha256', token).update(body).digest('hex');

/**
 * A JSON POST per message to SMS_GATEWAY_URL: `{ from, to, text, reference }`, with
 * `Authorization: Bearer <token>` and `X-Cible-Signature` (HMAC-SHA256 of the body, as listmonk's
 * messengers sign), 10 s timeout. A 2xx is accepted, with the gateway's `id` when it gives one;
 * anything else is a SmsGatewayError with the status. Without a URL: the local SMS outbox.
 */
export function createSmsTransport(url: string | null, token: string | null): SmsTransport {
  if (!url) {
    return {
      kind: 'outbox',
      async send(em, m) {
        const row = em.create(SmsOutboxMessage, {
          account: m.accountId,
          senderId: m.from,
          to: m.to,
          text: m.text,
          messageId: m.messageId,
          kind: m.kind,
          createdAt: new Date(),
        });
        await em.flush();
        return { gatewayId: `outbox:${row.id}` };
      },
    };
  }
  return {
    kind: 'gateway',
    async send(_em, m) {
      const body = JSON.stringify({ from: m.from, to: m.to, text: m.text, reference: m.messageId });
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (token) {
        headers.authorization = `Bearer ${token}`;
        headers['x-cible-signature'] = signBody(token, body);
      }
      let res: Response;
      try {
        res = await fetch(url, {
          method: 'POST',
          headers,
          body,
          redirect: 'error',
          signal: AbortSignal.timeout(SMS_GATEWAY_TIMEOUT_MS),
        });
      } catch (err) {
        throw new SmsGatewayError(`SMS gateway unreachable: ${(err as Error).message}`, 0);
      }
      const answer = await res.text();
      if (!res.ok) throw new SmsGatewayError(`SMS gateway answered ${res.status}`, res.status);
      let id: unknown = null;
      try {
        id = (JSON.parse(answer) as { id?: unknown }).id;
      } catch {}
      return { gatewayId: id == null ? m.messageId : String(id) };
    },
  };
}
