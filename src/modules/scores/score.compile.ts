import type { FieldDef } from '../contacts/fields.js';
import { eventCode } from '../events/event.entity.js';
import {
  type CompileEnv,
  compileCriterion,
  compileEventFilter,
  Params,
} from '../targeting/criterion.compile.js';
import { type Criterion, type EventCriterion, fieldValueOf, splitPerEvent } from '../targeting/criterion.js';
import { expandSegments } from '../targeting/criterion.refs.js';
import type { ScoreMode } from './score.entity.js';

export interface ConditionDef {
  criterion: Criterion;
  mode: ScoreMode;
  value: string;
  coefficient: string;
}

/**
 * One set-based statement computing one score for every contact of the account and writing only
 * the rows whose value changed. Parameters: $1 account, $2 score, $3 old watermark, $4 new one,
 * $5 how many changes to return for live updates.
 *
 * New events (id in ($3, $4]) are read once and counted per contact and per FIXED_PER_EVENT
 * condition (`count(*) filter (...)`); the weights and the conditions on the contact are applied
 * per contact, not per event. Shapes (chosen from the conditions, the SQL stays general):
 * - `first` (the score has no row yet): a plain INSERT of the non-zero values (`plain`: the row
 *   count comes with the command, the runner reads the sample afterwards); `rows` is the same
 *   SELECT alone, in contact_score's column order, for score-pipe.ts;
 * - only FIXED_PER_EVENT conditions (definition unchanged since the last run): only contacts with
 *   new events are touched (`event_value = event_value + delta`);
 * - otherwise: the state part is recomputed for every contact, the new events are added to the
 *   accumulated event part, and a row is written only when (state, event) IS DISTINCT FROM the
 *   stored pair. The old value of a written row comes from a subquery in RETURNING, which sees
 *   the table as it was before the statement.
 * `offset 0` keeps the per-contact subquery from being flattened: the planner would otherwise
 * compute the state and event expressions once in the filter and again in the output.
 * Non-plain shapes return one row: `changed` and `sample` ([contact, old, new] of the first $5).
 *
 * `fromStart` (the account's first run: every event up to $4 is new): when every per-event
 * condition filters on event types only, the counts come from `contact_activity` (per-contact
 * counts kept by triggers on contact_event) instead of aggregating every event. The events above
 * $4 that the statement already sees are subtracted, read through the primary key on id.
 */
export function compileScoreRun(
  conditions: ConditionDef[],
  target: {
    fields: Map<string, FieldDef>;
    timeZone?: string;
    segments?: ReadonlyMap<string, Criterion>;
  },
  shape: 'first' | 'full' | 'auto',
  sampleSize: number,
  fromStart = false,
): { sql: string; params: unknown[]; plain: boolean; rows?: string } {
  const params = new Params([null, null, null, null, sampleSize]);
  const { fields, timeZone } = target;
  const env: CompileEnv = { fields, params, timeZone };
  // Segments are inlined as they are at this run: a score reads their current membership.
  const expand = (c: Criterion) => (target.segments ? expandSegments(c, target.segments) : c);
  const state: string[] = [];
  const perEvent: { contact: string | null; filter: string; value: string; types: number[] | null }[] = [];
  for (const given of conditions) {
    const cond = { ...given, criterion: expand(given.criterion) };
    if (cond.mode === 'FIXED') {
      state.push(
        `case when ${compileCriterion(cond.criterion, env)} then ${params.add(cond.value, 'numeric')} else 0 end`,
      );
    } else if (cond.mode === 'FIELD_VALUE') {
      const def = fieldValueOf(cond.criterion, fields);
      state.push(
        `case when ${compileCriterion(cond.criterion, env)} then coalesce(${def.sql}, 0) * ${params.add(cond.coefficient, 'numeric')} else 0 end`,
      );
    } else {
      const split = splitPerEvent(cond.criterion);
      perEvent.push({
        contact: split.contact ? compileCriterion(split.contact, env) : null,
        filter: split.events.map((e) => `(${compileEventFilter(e, params, timeZone)})`).join(' or '),
        value: params.add(cond.value, 'numeric'),
        // An event counts once even when several filters match it: distinct types.
        types: split.events.every(typeOnly) ? [...new Set(split.events.map((e) => eventCode(e.type)))] : null,
      });
    }
  }
  const stateSql = state.length ? `(${state.join(' + ')})::numeric` : '0::numeric';
  const counted = (range: string) =>
    `select e.contact_id, ${perEvent.map((p, k) => `count(*) filter (where ${p.filter}) as n${k}`).join(', ')}
       from contact_event e
      where e.account_id = $1 and ${range}
        and (${perEvent.map((p) => `(${p.filter})`).join(' or ')})
      group by e.contact_id`;
  let ev: string | null = null;
  if (perEvent.length && fromStart && perEvent.every((p) => p.types)) {
    // Type codes come from EVENT_TYPES, never from the client: safe inline.
    const sum = (types: number[]) => types.map((t) => `coalesce(a.counts[${t + 1}], 0)`).join(' + ');
    ev = `select a.contact_id, ${perEvent.map((p, k) => `${sum(p.types as number[])} - coalesce(l.n${k}, 0) as n${k}`).join(', ')}
            from contact_activity a
            left join (${counted('e.id > $4::bigint')}) l on l.contact_id = a.contact_id
           where a.account_id = $1`;
  } else if (perEvent.length) {
    ev = counted('e.id > $3::bigint and e.id <= $4::bigint');
  }
  // The new events' weight for a contact `c` joined to `ev` (null when it has none).
  const deltaSql = ev
    ? `case when ev.contact_id is null then 0::numeric else (${perEvent
        .map((p, k) => {
          const w = `ev.n${k} * ${p.value}`;
          return p.contact ? `case when coalesce(${p.contact}, false) then ${w} else 0 end` : w;
        })
        .join(' + ')})::numeric end`
    : '0::numeric';
  const typed = '(select $3::bigint, $4::bigint, $5::int) as typed_params';

  if (shape === 'first') {
    const withEv = ev ? `with ev as (${ev})` : '';
    const rows = `select $2::uuid, n.contact_id, $1::uuid, n.s, n.e, n.s + n.e
        from (select c.id as contact_id, ${stateSql} as s, ${deltaSql} as e
                from contact c ${ev ? 'left join ev on ev.contact_id = c.id' : ''}
               where c.account_id = $1 offset 0) n, ${typed}
       where n.s <> 0 or n.e <> 0`;
    const sql = `${withEv}
      insert into contact_score (score_id, contact_id, account_id, state_value, event_value, value)
      ${rows}`;
    return { sql, params: params.values, plain: true, rows: `${withEv} ${rows}` };
  }
  const old = `(select o.value from contact_score o where o.score_id = t.score_id and o.contact_id = t.contact_id)`;
  let up: string;
  if (shape === 'auto' && !state.length && ev) {
    up = `insert into contact_score as t (score_id, contact_id, account_id, state_value, event_value, value)
        select $2::uuid, n.contact_id, $1::uuid, 0, n.e, n.e
          from (select c.id as contact_id, ${deltaSql} as e
                  from ev join contact c on c.id = ev.contact_id and c.account_id = $1) n
         where n.e <> 0
        on conflict (score_id, contact_id) do update
          set state_value = 0, event_value = t.event_value + excluded.event_value,
              value = t.event_value + excluded.event_value
        returning t.contact_id, ${old} as old_value, t.value`;
  } else {
    up = `insert into contact_score as t (score_id, contact_id, account_id, state_value, event_value, value)
        select $2::uuid, n.contact_id, $1::uuid, n.s, n.e, n.s + n.e
          from (select c.id as contact_id, ${stateSql} as s,
                       coalesce(o.event_value, 0) + ${deltaSql} as e,
                       o.state_value as os, o.event_value as oe, o.value as ov
                  from contact c
                  ${ev ? 'left join ev on ev.contact_id = c.id' : ''}
                  left join contact_score o on o.score_id = $2 and o.contact_id = c.id
                 where c.account_id = $1 offset 0) n
         where case when n.ov is null then n.s <> 0 or n.e <> 0
                    else (n.s, n.e) is distinct from (n.os, n.oe) end
        on conflict (score_id, contact_id) do update
          set state_value = excluded.state_value, event_value = excluded.event_value, value = excluded.value
        returning t.contact_id, ${old} as old_value, t.value`;
  }
  const sql = `with ${ev ? `ev as (${ev}),` : ''} up as (${up})
    select (select count(*) from up)::int as changed,
           (select coalesce(json_agg(json_build_array(x.contact_id::text, x.old_value::text, x.value::text)), '[]'::json)
              from (select * from up limit $5) x) as sample
      from ${typed}`;
  return { sql, params: params.values, plain: false };
}

/** An event filter on its type alone: what contact_activity counts. */
function typeOnly(e: EventCriterion): boolean {
  return !e.operationId && !e.formId && !e.url && !e.withinDays && e.olderThanDays == null;
}
