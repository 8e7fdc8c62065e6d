import { AsyncLocalStorage } from 'node:async_hooks';
import type { Config } from '../config.js';

const ORDER = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 } as const;
type Level = Exclude<keyof typeof ORDER, 'silent'>;

export interface Logger {
  debug(msg: string, extra?: unknown): void;
  info(msg: string, extra?: unknown): void;
  warn(msg: string, extra?: unknown): void;
  error(msg: string, extra?: unknown): void;
}

/**
 * The request being served, set once by the HTTP handler: every line logged while serving it
 * (yoga's masked-error log, a service's warning) carries its id without threading it through
 * every call. MikroORM's transactions already run an AsyncLocalStorage, so the async-hook cost
 * is paid either way; this adds one more store.
 */
const requestScope = new AsyncLocalStorage<{ reqId: string }>();

export function runWithRequestId<T>(reqId: string, fn: () => T): T {
  return requestScope.run({ reqId }, fn);
}

export function currentRequestId(): string | undefined {
  return requestScope.getStore()?.reqId;
}

function errorFields(err: Error): Record<string, unknown> {
  const out: Record<string, unknown> = { name: err.name, message: err.message, stack: err.stack };
  const code = (err as { code?: unknown }).code;
  if (code !== undefined) out.code = code;
  if (err.cause instanceof Error) out.cause = errorFields(err.cause);
  return out;
}

/** Plain objects become fields of the line, errors an `err` field, anything else `extra`. */
function fieldsOf(extra: unknown): Record<string, unknown> {
  if (extra === undefined) return {};
  if (extra instanceof Error) return { err: errorFields(extra) };
  if (Array.isArray(extra)) {
    // yoga's logger hands its remaining arguments over as an array (often empty).
    if (extra.length === 0) return {};
    return extra.length === 1 ? fieldsOf(extra[0]) : { extra: extra.map((e) => fieldsOf(e)) };
  }
  if (extra && typeof extra === 'object' && Object.getPrototypeOf(extra) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(extra)) out[k] = v instanceof Error ? errorFields(v) : v;
    return out;
  }
  return { extra: String(extra) };
}

/**
 * JSON lines on stderr (stdout stays for the start-up banner): `time`, `level`, `msg`, `reqId`
 * inside a request, then the fields. One line per call so log collectors never split a record.
 */
export function createLogger(
  level: Config['logLevel'],
  write: (line: string) => void = (line) => process.stderr.write(line),
): Logger {
  const min = ORDER[level];
  const log = (lvl: Level, msg: unknown, extra?: unknown) => {
    if (ORDER[lvl] < min) return;
    const record: Record<string, unknown> = { time: new Date().toISOString(), level: lvl };
    // yoga passes an Error as the message when it masks one.
    if (msg instanceof Error) Object.assign(record, { msg: msg.message, err: errorFields(msg) });
    else record.msg = String(msg);
    const reqId = currentRequestId();
    if (reqId) record.reqId = reqId;
    for (const [k, v] of Object.entries(fieldsOf(extra))) if (!(k in record)) record[k] = v;
    let line: string;
    try {
      line = JSON.stringify(record);
    } catch {
      line = JSON.stringify({ ...record, extra: '[unserialisable]' });
    }
    write(`${line}\n`);
  };
  return {
    debug: (m, e) => log('debug', m, e),
    info: (m, e) => log('info', m, e),
    warn: (m, e) => log('warn', m, e),
    error: (m, e) => log('error', m, e),
  };
}
