import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Longer ids are cut: the id goes into every log line and a response header. */
const MAX_LENGTH = 128;

/**
 * The id of one HTTP request: the caller's `X-Request-Id` (a proxy or a client tracing its own
 * calls) when it is printable, so one id follows the call through every hop; otherwise a new one.
 * Only `[A-Za-z0-9._:/+=-]` is kept: the id lands in log lines and a header, where quotes, spaces
 * or newlines could forge content.
 */
export function requestIdOf(req: IncomingMessage): string {
  const raw = req.headers['x-request-id'];
  const given = typeof raw === 'string' ? raw.replace(/[^A-Za-z0-9._:/+=-]/g, '').slice(0, MAX_LENGTH) : '';
  return given || randomUUID();
}
