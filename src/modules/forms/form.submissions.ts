import type { EntityManager } from '@mikro-orm/postgresql';
import { isRowId } from '../../shared/ids.js';
import { decodeCursor, type Page, pageSize, toPage } from '../../shared/pagination.js';
import type { FormDefinition } from './form.definition.js';
import type { Answer } from './form.values.js';

/** A stored submission, as listed, streamed (formSubmitted) and exported. Plain JSON. */
export interface SubmissionView {
  id: string;
  formId: string;
  version: number;
  contactId: string | null;
  outcome: 'CREATED' | 'MERGED' | 'EXISTING' | null;
  answers: Record<string, Answer>;
  consents: { key: string; text: string; at: string; ip: string | null; version: number }[];
  confirmationRequired: boolean;
  confirmedAt: string | null;
  createdAt: string;
}

export const SUBMISSION_SELECT = `select s.id::text, s.form_id as "formId", s.version, s.contact_id::text as "contactId",
  s.outcome, s.answers, s.consents, s.confirmation_required as "confirmationRequired",
  to_char(s.confirmed_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "confirmedAt",
  to_char(s.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "createdAt"
  from form_submission s`;

/** A form's submissions, newest first. Claimed rows whose transaction is open are not visible. */
export async function listSubmissions(
  em: EntityManager,
  formId: string,
  first: number | null | undefined,
  after: string | null | undefined,
): Promise<Page<SubmissionView>> {
  const size = pageSize(first);
  const cursor = decodeCursor(after);
  const below = cursor !== null && isRowId(cursor) ? cursor : null;
  const rows = await em.execute<SubmissionView[]>(
    `${SUBMISSION_SELECT} where s.form_id = ? and s.outcome is not null${below ? ' and s.id < ?' : ''}
      order by s.id desc limit ?`,
    below ? [formId, below, size + 1] : [formId, size + 1],
  );
  return toPage(rows, size, (r) => r.id);
}

export interface ChoiceCount {
  value: string;
  count: number;
}

export interface ItemResult {
  key: string;
  label: string;
  kind: string;
  answered: number;
  choices: ChoiceCount[];
  average: number | null;
  promoters: number | null;
  passives: number | null;
  detractors: number | null;
  /** Promoters minus detractors, in percent of those who answered (-100 to 100). */
  nps: number | null;
}

export interface FormResults {
  submissions: number;
  /** Submissions that answered every question (every field, for a form). */
  completed: number;
  completionRate: number | null;
  items: ItemResult[];
}

const COUNTED = new Set(['SINGLE_CHOICE', 'MULTIPLE_CHOICE', 'RATING', 'NPS', 'SELECT', 'RADIO', 'CHECKBOX']);
const SCORED = new Set(['RATING', 'NPS']);

/**
 * Per question (per field for a form, where a survey's questions are absent): how many answered,
 * the count of each choice or score, averages and NPS; computed by PostgreSQL in two statements
 * over the form's submissions, whatever their number. Free-text answers are counted, not grouped.
 */
export async function formResults(
  em: EntityManager,
  formId: string,
  d: FormDefinition,
): Promise<FormResults> {
  const items: { key: string; label: string; kind: string }[] = d.questions.length
    ? d.questions
    : d.fields.filter((f) => f.kind !== 'HIDDEN');
  const keys = items.map((i) => i.key);
  const counted = items.filter((i) => COUNTED.has(i.kind)).map((i) => i.key);
  const [totals] = await em.execute<
    { n: number; completed: number; answered: Record<string, number> | null }[]
  >(
    `select count(*)::int as n,
            count(*) filter (where jsonb_exists_all(s.answers, array(select jsonb_array_elements_text(?::jsonb))))::int as completed,
            (select jsonb_object_agg(k, c) from (
               select e.key as k, count(*)::int as c from form_submission x, jsonb_each(x.answers) e
                where x.form_id = ? and x.outcome is not null group by e.key) a) as answered
       from form_submission s where s.form_id = ? and s.outcome is not null`,
    [JSON.stringify(keys), formId, formId],
  );
  const groups = counted.length
    ? await em.execute<{ key: string; value: string; count: number }[]>(
        `select e.key, coalesce(x.v, e.value #>> '{}') as value, count(*)::int as count
           from form_submission s cross join lateral jsonb_each(s.answers) e
           left join lateral jsonb_array_elements_text(
             case jsonb_typeof(e.value) when 'array' then e.value else '[]'::jsonb end) x(v) on true
          where s.form_id = ? and s.outcome is not null
            and e.key = any(array(select jsonb_array_elements_text(?::jsonb)))
            and (jsonb_typeof(e.value) <> 'array' or x.v is not null)
          group by 1, 2 order by 1, 3 desc, 2`,
        [formId, JSON.stringify(counted)],
      )
    : [];
  const answered = totals.answered ?? {};
  return {
    submissions: totals.n,
    completed: totals.completed,
    completionRate: totals.n ? totals.completed / totals.n : null,
    items: items.map((i) => {
      const choices = groups.filter((g) => g.key === i.key).map((g) => ({ value: g.value, count: g.count }));
      const scored = SCORED.has(i.kind);
      const n = choices.reduce((s, c) => s + c.count, 0);
      const sum = choices.reduce((s, c) => s + Number(c.value) * c.count, 0);
      const nps = i.kind === 'NPS';
      const within = (lo: number, hi: number) =>
        choices
          .filter((c) => Number(c.value) >= lo && Number(c.value) <= hi)
          .reduce((s, c) => s + c.count, 0);
      const promoters = nps ? within(9, 10) : null;
      const detractors = nps ? within(0, 6) : null;
      return {
        key: i.key,
        label: i.label,
        kind: i.kind,
        answered: answered[i.key] ?? 0,
        choices,
        average: scored && n ? sum / n : null,
        promoters,
        passives: nps ? within(7, 8) : null,
        detractors,
        nps: nps && n ? Math.round((((promoters ?? 0) - (detractors ?? 0)) / n) * 1000) / 10 : null,
      };
    }),
  };
}
