import type { FieldType } from '../../contacts/contact.entity.js';
import { addDays, localDate, midnight, nextAnniversary } from './tz.js';

/**
 * An independent evaluation of the targeting language over data loaded into memory: written from
 * the documented meaning of each criterion (schema descriptions), sharing no code with
 * criterion.compile.ts, so that the property test compares two implementations, not one twice.
 * A leaf over a missing value is false (the SQL's null), and `not` of it is true.
 */
export interface OContact {
  id: string;
  std: Record<string, string | null>;
  emailStatus: string;
  fields: Record<string, unknown>;
  createdAt: number;
}
export interface OEvent {
  type: string;
  at: number;
  operationId: string | null;
  formId: string | null;
  url: string | null;
}
export interface World {
  tz: string;
  contacts: OContact[];
  /** Field name -> type, standard and custom; standard ones are read from std. */
  fields: Map<string, { type: FieldType; standard: boolean }>;
  events: Map<string, OEvent[]>;
  /** Score id -> contact id -> value (a decimal string); no row reads as 0. */
  scores: Map<string, Map<string, string>>;
  segments: Map<string, unknown>;
}

// biome-ignore lint/suspicious/noExplicitAny: the oracle reads raw trees as the API receives them
type Raw = any;

/** Exact decimal comparison (values have at most 6 decimals): scaled to BigInt micro-units. */
export function cmpDecimal(a: string, b: string): number {
  const scale = (s: string) => {
    const t = s.trim().replace(',', '.');
    const neg = t.startsWith('-');
    const [int, frac = ''] = t.replace(/^[-+]/, '').split('.');
    const v = BigInt(int || '0') * 1_000_000n + BigInt(`${frac}000000`.slice(0, 6));
    return neg ? -v : v;
  };
  const x = scale(a);
  const y = scale(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

const compare = (cmp: number, op: string) =>
  ({ EQ: cmp === 0, NEQ: cmp !== 0, LT: cmp < 0, LTE: cmp <= 0, GT: cmp > 0, GTE: cmp >= 0 })[op] as boolean;

/** Scheme and host without case (RFC 3986), the rest as written. */
function urlKey(url: string): string {
  const sep = url.indexOf('://');
  if (sep < 1 || !/^[a-zA-Z][a-zA-Z0-9+.-]*$/.test(url.slice(0, sep))) return url;
  let end = url.length;
  for (const ch of ['/', '?', '#']) {
    const i = url.indexOf(ch, sep + 3);
    if (i >= 0 && i < end) end = i;
  }
  return url.slice(0, end).toLowerCase() + url.slice(end);
}

export class Oracle {
  readonly today: string;
  constructor(
    readonly world: World,
    readonly now: number,
  ) {
    this.today = localDate(now, world.tz);
  }

  /** Midnight (account time zone) that starts the day n days before today. */
  private dayStart(n: number): number {
    let v = this.starts.get(n);
    if (v === undefined) {
      v = midnight(addDays(this.today, -n), this.world.tz);
      this.starts.set(n, v);
    }
    return v;
  }
  private readonly starts = new Map<number, number>();
  /** today plus n days, cached: the oracle asks it for every contact. */
  private day(n: number): string {
    let v = this.days.get(n);
    if (v === undefined) {
      v = addDays(this.today, n);
      this.days.set(n, v);
    }
    return v;
  }
  private readonly days = new Map<number, string>();

  /** What `c.fields->>'name'` reads: JSON text as is, booleans and numbers as their text. */
  private value(c: OContact, name: string): string | null {
    const def = this.world.fields.get(name);
    if (!def) throw new Error(`oracle: unknown field ${name}`);
    if (def.standard) return c.std[name] ?? null;
    const v = c.fields[name];
    return v === undefined || v === null ? null : String(v);
  }

  matches(c: OContact, t: Raw, depth = 0): boolean {
    if (depth > 40) throw new Error('oracle: segments nest too deep');
    if (t.all) return t.all.every((x: Raw) => this.matches(c, x, depth));
    if (t.any) return t.any.some((x: Raw) => this.matches(c, x, depth));
    if (t.not) return !this.matches(c, t.not, depth);
    if (t.segment) {
      const inner = this.world.segments.get(String(t.segment.segmentId).toLowerCase());
      if (!inner) throw new Error(`oracle: no segment ${t.segment.segmentId}`);
      return this.matches(c, inner, depth + 1);
    }
    if (t.emailStatus) return t.emailStatus.in.includes(c.emailStatus);
    if (t.hasEmail !== undefined) return Boolean(c.std.email) === t.hasEmail;
    if (t.hasPhone !== undefined) return Boolean(c.std.phone) === t.hasPhone;
    if (t.score) {
      const v = this.world.scores.get(t.score.scoreId)?.get(c.id) ?? '0';
      return compare(cmpDecimal(v, String(t.score.value)), t.score.op);
    }
    if (t.event) return this.event(c, t.event);
    if (t.field) return this.field(c, t.field);
    throw new Error(`oracle: unknown criterion ${JSON.stringify(t)}`);
  }

  private field(c: OContact, f: Raw): boolean {
    const type = this.world.fields.get(f.name)?.type as FieldType;
    const v = this.value(c, f.name);
    if (f.op === 'IS_SET') return type === 'TEXT' ? !!v : v !== null;
    if (f.op === 'IS_NOT_SET') return type === 'TEXT' ? !v : v === null;
    // NEQ: an unset field differs from any value.
    if (v === null) return f.op === 'NEQ';
    const cmp = (x: string, y: string) => (type === 'NUMBER' ? cmpDecimal(x, y) : x < y ? -1 : x > y ? 1 : 0);
    const given = (x: string) => (type === 'TEXT' ? x : x.trim());
    switch (f.op) {
      case 'IN':
        return (f.values as string[]).some((x) => cmp(v, given(x)) === 0);
      case 'CONTAINS':
        return v.toLowerCase().includes(f.value.toLowerCase());
      case 'STARTS_WITH':
        return v.toLowerCase().startsWith(f.value.toLowerCase());
      case 'IN_LAST_DAYS':
        return v >= this.day(-f.days) && v <= this.today;
      case 'IN_NEXT_DAYS':
        return v >= this.today && v <= this.day(f.days);
      case 'MORE_THAN_DAYS_AGO':
        return v < this.day(-f.days);
      case 'ANNIVERSARY_IN_NEXT_DAYS':
        return nextAnniversary(v, this.today) <= this.day(f.days);
      default:
        return compare(cmp(v, given(f.value)), f.op);
    }
  }

  private event(c: OContact, e: Raw): boolean {
    const since = e.withinDays ? this.dayStart(e.withinDays) : null;
    const before = e.olderThanDays != null ? this.dayStart(e.olderThanDays) : null;
    const match = e.urlMatch ?? 'EXACT';
    let n = 0;
    for (const x of this.world.events.get(c.id) ?? []) {
      if (x.type !== e.type) continue;
      if (e.operationId && x.operationId !== e.operationId.toLowerCase()) continue;
      if (e.formId && x.formId !== e.formId.toLowerCase()) continue;
      if (e.url) {
        if (x.url === null) continue;
        if (match === 'EXACT' && urlKey(x.url) !== urlKey(e.url)) continue;
        if (match === 'PREFIX' && !urlKey(x.url).startsWith(urlKey(e.url))) continue;
        if (match === 'CONTAINS' && !x.url.toLowerCase().includes(e.url.toLowerCase())) continue;
      }
      if (since !== null && x.at < since) continue;
      if (before !== null && x.at >= before) continue;
      n++;
    }
    return n >= (e.minCount ?? 1);
  }

  /** The matching contact ids, in id order (as bigint). */
  ids(t: Raw): string[] {
    return this.world.contacts
      .filter((c) => this.matches(c, t))
      .map((c) => c.id)
      .sort(byId);
  }
}

export const byId = (a: string, b: string) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0);
