import { normaliseDecimal } from '../../shared/decimal.js';
import { badInput } from '../../shared/errors.js';
import { isUuid } from '../../shared/ids.js';
import { EMAIL_STATUSES, type EmailStatus, type FieldType } from '../contacts/contact.entity.js';
import { type FieldDef, isCalendarDate } from '../contacts/fields.js';
import { EVENT_TYPES, type EventType } from '../events/event.entity.js';

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
  'IN_LAST_DAYS',
  'IN_NEXT_DAYS',
  'MORE_THAN_DAYS_AGO',
  'ANNIVERSARY_IN_NEXT_DAYS',
] as const;
export type FieldOp = (typeof FIELD_OPS)[number];
export const COMPARE_OPS = ['EQ', 'NEQ', 'LT', 'LTE', 'GT', 'GTE'] as const;
export type CompareOp = (typeof COMPARE_OPS)[number];
/** Relative-date operators: they take `days`, counted in the account's time zone. */
export const DAY_OPS = [
  'IN_LAST_DAYS',
  'IN_NEXT_DAYS',
  'MORE_THAN_DAYS_AGO',
  'ANNIVERSARY_IN_NEXT_DAYS',
] as const;
export type DayOp = (typeof DAY_OPS)[number];
export const URL_MATCHES = ['EXACT', 'PREFIX', 'CONTAINS'] as const;
export type UrlMatch = (typeof URL_MATCHES)[number];

/**
 * The targeting language shared by scores, segments and operation audiences (stored as this JSON).
 * Each leaf compiles to a SQL boolean over one contact (criterion.compile.ts).
 */
export type Criterion =
  | { field: FieldCriterion }
  | { event: EventCriterion }
  | { score: ScoreCriterion }
  | { segment: SegmentCriterion }
  | { emailStatus: EmailStatusCriterion }
  | { hasEmail: boolean }
  | { hasPhone: boolean }
  | { all: Criterion[] }
  | { any: Criterion[] }
  | { not: Criterion };

export interface FieldCriterion {
  name: string;
  op: FieldOp;
  value?: string | null;
  values?: string[] | null;
  /** For the relative-date operators (DAY_OPS). */
  days?: number | null;
}
export interface EventCriterion {
  type: EventType;
  operationId?: string | null;
  formId?: string | null;
  url?: string | null;
  /** How url compares; EXACT when absent. Stored only when url is. */
  urlMatch?: UrlMatch | null;
  /** Since the start of the day withinDays days ago (account time zone): today and the N days before. */
  withinDays?: number | null;
  /** Before the start of the day olderThanDays days ago: the complement of withinDays. */
  olderThanDays?: number | null;
  minCount?: number | null;
}
export interface SegmentCriterion {
  segmentId: string;
}
export interface EmailStatusCriterion {
  in: EmailStatus[];
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
  DATE: ['EQ', 'NEQ', 'LT', 'LTE', 'GT', 'GTE', 'IS_SET', 'IS_NOT_SET', ...DAY_OPS],
  BOOLEAN: ['EQ', 'NEQ', 'IS_SET', 'IS_NOT_SET'],
};
const DECIMAL = /^-?\d{1,14}(\.\d{1,6})?$/;
/** Anniversaries repeat yearly: a window longer than a year would hold every date. */
const MAX_DAYS = {
  IN_LAST_DAYS: 36_500,
  IN_NEXT_DAYS: 36_500,
  MORE_THAN_DAYS_AGO: 36_500,
  ANNIVERSARY_IN_NEXT_DAYS: 366,
};

/** What checking a criterion needs. */
export interface CheckEnv {
  fields: Map<string, FieldDef>;
  /** Score ids of the account (a score criterion may only name these). */
  scoreIds: Set<string>;
  /** Segment ids of the account (a segment criterion may only name these); none when absent. */
  segmentIds?: Set<string>;
}

const LEAF_KINDS = ['field', 'event', 'score', 'segment', 'emailStatus', 'hasEmail', 'hasPhone'];

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
      throw badInput(`${p}: give exactly one of ${[...LEAF_KINDS, 'all', 'any', 'not'].join(', ')}`, {
        path: p,
      });
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
    if (kind === 'segment') return { segment: checkSegment(v as SegmentCriterion, env, `${p}.segment`) };
    if (kind === 'emailStatus')
      return { emailStatus: checkEmailStatus(v as EmailStatusCriterion, `${p}.emailStatus`) };
    if (kind === 'hasEmail' || kind === 'hasPhone') {
      if (typeof v !== 'boolean') throw badInput(`${p}.${kind}: true or false`);
      return { [kind]: v } as Criterion;
    }
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
  if ((DAY_OPS as readonly string[]).includes(f.op)) {
    const max = MAX_DAYS[f.op as DayOp];
    if (!Number.isInteger(f.days) || (f.days as number) < 0 || (f.days as number) > max)
      throw badInput(`${p}.days: ${f.op} takes days, a whole number from 0 to ${max}`, { path: p });
    return { name: def.name, op: f.op, days: f.days };
  }
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
    if (e.url === '') throw badInput(`${p}.url: give a URL or leave it out`);
    out.url = normaliseUrl(e.url);
    const match = e.urlMatch ?? 'EXACT';
    if (!URL_MATCHES.includes(match)) throw badInput(`${p}.urlMatch: one of ${URL_MATCHES.join(', ')}`);
    if (match !== 'EXACT') out.urlMatch = match;
  } else if (e.urlMatch != null) throw badInput(`${p}.urlMatch: only with url`);
  for (const k of ['withinDays', 'olderThanDays'] as const) {
    const v = e[k];
    if (v == null) continue;
    if (!Number.isInteger(v) || v < (k === 'withinDays' ? 1 : 0) || v > 3650)
      throw badInput(`${p}.${k}: ${k === 'withinDays' ? 1 : 0} to 3650`);
    out[k] = v;
  }
  if (out.withinDays != null && out.olderThanDays != null && out.olderThanDays >= out.withinDays)
    throw badInput(`${p}: olderThanDays must be less than withinDays, or no event can match`);
  if (e.minCount != null) {
    if (!Number.isInteger(e.minCount) || e.minCount < 1 || e.minCount > 100_000)
      throw badInput(`${p}.minCount: 1 to 100000`);
    if (e.minCount > 1) out.minCount = e.minCount;
  }
  return out;
}

function checkScore(s: ScoreCriterion, env: CheckEnv, p: string): ScoreCriterion {
  // Ids are stored as PostgreSQL prints uuids (lower case), whatever case the client sent.
  if (!s || !env.scoreIds.has(String(s.scoreId).toLowerCase()))
    throw badInput(`${p}.scoreId: no such score in this account`);
  if (!COMPARE_OPS.includes(s.op)) throw badInput(`${p}.op: one of ${COMPARE_OPS.join(', ')}`);
  if (!DECIMAL.test(String(s.value))) throw badInput(`${p}.value: not a decimal`);
  return { scoreId: String(s.scoreId).toLowerCase(), op: s.op, value: normaliseDecimal(String(s.value)) };
}

function checkSegment(s: SegmentCriterion, env: CheckEnv, p: string): SegmentCriterion {
  const id = String(s?.segmentId ?? '').toLowerCase();
  if (!env.segmentIds?.has(id)) throw badInput(`${p}.segmentId: no such segment in this account`);
  return { segmentId: id };
}

function checkEmailStatus(s: EmailStatusCriterion, p: string): EmailStatusCriterion {
  const list = s?.in;
  if (!Array.isArray(list) || list.length === 0) throw badInput(`${p}.in: give at least one status`);
  for (const x of list)
    if (!EMAIL_STATUSES.includes(x)) throw badInput(`${p}.in: one of ${EMAIL_STATUSES.join(', ')}`);
  return { in: [...new Set(list)].sort() };
}

/**
 * Scheme and host compare without case (RFC 3986 says they are case-insensitive), the rest as
 * given: paths and queries are case-sensitive. ASCII letters only, as PostgreSQL's translate() in Events' urls go through cible_url_norm(), the
 * cible_url_norm() (migration Segments) lowers them whatever the database's locale: both agree.
 */
export function normaliseUrl(url: string): string {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*)(.*)$/s.exec(url);
  return m ? m[1].replace(/[A-Z]/g, (x) => x.toLowerCase()) + m[2] : url;
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
