import type { EntityManager } from '@mikro-orm/postgresql';
import { batched } from '../../shared/batch.js';
import type { FormDefinition } from './form.definition.js';

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

/** What is counted of one form: its items, the keys a complete submission answers, the grouped ones. */
interface Asked {
  id: string;
  keys: string[];
  counted: string[];
}

/**
 * Per question (per field for a form, where a survey's questions are absent): how many answered,
 * the count of each choice or score, averages and NPS; computed by PostgreSQL over the form's
 * submissions, whatever their number. Free-text answers are counted, not grouped. The forms of
 * one list are counted together (shared/batch.ts): `forms { results }` costs three statements,
 * not two per form.
 */
export async function formResults(
  em: EntityManager,
  formId: string,
  d: FormDefinition,
): Promise<FormResults> {
  const items: { key: string; label: string; kind: string }[] = d.questions.length
    ? d.questions
    : d.fields.filter((f) => f.kind !== 'HIDDEN');
  const asked: Asked = {
    id: formId,
    keys: items.map((i) => i.key),
    counted: items.filter((i) => COUNTED.has(i.kind)).map((i) => i.key),
  };
  const counts = await batched(em, 'formResults', JSON.stringify(asked), (keys) =>
    countAll(
      em,
      keys.map((k) => JSON.parse(k) as Asked),
      keys,
    ),
  );
  return toResults(items, counts ?? { n: 0, completed: 0, answered: {}, groups: [] });
}

interface Counts {
  n: number;
  completed: number;
  answered: Record<string, number>;
  groups: { key: string; value: string; count: number }[];
}

async function countAll(em: EntityManager, asked: Asked[], keys: string[]): Promise<Map<string, Counts>> {
  const json = JSON.stringify(asked);
  const ASKED = `select (x->>'id')::uuid as id, x->'keys' as keys, x->'counted' as counted from jsonb_array_elements(?::jsonb) x`;
  const totals = await em.execute<{ id: string; n: number; completed: number }[]>(
    `with f as (${ASKED})
     select f.id, count(s.id)::int as n,
            count(s.id) filter (where jsonb_exists_all(s.answers, array(select jsonb_array_elements_text(f.keys))))::int as completed
       from f left join form_submission s on s.form_id = f.id and s.outcome is not null
      group by f.id`,
    [json],
  );
  const answered = await em.execute<{ id: string; key: string; count: number }[]>(
    `with f as (${ASKED})
     select f.id, e.key, count(*)::int as count
       from f join form_submission s on s.form_id = f.id and s.outcome is not null
       cross join lateral jsonb_each(s.answers) e
      group by 1, 2`,
    [json],
  );
  const groups = asked.some((a) => a.counted.length)
    ? await em.execute<{ id: string; key: string; value: string; count: number }[]>(
        `with f as (${ASKED})
         select f.id, e.key, coalesce(x.v, e.value #>> '{}') as value, count(*)::int as count
           from f join form_submission s on s.form_id = f.id and s.outcome is not null
           cross join lateral jsonb_each(s.answers) e
           left join lateral jsonb_array_elements_text(
             case jsonb_typeof(e.value) when 'array' then e.value else '[]'::jsonb end) x(v) on true
          where e.key in (select jsonb_array_elements_text(f.counted))
            and (jsonb_typeof(e.value) <> 'array' or x.v is not null)
          group by 1, 2, 3 order by 1, 2, 4 desc, 3`,
        [json],
      )
    : [];
  const out = new Map<string, Counts>();
  for (const [i, a] of asked.entries()) {
    const t = totals.find((r) => r.id === a.id);
    out.set(keys[i], {
      n: t?.n ?? 0,
      completed: t?.completed ?? 0,
      answered: Object.fromEntries(answered.filter((r) => r.id === a.id).map((r) => [r.key, r.count])),
      groups: groups.filter((g) => g.id === a.id),
    });
  }
  return out;
}

function toResults(items: { key: string; label: string; kind: string }[], c: Counts): FormResults {
  return {
    submissions: c.n,
    completed: c.completed,
    completionRate: c.n ? c.completed / c.n : null,
    items: items.map((i) => {
      const choices = c.groups
        .filter((g) => g.key === i.key)
        .map((g) => ({ value: g.value, count: g.count }));
      const scored = SCORED.has(i.kind);
      const n = choices.reduce((s, x) => s + x.count, 0);
      const sum = choices.reduce((s, x) => s + Number(x.value) * x.count, 0);
      const nps = i.kind === 'NPS';
      const within = (lo: number, hi: number) =>
        choices
          .filter((x) => Number(x.value) >= lo && Number(x.value) <= hi)
          .reduce((s, x) => s + x.count, 0);
      const promoters = nps ? within(9, 10) : null;
      const detractors = nps ? within(0, 6) : null;
      return {
        key: i.key,
        label: i.label,
        kind: i.kind,
        answered: c.answered[i.key] ?? 0,
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
