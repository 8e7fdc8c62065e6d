import { normaliseDecimal } from '../../shared/decimal.js';
import { badInput } from '../../shared/errors.js';
import { isUuid } from '../../shared/ids.js';
import type { FieldType } from '../contacts/contact.entity.js';
import { type FieldDef, isCalendarDate } from '../contacts/fields.js';
import { EVENT_TYPES, type EventType, eventCode } from '../events/event.entity.js';

export const FIELD_OPS = [
  'EQ',
  'NEQ',
  'LT',
  'LTE',
  'GT',
  'GTE',
  'IN',
  'CONTAINS',
  'STARTS_WITH',
  'IS_SET',
  'IS_NOT_SET',
] as const;
export type FieldOp = (typeof FIELD_OPS)[number];
export const COMPARE_OPS = ['EQ', 'NEQ', 'LT', 'LTE', 'GT', 'GTE'] as const;
export type CompareOp = (typeof COMPARE_OPS)[number];

/** The targeting language shared by scores and segments (stored as this JSON). */
export type Criterion =
  | { field: FieldCriterion }
  | { event: EventCriterion }
  | { score: ScoreCriterion }
  | { all: Criterion[] }
  | { any: Criterion[] }
  | { not: Criterion };

export interface FieldCriterion {
  name: string;
  op: FieldOp;
  value?: string | null;
  values?: string[] | null;
}
export interface EventCriterion {
  type: EventType;
  operationId?: string | null;
  formId?: string | null;
  url?: string | null;
  withinDays?: number | null;
  minCount?: number | null;
}
export interface ScoreCriterion {
  scoreId: string;
  op: CompareOp;
  value: string;
}

export const MAX_DEPTH = 6;
export const MAX_LEAVES = 50;
export const MAX_IN_VALUES = 500;

const OPS_BY_TYPE: Record<FieldType, readonly FieldOp[]> = {
  TEXT: ['EQ', 'NEQ', 'IN', 'CONTAINS', 'STARTS_WITH', 'IS_SET', 'IS_NOT_SET'],
  NUMBER: ['EQ', 'NEQ', 'LT', 'LTE', 'GT', 'GTE', 'IN', 'IS_SET', 'IS_NOT_SET'],
  DATE: ['EQ', 'NEQ', 'LT', 'LTE', 'GT', 'GTE', 'IS_SET', 'IS_NOT_SET'],
  BOOLEAN: ['EQ', 'NEQ', 'IS_SET', 'IS_NOT_SET'],
};
const SQL_OP: Record<CompareOp, string> = { EQ: '=', NEQ: '<>', LT: '<', LTE: '<=', GT: '>', GTE: '>=' };
const DECIMAL = /^-?\d{1,14}(\.\d{1,6})?$/;

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

/** What checking a criterion needs. */
export interface CheckEnv {
  fields: Map<string, FieldDef>;
  /** Score ids of the account (a score criterion may only name these). */
  scoreIds: Set<string>;
}

/** What compiling a checked criterion needs. */
export interface CompileEnv {
  fields: Map<string, FieldDef>;
  params: Params;
}

/** Reads and checks a criterion given by the API or stored; returns it in canonical form. */
export function normaliseCriterion(raw: unknown, env: CheckEnv, path = 'criterion'): Criterion {
  let leaves = 0;
  const walk = (c: unknown, p: string, depth: number): Criterion => {
    if (depth > MAX_DEPTH) throw badInput(`${p}: criteria nest at most ${MAX_DEPTH} levels`);
    if (!c || typeof c !== 'object') throw badInput(`${p}: a criterion is an object`);
    const keys = Object.entries(c as Record<string, unknown>).filter(
      ([, v]) => v !== null && v !== undefined,
    );
    if (keys.length !== 1)
      throw badInput(`${p}: give exactly one of field, event, score, all, any, not`, { path: p });
    const [kind, v] = keys[0];
    if (kind === 'all' || kind === 'any') {
      if (!Array.isArray(v) || v.length === 0) throw badInput(`${p}.${kind}: give at least one criterion`);
      return { [kind]: v.map((x, i) => walk(x, `${p}.${kind}[${i}]`, depth + 1)) } as Criterion;
    }
    if (kind === 'not') return { not: walk(v, `${p}.not`, depth + 1) };
    if (++leaves > MAX_LEAVES) throw badInput(`${p}: at most ${MAX_LEAVES} conditions in one criterion`);
    if (kind === 'field') return { field: checkField(v as FieldCriterion, env, `${p}.field`) };
    if (kind === 'event') return { event: checkEvent(v as EventCriterion, `${p}.event`) };
    if (kind === 'score') return { score: checkScore(v as ScoreCriterion, env, `${p}.score`) };
    throw badInput(`${p}: unknown criterion ${kind}`);
  };
  return walk(raw, path, 1);
}

function checkValue(type: FieldType, raw: string, p: string): string {
  const v = raw.trim();
  if (type === 'NUMBER') {
    const n = v.replace(',', '.');
    if (!DECIMAL.test(n)) throw badInput(`${p}: ${JSON.stringify(raw)} is not a number`);
    return normaliseDecimal(n);
  }
  if (type === 'DATE') {
    if (!isCalendarDate(v))
      throw badInput(`${p}: ${JSON.stringify(raw)} is not a date YYYY-MM-DD (years 0001 to 9999)`);
    return v;
  }
  if (type === 'BOOLEAN') {
    if (v !== 'true' && v !== 'false')
      throw badInput(`${p}: a BOOLEAN field compares with "true" or "false"`);
    return v;
  }
  if (raw.length > 1000) throw badInput(`${p}: at most 1000 characters`);
  return raw;
}

function checkField(f: FieldCriterion, env: CheckEnv, p: string): FieldCriterion {
  const def = env.fields.get(f?.name);
  if (!def) throw badInput(`${p}: unknown field ${JSON.stringify(f?.name)}`, { path: p });
  if (!OPS_BY_TYPE[def.type].includes(f.op))
    throw badInput(`${p}: ${f.op} does not apply to the ${def.type} field ${def.name}`, { path: p });
  if (f.op === 'IS_SET' || f.op === 'IS_NOT_SET') return { name: def.name, op: f.op };
  if (f.op === 'IN') {
    const list = f.values ?? (f.value != null ? [f.value] : []);
    if (list.length === 0 || list.length > MAX_IN_VALUES)
      throw badInput(`${p}: IN takes 1 to ${MAX_IN_VALUES} values (in values)`, { path: p });
    return {
      name: def.name,
      op: 'IN',
      values: list.map((x, i) => checkValue(def.type, x, `${p}.values[${i}]`)),
    };
  }
  if (f.value == null) throw badInput(`${p}: ${f.op} needs a value`, { path: p });
  return { name: def.name, op: f.op, value: checkValue(def.type, f.value, `${p}.value`) };
}

function checkEvent(e: EventCriterion, p: string): EventCriterion {
  if (!EVENT_TYPES.includes(e?.type)) throw badInput(`${p}: unknown event type`);
  const out: EventCriterion = { type: e.type };
  for (const k of ['operationId', 'formId'] as const) {
    const v = e[k];
    if (v != null) {
      if (!isUuid(v)) throw badInput(`${p}.${k}: not an id`);
      out[k] = v.toLowerCase();
    }
  }
  if (e.url != null) {
    if (e.url.length > 2000) throw badInput(`${p}.url: at most 2000 characters`);
    out.url = e.url;
  }
  if (e.withinDays != null) {
    if (!Number.isInteger(e.withinDays) || e.withinDays < 1 || e.withinDays > 3650)
      throw badInput(`${p}.withinDays: 1 to 3650`);
    out.withinDays = e.withinDays;
  }
  if (e.minCount != null) {
    if (!Number.isInteger(e.minCount) || e.minCount < 1 || e.minCount > 100_000)
      throw badInput(`${p}.minCount: 1 to 100000`);
    if (e.minCount > 1) out.minCount = e.minCount;
  }
  return out;
}

function checkScore(s: ScoreCriterion, env: CheckEnv, p: string): ScoreCriterion {
  if (!s || !env.scoreIds.has(String(s.scoreId)))
    throw badInput(`${p}.scoreId: no such score in this account`);
  if (!COMPARE_OPS.includes(s.op)) throw badInput(`${p}.op: one of ${COMPARE_OPS.join(', ')}`);
  if (!DECIMAL.test(String(s.value))) throw badInput(`${p}.value: not a decimal`);
  return { scoreId: String(s.scoreId), op: s.op, value: normaliseDecimal(String(s.value)) };
}

/** Scores a criterion reads (to compute them first and to refuse cycles). */
export function scoreRefs(c: Criterion, out = new Set<string>()): Set<string> {
  if ('score' in c) out.add(c.score.scoreId);
  else if ('all' in c) for (const x of c.all) scoreRefs(x, out);
  else if ('any' in c) for (const x of c.any) scoreRefs(x, out);
  else if ('not' in c) scoreRefs(c.not, out);
  return out;
}

export const hasEvent = (c: Criterion): boolean =>
  'event' in c ||
  ('all' in c && c.all.some(hasEvent)) ||
  ('any' in c && c.any.some(hasEvent)) ||
  ('not' in c && hasEvent(c.not));

/**
 * SQL boolean over a contact aliased `c`. Every user value is a bound parameter; field names come
 * from the account's definitions (checked identifiers), never from the input text.
 */
export function compileCriterion(c: Criterion, env: CompileEnv): string {
  if ('all' in c) return `(${c.all.map((x) => compileCriterion(x, env)).join(' and ')})`;
  if ('any' in c) return `(${c.any.map((x) => compileCriterion(x, env)).join(' or ')})`;
  if ('not' in c) return `(not coalesce(${compileCriterion(c.not, env)}, false))`;
  if ('field' in c) return compileField(c.field, env);
  if ('event' in c) return compileEventExists(c.event, env.params);
  return compileScore(c.score, env.params);
}

const CAST: Record<FieldType, string> = { TEXT: 'text', NUMBER: 'numeric', DATE: 'date', BOOLEAN: 'boolean' };

function compileField(f: FieldCriterion, env: CompileEnv): string {
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
    default:
      return `(${col} ${SQL_OP[f.op]} ${env.params.add(f.value, cast)})`;
  }
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (m) => `\\${m}`);

/** The event's own filter over an event aliased `e` (type, operation, form, url, window). */
export function compileEventFilter(e: EventCriterion, params: Params): string {
  const parts = [`e.type = ${params.add(eventCode(e.type), 'smallint')}`];
  if (e.operationId) parts.push(`e.operation_id = ${params.add(e.operationId, 'uuid')}`);
  if (e.formId) parts.push(`e.form_id = ${params.add(e.formId, 'uuid')}`);
  if (e.url) parts.push(`e.url = ${params.add(e.url, 'text')}`);
  if (e.withinDays)
    parts.push(`e.occurred_at >= now() - make_interval(days => ${params.add(e.withinDays, 'int')})`);
  return parts.join(' and ');
}

function compileEventExists(e: EventCriterion, params: Params): string {
  const where = `e.account_id = c.account_id and e.contact_id = c.id and ${compileEventFilter(e, params)}`;
  if (!e.minCount || e.minCount <= 1) return `exists (select 1 from contact_event e where ${where})`;
  const n = params.add(e.minCount, 'int');
  return `((select count(*) from (select 1 from contact_event e where ${where} limit ${n}) x) >= ${n})`;
}

function compileScore(s: ScoreCriterion, params: Params): string {
  return `(coalesce((select cs.value from contact_score cs where cs.score_id = ${params.add(s.scoreId, 'uuid')} and cs.contact_id = c.id), 0) ${SQL_OP[s.op]} ${params.add(s.value, 'numeric')})`;
}

/**
 * FIXED_PER_EVENT: splits a criterion into the events that count (`e`) and a condition on their
 * contact (`c`, null when none). Accepted shapes: an event; `any` of events (an event counts once
 * even if it matches several); `all` of exactly one such part plus conditions without events.
 */
export function splitPerEvent(
  c: Criterion,
  p = 'criterion',
): { events: EventCriterion[]; contact: Criterion | null } {
  const eventsOf = (x: Criterion): EventCriterion[] | null => {
    if ('event' in x) return [x.event];
    if ('any' in x && x.any.every((y) => 'event' in y))
      return x.any.map((y) => (y as { event: EventCriterion }).event);
    return null;
  };
  const direct = eventsOf(c);
  let out: { events: EventCriterion[]; contact: Criterion | null } | null = direct
    ? { events: direct, contact: null }
    : null;
  if (!out && 'all' in c) {
    const eventParts = c.all.filter(hasEvent);
    const rest = c.all.filter((x) => !hasEvent(x));
    const events = eventParts.length === 1 ? eventsOf(eventParts[0]) : null;
    if (events) out = { events, contact: rest.length ? { all: rest } : null };
  }
  if (!out)
    throw badInput(
      `${p}: FIXED_PER_EVENT needs an event, an "any" of events, or an "all" of one of those with conditions on the contact`,
    );
  if (out.events.some((e) => (e.minCount ?? 1) > 1))
    throw badInput(`${p}: minCount has no meaning in FIXED_PER_EVENT (each event counts)`);
  return out;
}

/** FIELD_VALUE: the criterion must be a condition on one NUMBER field, whose value is used. */
export function fieldValueOf(c: Criterion, fields: Map<string, FieldDef>, p = 'criterion'): FieldDef {
  const def = 'field' in c ? fields.get(c.field.name) : undefined;
  if (!def) throw badInput(`${p}: FIELD_VALUE needs a field criterion on a NUMBER field`);
  if (def.type !== 'NUMBER')
    throw badInput(`${p}: FIELD_VALUE needs a field criterion on a NUMBER field (standard or custom)`);
  return def;
}
