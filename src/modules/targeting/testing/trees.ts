import { EMAIL_STATUSES } from '../../contacts/contact.entity.js';
import { FORMS, OPERATIONS, URLS } from './fixture.js';
import type { World } from './oracle.js';
import type { Rng } from './prng.js';
import { addDays, daysBetween, nextAnniversary } from './tz.js';

// biome-ignore lint/suspicious/noExplicitAny: trees are the API's raw input, checked by normaliseCriterion
export type Tree = any;

/** The operators each field type takes (the schema's CriterionFieldOp description). */
const OPS = {
  TEXT: ['EQ', 'NEQ', 'IN', 'CONTAINS', 'STARTS_WITH', 'IS_SET', 'IS_NOT_SET'],
  NUMBER: ['EQ', 'NEQ', 'LT', 'LTE', 'GT', 'GTE', 'IN', 'IS_SET', 'IS_NOT_SET'],
  DATE: [
    'EQ',
    'NEQ',
    'LT',
    'LTE',
    'GT',
    'GTE',
    'IS_SET',
    'IS_NOT_SET',
    'IN_LAST_DAYS',
    'IN_NEXT_DAYS',
    'MORE_THAN_DAYS_AGO',
    'ANNIVERSARY_IN_NEXT_DAYS',
  ],
  BOOLEAN: ['EQ', 'NEQ', 'IS_SET', 'IS_NOT_SET'],
} as const;
const SCORE_OPS = ['EQ', 'NEQ', 'LT', 'LTE', 'GT', 'GTE'];
const EVENT_TYPES = [
  'EMAIL_OPEN',
  'EMAIL_CLICK',
  'SITE_VISIT',
  'FORM_SUBMIT',
  'SMS_CLICK',
  'WEB_BLOCK_CLICK',
  'BOUNCE',
];

/** What a tree exercises: leaf kinds, each field type's operators, the event options. */
export function kinds(x: Tree, world: World, out: Set<string>): Set<string> {
  const key = Object.keys(x)[0];
  out.add(key);
  if (x.all || x.any) for (const y of x.all ?? x.any) kinds(y, world, out);
  else if (x.not) kinds(x.not, world, out);
  else if (x.field) out.add(`field:${world.fields.get(x.field.name)?.type}:${x.field.op}`);
  else if (x.score) out.add(`score:${x.score.op}`);
  else if (x.event) {
    const e = x.event;
    if (e.url) out.add(`event:url:${e.urlMatch ?? 'EXACT'}`);
    if (e.operationId) out.add('event:operationId');
    if (e.formId) out.add('event:formId');
    out.add(`event:window:${e.withinDays ? 'since' : ''}${e.olderThanDays != null ? 'before' : ''}`);
    // Past contact_recent's ten kept events, where the raw events decide.
    if ((e.minCount ?? 1) > 10) out.add('event:minCount>10');
  }
  return out;
}
export const REQUIRED = [
  ...['all', 'any', 'not', 'field', 'event', 'score', 'segment', 'emailStatus', 'hasEmail', 'hasPhone'],
  ...Object.entries(OPS).flatMap(([type, ops]) => ops.map((op) => `field:${type}:${op}`)),
  ...SCORE_OPS.map((op) => `score:${op}`),
  ...['EXACT', 'PREFIX', 'CONTAINS'].map((m) => `event:url:${m}`),
  ...['', 'since', 'before', 'sincebefore'].map((w) => `event:window:${w}`),
  ...['event:operationId', 'event:formId', 'event:minCount>10'],
];

/** Flips the case of some letters: CONTAINS, STARTS_WITH and url hosts ignore it. */
const recase = (r: Rng, s: string) =>
  [...s]
    .map((ch) => (r.chance(0.3) ? (ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase()) : ch))
    .join('');

/**
 * Random criteria whose values come from the data, so that most leaves match some contacts and
 * not others. all/any/not nest at most 3 levels; every leaf kind and operator appears.
 */
export class TreeGen {
  private readonly values = new Map<string, string[]>();
  constructor(
    private readonly r: Rng,
    private readonly world: World,
    private readonly today: string,
    private readonly segmentIds: string[],
  ) {
    for (const [name, def] of world.fields) {
      const seen = new Set<string>();
      for (const c of world.contacts) {
        const v = def.standard ? c.std[name] : c.fields[name];
        if (v !== null && v !== undefined && v !== '') seen.add(String(v));
      }
      this.values.set(name, [...seen]);
    }
  }

  tree(depth = 0): Tree {
    const { r } = this;
    if (depth < 3 && r.chance(depth === 0 ? 0.75 : 0.4)) {
      const kind = r.pick(['all', 'any', 'any', 'all', 'not']);
      if (kind === 'not') return { not: this.tree(depth + 1) };
      return { [kind]: Array.from({ length: r.int(1, 4) }, () => this.tree(depth + 1)) };
    }
    return this.leaf();
  }

  leaf(): Tree {
    const { r } = this;
    const roll = r.next();
    if (roll < 0.4) return { field: this.field() };
    if (roll < 0.65) return { event: this.event() };
    if (roll < 0.75) {
      const scoreId = r.pick([...this.world.scores.keys()]);
      const data = [...(this.world.scores.get(scoreId)?.values() ?? [])];
      const value = r.chance(0.6) ? r.pick(data) : r.pick(['0', '0.0', '50', '-1', '10.5']);
      return { score: { scoreId, op: r.pick(SCORE_OPS), value } };
    }
    if (roll < 0.83) return { segment: { segmentId: r.pick(this.segmentIds) } };
    if (roll < 0.91) return { emailStatus: { in: r.some(EMAIL_STATUSES, 3) } };
    return r.chance(0.5) ? { hasEmail: r.chance(0.5) } : { hasPhone: r.chance(0.5) };
  }

  private field(): Tree {
    const { r } = this;
    const name = r.pick([...this.world.fields.keys()]);
    const type = this.world.fields.get(name)?.type as keyof typeof OPS;
    const op = r.pick(OPS[type]);
    const data = this.values.get(name) ?? [];
    const some = () => (data.length && r.chance(0.85) ? r.pick(data) : this.invent(type));
    if (op === 'IS_SET' || op === 'IS_NOT_SET') return { name, op };
    if (op === 'IN') return { name, op, values: Array.from({ length: r.int(1, 4) }, some) };
    if (op === 'ANNIVERSARY_IN_NEXT_DAYS') {
      // Half the time exactly at a contact's next anniversary, or a day short of it (29 February).
      const at = data.length ? daysBetween(this.today, nextAnniversary(r.pick(data), this.today)) : 0;
      const days = r.chance(0.5) ? at + r.pick([-1, 0]) : r.pick([0, 1, 7, 30, 88, 89, 365, 366]);
      return { name, op, days: Math.max(0, Math.min(366, days)) };
    }
    if (op.endsWith('_DAYS') || op === 'MORE_THAN_DAYS_AGO') {
      // Half the time the window ends on a contact's date, or a day before or after it.
      const at = data.length ? Math.abs(daysBetween(this.today, r.pick(data))) : 0;
      const days = r.chance(0.5) ? at + r.pick([-1, 0, 1]) : r.pick([0, 1, 7, 30, r.int(0, 400)]);
      return { name, op, days: Math.max(0, Math.min(36_500, days)) };
    }
    if (op === 'CONTAINS' || op === 'STARTS_WITH') {
      const v = some();
      const start = op === 'CONTAINS' ? r.int(0, Math.max(0, v.length - 1)) : 0;
      return { name, op, value: recase(r, v.slice(start, start + r.int(1, 5))) || v };
    }
    let value = some();
    // The other spellings a NUMBER accepts: trailing zeros, a comma for the decimal point.
    if (type === 'NUMBER' && r.chance(0.2))
      value = value.includes('.') ? `${value}0`.replace('.', ',') : `${value}.00`;
    return { name, op, value };
  }

  private invent(type: string): string {
    const { r } = this;
    if (type === 'NUMBER') return r.pick(['0', '100', '-3.5', '250']);
    if (type === 'DATE') return addDays(this.today, r.int(-60, 60));
    if (type === 'BOOLEAN') return r.pick(['true', 'false']);
    return r.pick(['x', 'Dup', '%', '_', '\\', 'o_n', 'Gold']);
  }

  private event(): Tree {
    const { r } = this;
    const e: Tree = { type: r.pick(EVENT_TYPES) };
    if (r.chance(0.15)) e.operationId = r.pick(OPERATIONS);
    if (r.chance(0.1)) e.formId = r.pick(FORMS);
    if (r.chance(0.25)) {
      e.urlMatch = r.pick(['EXACT', 'PREFIX', 'CONTAINS', undefined]);
      const url = r.pick(URLS);
      e.url =
        e.urlMatch === 'PREFIX'
          ? url.slice(0, r.int(8, url.length))
          : e.urlMatch === 'CONTAINS'
            ? url.slice(r.int(0, 10), r.int(11, url.length))
            : url;
      if (e.urlMatch !== 'CONTAINS')
        e.url = e.url.replace(/^[^/]*\/\/[^/?#]*/, (host: string) => recase(r, host));
      else e.url = recase(r, e.url);
      if (e.url === '') e.url = url;
    }
    const w = r.next();
    if (w < 0.35) e.withinDays = r.pick([1, 2, 7, 30, r.int(1, 130)]);
    else if (w < 0.5) e.olderThanDays = r.pick([0, 1, 7, r.int(0, 100)]);
    else if (w < 0.65) {
      e.withinDays = r.int(2, 130);
      e.olderThanDays = r.int(0, e.withinDays - 1);
    }
    if (r.chance(0.4)) e.minCount = r.pick([1, 2, 3, 4, 9, 10, 11, 12, 20]);
    return e;
  }
}
