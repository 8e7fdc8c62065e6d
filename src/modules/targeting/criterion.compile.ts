import { badInput } from '../../shared/errors.js';
import type { FieldType } from '../contacts/contact.entity.js';
import type { FieldDef } from '../contacts/fields.js';
import { eventCode } from '../events/event.entity.js';
import type { CompareOp, Criterion, EventCriterion, FieldCriterion, ScoreCriterion } from './criterion.js';
import { expandSegments } from './criterion.refs.js';

/** Bound parameters of one statement, written `$n` (node-postgres numbering). */
export class Params {
  readonly values: unknown[] = [];
  constructor(initial: unknown[] = []) {
    this.values.push(...initial);
  }
  add(value: unknown, cast?: string): string {
    this.values.push(value);
    return cast ? `$${this.values.length}::${cast}` : `$${this.values.length}`;
  }
}

/** How many of a contact's latest events of each type contact_recent keeps (migration Segments). */
export const RECENT_KEPT = 10;

/**
 * - `probe`: each leaf looks its contact up (primary-key probes): the plan for a page, which
 *   stops after 50 matches in contact order (PERF-NOTES: 12-15 ms where set-based takes 0.9 s).
 * - `set`: leaves over other tables become `c.id in (subquery)`, which PostgreSQL runs once and
 *   hashes: the plan for a count over every contact, where a million probes would take seconds.
 * Both are the same boolean; the property test checks that they agree with each other and with
 * an independent evaluation.
 */
export type CompileMode = 'probe' | 'set';

/** What compiling a checked criterion needs. */
export interface CompileEnv {
  fields: Map<string, FieldDef>;
  params: Params;
  /** The account's IANA time zone: "today" and day boundaries of relative dates. */
  timeZone?: string;
  /** The account's segments, to inline `segment` criteria; none when absent. */
  segments?: ReadonlyMap<string, Criterion>;
  mode?: CompileMode;
  /**
   * Set mode: the placeholder of the account id (subqueries are not correlated), or a function
   * binding it when a subquery first needs it: a parameter the text never uses has no type, and
   * PostgreSQL refuses the whole statement.
   */
  account?: string | (() => string);
}

/**
 * SQL boolean over a contact aliased `c`. Every user value is a bound parameter; field names come
 * from the account's definitions (checked identifiers), never from the input text.
 */
export function compileCriterion(c: Criterion, env: CompileEnv): string {
  const expanded = env.segments ? expandSegments(c, env.segments) : c;
  const cache = new Map<string, string>();
  return compileNode(expanded, { ...env, shared: cache });
}

type Env = CompileEnv & { shared: Map<string, string> };

/** 0: a test on the contact's own row; 1: reads another table (a probe or a hashed set). */
const cost = (c: Criterion): number =>
  'all' in c
    ? Math.max(...c.all.map(cost))
    : 'any' in c
      ? Math.max(...c.any.map(cost))
      : 'not' in c
        ? cost(c.not)
        : 'event' in c || 'score' in c
          ? 1
          : 0;

/**
 * PostgreSQL evaluates AND and OR in the order written: tests on the contact's row go first, so
 * that a contact they decide never reaches the probes or hash lookups (the bulk of a count).
 */
const cheapFirst = (list: Criterion[]) => [
  ...list.filter((x) => cost(x) === 0),
  ...list.filter((x) => cost(x) > 0),
];

function compileNode(c: Criterion, env: Env): string {
  if ('all' in c)
    return `(${cheapFirst(c.all)
      .map((x) => compileNode(x, env))
      .join(' and ')})`;
  if ('any' in c)
    return `(${cheapFirst(c.any)
      .map((x) => compileNode(x, env))
      .join(' or ')})`;
  if ('not' in c) return `(not coalesce(${compileNode(c.not, env)}, false))`;
  if ('field' in c) return compileField(c.field, env);
  if ('event' in c) return compileEvent(c.event, env);
  if ('score' in c) return compileScore(c.score, env);
  if ('emailStatus' in c) return `(c.email_status = any(${env.params.add(c.emailStatus.in, 'text[]')}))`;
  if ('hasEmail' in c) return c.hasEmail ? `(coalesce(c.email, '') <> '')` : `(coalesce(c.email, '') = '')`;
  if ('hasPhone' in c) return c.hasPhone ? `(coalesce(c.phone, '') <> '')` : `(coalesce(c.phone, '') = '')`;
  throw badInput(`segment ${c.segment.segmentId}: segments are not available here`);
}

/** A parameter used several times is bound once (the time zone, the account). */
function once(env: Env, key: string, value: unknown, cast: string): string {
  let p = env.shared.get(key);
  if (!p) {
    p = env.params.add(value, cast);
    env.shared.set(key, p);
  }
  return p;
}

const tzParam = (env: Env) => once(env, 'tz', env.timeZone ?? 'Europe/Paris', 'text');

/**
 * Today's date in the account's time zone, as a scalar subquery: PostgreSQL evaluates it once per
 * statement (an InitPlan), where the bare expression would convert now() in every row's filter.
 */
const today = (env: Env) => {
  let sql = env.shared.get('today');
  if (!sql) {
    sql = `(select (now() at time zone ${tzParam(env)})::date)`;
    env.shared.set('today', sql);
  }
  return sql;
};
/** Midnight, in the account's time zone, of the day `days` days before today (once per statement). */
const dayStart = (env: Env, days: number) => {
  let sql = env.shared.get(`day:${days}`);
  if (!sql) {
    sql = `(select ((now() at time zone ${tzParam(env)})::date - ${env.params.add(days, 'int')})::timestamp at time zone ${tzParam(env)})`;
    env.shared.set(`day:${days}`, sql);
  }
  return sql;
};

const CAST: Record<FieldType, string> = { TEXT: 'text', NUMBER: 'numeric', DATE: 'date', BOOLEAN: 'boolean' };
export const SQL_OP: Record<CompareOp, string> = {
  EQ: '=',
  NEQ: '<>',
  LT: '<',
  LTE: '<=',
  GT: '>',
  GTE: '>=',
};

function compileField(f: FieldCriterion, env: Env): string {
  const def = env.fields.get(f.name);
  if (!def) throw badInput(`unknown field ${JSON.stringify(f.name)}`);
  const col = def.sql;
  const cast = CAST[def.type];
  switch (f.op) {
    case 'IS_SET':
      return def.type === 'TEXT' ? `(coalesce(${col}, '') <> '')` : `(${col} is not null)`;
    case 'IS_NOT_SET':
      return def.type === 'TEXT' ? `(coalesce(${col}, '') = '')` : `(${col} is null)`;
    case 'IN':
      return `(${col} = any(${env.params.add(f.values ?? [], `${cast}[]`)}))`;
    case 'CONTAINS':
      return `(${col} ilike '%' || ${env.params.add(escapeLike(f.value ?? ''), 'text')} || '%')`;
    case 'STARTS_WITH':
      return `(${col} ilike ${env.params.add(escapeLike(f.value ?? ''), 'text')} || '%')`;
    case 'NEQ':
      // An unset field is "not equal" to any value.
      return `(${col} is distinct from ${env.params.add(f.value, cast)})`;
    case 'IN_LAST_DAYS':
      return `(${col} between ${today(env)} - ${env.params.add(f.days, 'int')} and ${today(env)})`;
    case 'IN_NEXT_DAYS':
      return `(${col} between ${today(env)} and ${today(env)} + ${env.params.add(f.days, 'int')})`;
    case 'MORE_THAN_DAYS_AGO':
      return `(${col} < ${today(env)} - ${env.params.add(f.days, 'int')})`;
    case 'ANNIVERSARY_IN_NEXT_DAYS':
      return `(cible_next_anniversary(${col}, ${today(env)}) <= ${today(env)} + ${env.params.add(f.days, 'int')})`;
    default:
      return `(${col} ${SQL_OP[f.op as CompareOp]} ${env.params.add(f.value, cast)})`;
  }
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (m) => `\\${m}`);

/** The event's own filter over an event aliased `e` (type, operation, form, url, window). */
export function compileEventFilter(e: EventCriterion, params: Params, timeZone?: string): string {
  const env: Env = { fields: new Map(), params, timeZone, shared: new Map() };
  return eventFilter(e, env);
}

function eventFilter(e: EventCriterion, env: Env): string {
  const { params } = env;
  const parts = [`e.type = ${params.add(eventCode(e.type), 'smallint')}`];
  if (e.operationId) parts.push(`e.operation_id = ${params.add(e.operationId, 'uuid')}`);
  if (e.formId) parts.push(`e.form_id = ${params.add(e.formId, 'uuid')}`);
  if (e.url) {
    const url = params.add(e.url, 'text');
    const match = e.urlMatch ?? 'EXACT';
    if (match === 'EXACT') parts.push(`cible_url_norm(e.url) = ${url}`);
    else if (match === 'PREFIX') parts.push(`starts_with(cible_url_norm(e.url), ${url})`);
    else parts.push(`strpos(lower(e.url), lower(${url})) > 0`);
  }
  if (e.withinDays) parts.push(`e.occurred_at >= ${dayStart(env, e.withinDays)}`);
  if (e.olderThanDays != null) parts.push(`e.occurred_at < ${dayStart(env, e.olderThanDays)}`);
  return parts.join(' and ');
}

/**
 * "Some row of `from` exists", per contact, as a scalar subquery with LIMIT 1. Not EXISTS: the
 * planner may turn an EXISTS into a hashed subplan that reads the whole table first (measured:
 * 0.7-3 s for a first page at a million contacts instead of milliseconds), which is right for a
 * count (set mode does it on purpose) and wrong for a page that stops after 50 matches.
 */
const probe = (from: string) => `coalesce((select true from ${from} limit 1), false)`;

/** Whether contact_recent can answer (type and time window only), else the raw events. */
const onRecent = (e: EventCriterion) => !e.operationId && !e.formId && !e.url;

function compileEvent(e: EventCriterion, env: Env): string {
  const n = e.minCount ?? 1;
  if (!onRecent(e)) {
    const where = `e.account_id = c.account_id and e.contact_id = c.id and ${eventFilter(e, env)}`;
    if (n <= 1) return probe(`contact_event e where ${where}`);
    const np = env.params.add(n, 'int');
    return `((select count(*) from (select 1 from contact_event e where ${where} limit ${np}) x) >= ${np})`;
  }
  const type = env.params.add(eventCode(e.type), 'smallint');
  const since = e.withinDays ? dayStart(env, e.withinDays) : null;
  const before = e.olderThanDays != null ? dayStart(env, e.olderThanDays) : null;
  let test: string;
  if (!since && !before) test = `r.total >= ${env.params.add(n, 'int')}`;
  else if (since && !before && n <= 3) test = `r.at${n} >= ${since}`;
  else if (since && !before && n <= RECENT_KEPT) test = `r.recent[${n}] >= ${since}`;
  else {
    // contact_recent keeps the latest RECENT_KEPT events: cible_recent_at_least() answers when
    // they decide, null otherwise, and then the contact's raw events do.
    const np = env.params.add(n, 'int');
    const raw = `(select count(*) from (select 1 from contact_event e where e.account_id = r.account_id and e.contact_id = r.contact_id and ${eventFilter(e, env)} limit ${np}) x) >= ${np}`;
    test = `coalesce(cible_recent_at_least(r.recent, r.total, ${since ?? 'null'}, ${before ?? 'null'}, ${np}), ${raw})`;
  }
  // at1 is the latest event: an indexed bound for any window with a start.
  const bound = since && n > 1 ? ` and r.at1 >= ${since}` : '';
  if (env.mode === 'set') {
    const account = typeof env.account === 'function' ? env.account() : (env.account ?? 'c.account_id');
    return `(c.id in (select r.contact_id from contact_recent r where r.account_id = ${account} and r.type = ${type}${bound} and ${test}))`;
  }
  return probe(
    `contact_recent r where r.account_id = c.account_id and r.contact_id = c.id and r.type = ${type} and ${test}`,
  );
}

/** Whether 0 (a contact without a value) satisfies `0 op value`; value is a canonical decimal. */
function zeroMatches(op: CompareOp, value: string): boolean {
  const sign = /^-/.test(value) ? -1 : /^0(\.0*)?$/.test(value) ? 0 : 1;
  const cmp = -sign; // sign of (0 - value)
  return { EQ: cmp === 0, NEQ: cmp !== 0, LT: cmp < 0, LTE: cmp <= 0, GT: cmp > 0, GTE: cmp >= 0 }[op];
}

function compileScore(s: ScoreCriterion, env: Env): string {
  const { params } = env;
  const id = params.add(s.scoreId, 'uuid');
  const v = params.add(s.value, 'numeric');
  if (env.mode === 'set') {
    // Contacts without a row count as 0: either they all match or none does.
    return zeroMatches(s.op, s.value)
      ? `(c.id not in (select cs.contact_id from contact_score cs where cs.score_id = ${id} and not (cs.value ${SQL_OP[s.op]} ${v})))`
      : `(c.id in (select cs.contact_id from contact_score cs where cs.score_id = ${id} and cs.value ${SQL_OP[s.op]} ${v}))`;
  }
  return `(coalesce((select cs.value from contact_score cs where cs.score_id = ${id} and cs.contact_id = c.id), 0) ${SQL_OP[s.op]} ${v})`;
}
