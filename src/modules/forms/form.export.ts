import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AppServices, AuthedContext, Viewer } from '../../context.js';
import {
  csvField,
  downloadRoute,
  SettingParams,
  safeCell,
  safeSql,
  streamCopyCsv,
} from '../../http/csv-export.js';
import { mutate } from '../audit/audit.service.js';
import { findForm } from './form.service.js';

const PATH = /^\/export\/forms\/([^/?]+)\/submissions\.csv(?:\?.*)?$/;

/** An answer as one cell: a list of choices joined with "; ", text defused for spreadsheets. */
const cell = (v: string) =>
  safeSql(`(case jsonb_typeof(${v}) when 'array' then (select string_agg(x, '; ') from jsonb_array_elements_text(${v}) x)
             else ${v} #>> '{}' end)`);

/**
 * `GET /export/forms/<id>/submissions.csv` with `Authorization: Bearer <token>`: one row per
 * submission, oldest first, a column per field and question (of the draft and the published
 * version), and the consents, streamed from COPY like the segment export; then an audit entry.
 * FORMS >= EDITOR, as exporting a segment needs CONTACTS >= EDITOR: a file leaves the app's rights.
 */
export function createFormExport(
  app: AppServices,
  ipOf: (req: IncomingMessage) => string | null,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const need = {
    feature: 'FORMS',
    level: 'EDITOR',
    refusal: 'Exporting submissions needs FORMS at EDITOR or above',
  } as const;
  return downloadRoute(app, PATH, 'Form', need, (req, res, id, viewer, token) =>
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
  const form = await findForm(app.orm.em.fork(), viewer.accountId, id);
  const items = [...(form.published?.fields ?? []), ...(form.published?.questions ?? [])];
  for (const i of [...form.draft.fields, ...form.draft.questions])
    if (!items.some((x) => x.key === i.key)) items.push(i);
  const params = new SettingParams();
  const formParam = params.add(form.id, 'uuid');
  const names = ['submissionId', 'submittedAt', 'contactId', 'outcome', 'version', 'confirmedAt'];
  const cols = [
    's.id',
    `to_char(s.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`,
    's.contact_id',
    's.outcome',
    's.version',
    `to_char(s.confirmed_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`,
  ];
  for (const i of items) {
    names.push(i.key);
    cols.push(cell(`(s.answers -> ${params.add(i.key, 'text')})`));
  }
  names.push('consents');
  cols.push(
    safeSql(`(select string_agg(c->>'key' || ' ' || (c->>'at') || ' ' || coalesce(c->>'ip', ''), '; ')
                from jsonb_array_elements(s.consents) c)`),
  );
  const header = `${names.map((n) => csvField(safeCell(n))).join(',')}\r\n`;
  const sql = `select ${cols.join(', ')} from form_submission s where s.form_id = ${formParam} and s.outcome is not null order by s.id`;
  const count = await streamCopyCsv(app, res, {
    header,
    sql,
    settings: params.settings(),
    name: form.name,
    prefix: 'form',
  });
  if (count === null) return;
  const ctx: AuthedContext = { app, em: app.orm.em.fork(), viewer, ip: ipOf(req), token };
  await mutate(ctx, async (tx) =>
    tx.audit({
      action: 'exportFormSubmissions',
      feature: 'FORMS',
      objectType: 'Form',
      objectId: form.id,
      diff: { rows: count, name: form.name },
    }),
  );
  res.end();
}
