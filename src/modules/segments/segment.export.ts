import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppServices, AuthedContext, Viewer } from '../../context.js';
import {
  type CopyPlan,
  csvField,
  downloadRoute,
  json,
  SettingParams,
  safeCell,
  safeSql,
  streamCopyCsv,
} from '../../http/csv-export.js';
import { isUuid } from '../../shared/ids.js';
import { mutate } from '../audit/audit.service.js';
import { FIELD_NAME, STANDARD_FIELDS } from '../contacts/fields.js';
import { matchSql } from '../targeting/audience.js';
import type { Criterion } from '../targeting/criterion.js';
import { loadTargetEnv } from '../targeting/target-env.js';

const PATH = /^\/export\/segments\/([^/?]+)\.csv(?:\?.*)?$/;

/** The header row and the COPY statement of a segment's members, in id order. */
async function plan(app: AppServices, accountId: string, criterion: Criterion): Promise<CopyPlan> {
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

/**
 * `GET /export/segments/<id>.csv` with `Authorization: Bearer <token>`: the segment's members as
 * CSV, streamed from PostgreSQL's COPY to the client (never held in memory), then an audit
 * entry `exportSegment` with the row count. CONTACTS >= EDITOR. Returns false for other paths.
 */
export function createSegmentExport(
  app: AppServices,
  ipOf: (req: IncomingMessage) => string | null,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const need = {
    feature: 'CONTACTS',
    level: 'EDITOR',
    refusal: 'Exporting a segment needs CONTACTS at EDITOR or above',
  } as const;
  return downloadRoute(app, PATH, 'Segment', need, (req, res, id, viewer, token) =>
    serve(app, ipOf, req, res, id, viewer, token),
  );
}

async function serve(
  app: AppServices,
  ipOf: (req: IncomingMessage) => string | null,
  req: IncomingMessage,
  res: ServerResponse,
  id: string,
  viewer: Viewer,
  token: string,
): Promise<void> {
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
  const count = await streamCopyCsv(app, res, {
    header,
    sql,
    settings,
    name: segment.name,
    prefix: 'segment',
  });
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
