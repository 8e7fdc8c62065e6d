import type { Config } from '../config.js';

const ORDER = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 } as const;

export interface Logger {
  debug(msg: string, extra?: unknown): void;
  info(msg: string, extra?: unknown): void;
  warn(msg: string, extra?: unknown): void;
  error(msg: string, extra?: unknown): void;
}

/** A minimal levelled logger on stderr; enough until we need structured logs. */
export function createLogger(level: Config['logLevel']): Logger {
  const min = ORDER[level];
  const log = (lvl: keyof typeof ORDER, msg: string, extra?: unknown) => {
    if (ORDER[lvl] < min) return;
    const line = `[${new Date().toISOString()}] ${lvl.toUpperCase()} ${msg}`;
    if (extra === undefined) console.error(line);
    else console.error(line, extra);
  };
  return {
    debug: (m, e) => log('debug', m, e),
    info: (m, e) => log('info', m, e),
    warn: (m, e) => log('warn', m, e),
    error: (m, e) => log('error', m, e),
  };
}
