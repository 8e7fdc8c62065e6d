import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { AppServices, Viewer } from '../context.js';
import { cancelBackend } from '../db/bounded-read.js';
import { type AccessLevel, atLeast, type Feature } from '../modules/access/access.js';
import { Params } from '../modules/targeting/criterion.compile.js';
import { cachedViewer } from '../modules/users/auth.service.js';
import { AppError } from '../shared/errors.js';

/** Exports streaming at once, per process; one more answers 429 (each holds a PostgreSQL session). */
export const MAX_EXPORTS = 4;

/*
 * CSV downloads streamed from PostgreSQL's COPY (segment members, form submissions): parameters
 * through transaction-local settings, cells a spreadsheet would run as formulas defused, one
 * snapshot per file, and the COPY cancelled in PostgreSQL when the client goes away.
 */

/**
 * COPY takes no bind parameters: each value goes into a transaction-local setting (bound as a
 * parameter of set_config) and the compiled SQL reads it back through an uncorrelated subquery,
 * run once per statement. User values never enter the SQL text.
 */
export class SettingParams extends Params {
  override add(value: unknown, cast?: string): string {
    if (!cast || !/^[a-z]+(\[\])?$/.test(cast))
      throw new Error(`export parameter without a plain cast: ${cast}`);
    this.values.push(value);
    if (value === null || value === undefined) return `null::${cast}`;
    // The outer cast (a no-op) keeps `= any(...)` reading an array, not the rows of a subquery.
    return `((select current_setting('cible.p${this.values.length}')::${cast})::${cast})`;
  }

  /** [name, text] of every setting to make before the COPY. */
  settings(): [string, string][] {
    return this.values.flatMap((v, i): [string, string][] =>
      v === null || v === undefined
        ? []
        : [[`cible.p${i + 1}`, Array.isArray(v) ? arrayLiteral(v) : String(v)]],
    );
  }
}

/** PostgreSQL's text form of a one-dimensional array, every element quoted. */
function arrayLiteral(values: unknown[]): string {
  const items = values.map((v) =>
    v === null || v === undefined ? 'NULL' : `"${String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`,
  );
  return `{${items.join(',')}}`;
}

/**
 * A spreadsheet runs a cell starting with = + - @ (or tab, CR) as a formula: such text gets a
 * leading apostrophe. Numbers are left alone (a negative number is not a formula).
 */
export const safeSql = (expr: string) =>
  `(case when ${expr} ~ '^[-=+@\\t\\r]' and ${expr} !~ '^-?[0-9]+(\\.[0-9]+)?$' then '''' || ${expr} else ${expr} end)`;
export const safeCell = (text: string) =>
  /^[-=+@\t\r]/.test(text) && !/^-?\d+(\.\d+)?$/.test(text) ? `'${text}` : text;
/** A CSV field as PostgreSQL's COPY writes them: quoted when it must be. */
export const csvField = (text: string) => (/[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);

export interface CopyPlan {
  header: string;
  sql: string;
  settings: [string, string][];
}

export const json = (res: ServerResponse, status: number, code: string, message: string, headers = {}) => {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
};

export const bearer = (h: string | undefined) => /^Bearer\s+(\S+)\s*$/i.exec(h?.trim() ?? '')?.[1] ?? null;

/** ASCII-only, no quote or path: what every browser and shell takes as a file name. */
function fileName(prefix: string, name: string): string {
  const ascii = name
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '') // é -> e, not e-
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 80);
  return `${prefix}-${ascii || 'export'}.csv`;
}

/**
 * Not under QUERY_TIMEOUT_MS: an export of a million rows may rightly take minutes. It is bounded
 * by its client instead: when the response closes early the COPY is cancelled in PostgreSQL and
 * its session closed. Its own session, not the read pool's: an export holds it for as long as
 * the client reads. Returns the row count with the response still open (the caller audits, then
 * ends it), or null when the client went away first.
 */
export async function streamCopyCsv(
  app: AppServices,
  res: ServerResponse,
  p: CopyPlan & { name: string; prefix: string },
): Promise<number | null> {
  const client = new pg.Client(app.reads.options);
  client.on('error', () => {}); // a session cut under us fails the COPY, which is what we report
  await client.connect();
  const pid = (client as unknown as { processID?: number }).processID;
  let cancelling: Promise<void> | null = null;
  const cancel = () => {
    cancelling ??= cancelBackend(app.reads, pid, app.logger);
  };
  const onClose = () => {
    if (!res.writableFinished) cancel();
  };
  res.once('close', onClose);
  try {
    // Repeatable read: one snapshot for the whole file. statement_timeout 0: see above.
    await client.query('begin isolation level repeatable read read only');
    await client.query('set local statement_timeout = 0');
    if (p.settings.length)
      await client.query('select set_config(k, v, true) from unnest($1::text[], $2::text[]) as s(k, v)', [
        p.settings.map((s) => s[0]),
        p.settings.map((s) => s[1]),
      ]);
    const copy = client.query(copyTo(`copy (${p.sql}) to stdout (format csv)`));
    res.writeHead(200, {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="${fileName(p.prefix, p.name)}"`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    res.write(p.header);
    try {
      await pipeline(copy, res, { end: false });
    } catch (err) {
      // PostgreSQL failed the COPY (not our cancel, 57014): a truncated file and a logged error.
      if (err instanceof pg.DatabaseError && err.code !== '57014') throw err;
      if (!res.destroyed) throw err;
      cancel(); // the client went away, maybe before onClose was listening
      return null;
    }
    await client.query('commit');
    return copy.rowCount;
  } finally {
    res.off('close', onClose);
    if (cancelling) await cancelling; // stopped in PostgreSQL before its session is closed
    await client.end().catch(() => {});
  }
}

/** A path segment decoded, or null when its escapes are not UTF-8 (decodeURIComponent throws). */
export function decodeSegment(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

/**
 * The door of a download (a CSV export, an invoice PDF) at `path` (its first group is the object's id): GET only, at most
 * MAX_EXPORTS at once (each holds a PostgreSQL session), typed JSON errors (NOT_FOUND 404, other
 * AppErrors 400), and a truncated body, never a file that looks whole, when it fails half-way.
 * The bearer token and the right `need` are checked first (401, 403); `serve` finds the object
 * and streams. Returns false for other paths.
 */
export function downloadRoute(
  app: AppServices,
  path: RegExp,
  what: string,
  need: { feature: Feature; level: AccessLevel; refusal: string },
  serve: (
    req: IncomingMessage,
    res: ServerResponse,
    id: string,
    viewer: Viewer,
    token: string,
  ) => Promise<void>,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  let running = 0;
  return (req, res) => {
    const m = path.exec(req.url ?? '');
    if (!m) return false;
    req.resume();
    if (req.method !== 'GET') {
      json(res, 405, 'BAD_REQUEST', 'Method Not Allowed: a download is read with GET', { allow: 'GET' });
      return true;
    }
    const id = decodeSegment(m[1]);
    if (id === null) {
      json(res, 404, 'NOT_FOUND', `${what} not found`);
      return true;
    }
    if (running >= MAX_EXPORTS) {
      json(res, 429, 'RATE_LIMITED', `At most ${MAX_EXPORTS} downloads run at once: try again when one ends`);
      return true;
    }
    running++;
    (async () => {
      const token = bearer(req.headers.authorization);
      const viewer = token ? await cachedViewer(app, token, () => app.orm.em.fork()) : null;
      if (!token || !viewer)
        return json(res, 401, 'UNAUTHENTICATED', 'Send Authorization: Bearer <token> (the token of login)');
      if (!atLeast(viewer.rights[need.feature], need.level)) return json(res, 403, 'FORBIDDEN', need.refusal);
      await serve(req, res, id, viewer, token);
    })()
      .catch((err) => {
        if (err instanceof AppError) {
          const code = String(err.extensions.code);
          return json(res, code === 'NOT_FOUND' ? 404 : 400, code, err.message);
        }
        app.logger.error(`${what} download failed`, err);
        if (!res.headersSent) json(res, 500, 'INTERNAL_SERVER_ERROR', 'Unexpected error.');
        else res.destroy(); // a truncated body, not a file that looks whole
      })
      .finally(() => running--);
    return true;
  };
}
