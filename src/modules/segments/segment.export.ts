import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { AppServices, AuthedContext } from '../../context.js';
import { cancelBackend } from '../../db/bounded-read.js';
import { AppError } from '../../shared/errors.js';
import { isUuid } from '../../shared/ids.js';
import { atLeast } from '../access/access.js';
import { mutate } from '../audit/audit.service.js';
import { FIELD_NAME, STANDARD_FIELDS } from '../contacts/fields.js';
import { matchSql } from '../targeting/audience.js';
import { Params } from '../targeting/criterion.compile.js';
import type { Criterion } from '../targeting/criterion.js';
import { loadTargetEnv } from '../targeting/target-env.js';
import { cachedViewer } from '../users/auth.service.js';

const PATH = /^\/export\/segments\/([^/?]+)\.csv(?:\?.*)?$/;

/** Exports streaming at once; one more answers 429 (each holds a PostgreSQL session). */
export const MAX_EXPORTS = 4;

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
const safeSql = (expr: string) =>
  `(case when ${expr} ~ '^[-=+@\\t\\r]' and ${expr} !~ '^-?[0-9]+(\\.[0-9]+)?$' then '''' || ${expr} else ${expr} end)`;
export const safeCell = (text: string) =>
  /^[-=+@\t\r]/.test(text) && !/^-?\d+(\.\d+)?$/.test(text) ? `'${text}` : text;
/** A CSV field as PostgreSQL's COPY writes them: quoted when it must be. */
export const csvField = (text: string) => (/[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);

interface Plan {
  header: string;
  sql: string;
  settings: [string, string][];
}

/** The header row and the COPY statement of a segment's members, in id order. */
async function plan(app: AppServices, accountId: string, criterion: Criterion): Promise<Plan> {
  const em = app.orm.em.fork();
  const env = await loadTargetEnv(em, accountId);
  const [custom, scores] = await Promise.all([
    em.execute<{ name: string }[]>(
      'select name from contact_field where account_id = ? order by created_at, name',
      [accountId],
    ),
    em.execute<{ id: string; name: string }[]>(
      'select id::text as id, name from score where account_id = ? order by created_at, id',
      [accountId],
    ),
  ]);
  const params = new SettingParams();
  const names: string[] = ['id'];
  const cols: string[] = ['c.id'];
  for (const [name, f] of Object.entries(STANDARD_FIELDS)) {
    names.push(name);
    cols.push(f.type === 'TEXT' ? safeSql(`c.${f.column}`) : `c.${f.column}`);
  }
  names.push('emailStatus', 'createdAt');
  cols.push('c.email_status', `to_char(c.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`);
  for (const { name } of custom) {
    // Checked against FIELD_NAME when defined; checked again, since it is written into the SQL.
    if (!FIELD_NAME.test(name))
      throw new Error(`custom field name ${JSON.stringify(name)} is not an identifier`);
    names.push(name);
    cols.push(safeSql(`(c.fields->>'${name}')`));
  }
  for (const s of scores) {
    names.push(s.name); // free text: only in the header Node writes, never in the SQL
    cols.push(
      `coalesce((select cs.value from contact_score cs where cs.score_id = ${params.add(s.id, 'uuid')} and cs.contact_id = c.id), 0)`,
    );
  }
  const account = params.add(accountId, 'uuid');
  const match = matchSql(env, criterion, params, 'set');
  return {
    header: `${names.map((n) => csvField(safeCell(n))).join(',')}\r\n`,
    sql: `select ${cols.join(', ')} from contact c where c.account_id = ${account} and ${match} order by c.id`,
    settings: params.settings(),
  };
}

const json = (res: ServerResponse, status: number, code: string, message: string, headers = {}) => {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
};

const bearer = (h: string | undefined) => /^Bearer\s+(\S+)\s*$/i.exec(h?.trim() ?? '')?.[1] ?? null;

/** ASCII-only, no quote or path: what every browser and shell takes as a file name. */
function fileName(name: string): string {
  const ascii = name
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '') // é -> e, not e-
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 80);
  return `segment-${ascii || 'export'}.csv`;
}

/**
 * `GET /export/segments/<id>.csv` with `Authorization: Bearer <token>`: the segment's members as
 * CSV, streamed from PostgreSQL's COPY to the client (never held in memory), then an audit
 * entry `exportSegment` with the row count. CONTACTS >= EDITOR. Returns false for other paths.
 */
export function createSegmentExport(
  app: AppServices,
  ipOf: (req: IncomingMessage) => string | null,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  let running = 0;
  return (req, res) => {
    const m = PATH.exec(req.url ?? '');
    if (!m) return false;
    req.resume();
    if (req.method !== 'GET') {
      json(res, 405, 'BAD_REQUEST', 'Method Not Allowed: an export is read with GET', { allow: 'GET' });
      return true;
    }
    if (running >= MAX_EXPORTS) {
      json(res, 429, 'RATE_LIMITED', `At most ${MAX_EXPORTS} exports run at once: try again when one ends`);
      return true;
    }
    running++;
    serve(app, ipOf, req, res, decodeURIComponent(m[1]))
      .catch((err) => {
        if (err instanceof AppError) return json(res, 400, String(err.extensions.code), err.message);
        app.logger.error('segment export failed', err);
        if (!res.headersSent) json(res, 500, 'INTERNAL_SERVER_ERROR', 'Unexpected error.');
        else res.destroy(); // a truncated body, not a file that looks whole
      })
      .finally(() => running--);
    return true;
  };
}

async function serve(
  app: AppServices,
  ipOf: (req: IncomingMessage) => string | null,
  req: IncomingMessage,
  res: ServerResponse,
  id: string,
): Promise<void> {
  const token = bearer(req.headers.authorization);
  const viewer = token ? await cachedViewer(app, token, () => app.orm.em.fork()) : null;
  if (!viewer)
    return json(res, 401, 'UNAUTHENTICATED', 'Send Authorization: Bearer <token> (the token of login)');
  if (!atLeast(viewer.rights.CONTACTS, 'EDITOR'))
    return json(res, 403, 'FORBIDDEN', 'Exporting a segment needs CONTACTS at EDITOR or above');
  const rows = isUuid(id)
    ? await app.orm.em
        .fork()
        .execute<{ name: string; criterion: Criterion }[]>(
          'select name, criterion from segment where id = ? and account_id = ?',
          [id, viewer.accountId],
        )
    : [];
  if (!rows.length) return json(res, 404, 'NOT_FOUND', 'Segment not found');
  const segment = rows[0];
  const { header, sql, settings } = await plan(app, viewer.accountId, segment.criterion);
  const count = await stream(app, req, res, { header, sql, settings, name: segment.name });
  if (count === null) return; // the client went away: no file was delivered
  const ctx: AuthedContext = { app, em: app.orm.em.fork(), viewer, ip: ipOf(req), token };
  await mutate(ctx, async (tx) =>
    tx.audit({
      action: 'exportSegment',
      feature: 'CONTACTS',
      objectType: 'Segment',
      objectId: id,
      diff: { rows: count, name: segment.name },
    }),
  );
  // Ended once audited: a download that completes is one the history holds (a failed audit
  // destroys the response instead, a truncated file).
  res.end();
}

/**
 * Not under QUERY_TIMEOUT_MS: an export of a million rows may rightly take minutes. It is bounded
 * by its client instead: when the response closes early the COPY is cancelled in PostgreSQL and
 * its session closed. Its own session, not the read pool's: an export holds it for as long as
 * the client reads. Returns the row count with the response still open (the caller audits, then
 * ends it), or null when the client went away first.
 */
async function stream(
  app: AppServices,
  req: IncomingMessage,
  res: ServerResponse,
  p: Plan & { name: string },
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
      'content-disposition': `attachment; filename="${fileName(p.name)}"`,
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
