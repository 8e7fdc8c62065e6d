import type pg from 'pg';
import { EMAIL_STATUSES, type FieldType } from '../../contacts/contact.entity.js';
import { STANDARD_FIELDS } from '../../contacts/fields.js';
import { EVENT_TYPES, eventCode } from '../../events/event.entity.js';
import type { OContact, OEvent, World } from './oracle.js';
import type { Rng } from './prng.js';
import { addDays, localDate, midnight } from './tz.js';

export const CUSTOM_FIELDS: Record<string, FieldType> = {
  plan: 'TEXT',
  revenue: 'NUMBER',
  renewal: 'DATE',
  vip: 'BOOLEAN',
};
export const OPERATIONS = [
  'a0000000-0000-4000-8000-000000000001',
  'a0000000-0000-4000-8000-000000000002',
  'A0000000-0000-4000-8000-00000000000F',
];
export const FORMS = ['f0000000-0000-4000-8000-000000000001', 'f0000000-0000-4000-8000-000000000002'];
export const URLS = [
  'https://Shop.Example.com/Sale/Shoes?id=1',
  'https://shop.example.com/sale/shoes',
  'HTTPS://SHOP.EXAMPLE.COM/Sale',
  'https://shop.example.com/Sale/Shoes?id=2#top',
  'https://blog.example.org/Post/1',
  'http://shop.example.com/',
  'https://shop.example.com:8443/Cart',
  '/relative/Path',
  'https://news.example.net/100%_off',
];
const EVENT_KINDS = [
  'EMAIL_OPEN',
  'EMAIL_CLICK',
  'SITE_VISIT',
  'FORM_SUBMIT',
  'SMS_CLICK',
  'WEB_BLOCK_CLICK',
];
// Values with LIKE's special characters and a backslash: CONTAINS and STARTS_WITH take them literally.
const LAST_NAMES = [
  'Dupont',
  'dupont',
  'DUPONT',
  'Martin',
  'Le Gall',
  "O'Neil",
  'O_Neil',
  '100%Sure',
  'A\\B',
  'Bernard',
];
const FIRST_NAMES = ['Anne', 'Bruno', 'Chloe', 'Denis', 'Eve', 'Farid'];
const CITIES = ['Paris', 'Lyon', 'paris', 'Lille', 'Saint-Malo'];
const COUNTRIES = ['FR', 'fr', 'DE', 'ES', 'US', ''];
const PLANS = ['gold', 'Gold Plus', 'silver', 'bronze', ''];
const DOMAINS = ['example.com', 'Example.ORG', 'mail.test'];

const nullable = <T>(r: Rng, p: number, f: () => T): T | null => (r.chance(p) ? null : f());

/** A date near today (birthdays, renewals) or anywhere in a wide range, or 29 February. */
function someDate(r: Rng, today: string, from: number, to: number): string {
  const roll = r.next();
  if (roll < 0.1) return r.pick(['1992-02-29', '2000-02-29', '2024-02-29', '1990-02-28', '1991-03-01']);
  if (roll < 0.45) {
    // Same month and day as a date near today, in another year: anniversaries within days.
    const near = addDays(today, r.int(-12, 12));
    return `${r.int(1950, 2030)}${near.slice(4)}`.replace(/-02-29$/, '-02-28');
  }
  if (roll < 0.75) return addDays(today, r.int(-200, 200));
  return addDays(today, r.int(from, to));
}

function contactRow(r: Rng, i: number, today: string, now: number) {
  const std = {
    email: r.chance(0.12) ? (r.chance(0.3) ? '' : null) : `user${i}@${r.pick(DOMAINS)}`,
    phone: nullable(r, 0.45, () => `+33 6 ${r.int(10, 99)} ${r.int(10, 99)} ${r.int(10, 99)}`),
    first_name: nullable(r, 0.1, () => r.pick(FIRST_NAMES)),
    last_name: nullable(r, 0.1, () => r.pick(LAST_NAMES)),
    gender: nullable(r, 0.5, () => r.pick(['F', 'M', 'X'])),
    birth_date: nullable(r, 0.2, () => someDate(r, today, -30000, -5000)),
    city: nullable(r, 0.2, () => r.pick(CITIES)),
    department: nullable(r, 0.6, () => String(r.int(1, 95)).padStart(2, '0')),
    country: nullable(r, 0.1, () => r.pick(COUNTRIES)),
  };
  const fields: Record<string, unknown> = {};
  if (r.chance(0.8)) fields.plan = r.pick(PLANS);
  if (r.chance(0.8))
    fields.revenue = r.chance(0.1)
      ? null
      : r.pick(['0', '100', '100.5', '-3', String(r.int(-50, 500)), `${r.int(0, 300)}.${r.int(0, 99)}`]);
  if (r.chance(0.7)) fields.renewal = someDate(r, today, -400, 400);
  if (r.chance(0.7)) fields.vip = r.chance(0.1) ? null : r.chance(0.4);
  const weights = ['VALID', 'VALID', 'VALID', 'VALID', ...EMAIL_STATUSES];
  // Some contacts share a creation time: pages in CREATED_AT order break ties by id.
  const createdAt = now - (r.chance(0.1) ? 86_400_000 : r.int(0, 400) * 3_600_000 + r.int(0, 999));
  return { ...std, fields, email_status: r.pick(weights), created_at: new Date(createdAt).toISOString() };
}

/** Events over the last 120 days, some in the last hours and some a second around local midnights. */
function eventsOf(r: Rng, tz: string, now: number, today: string): Omit<OEvent, never>[] {
  if (r.chance(0.25)) return [];
  const out: OEvent[] = [];
  for (const type of r.some(EVENT_KINDS, 3)) {
    const n = r.chance(0.12) ? r.int(8, 25) : r.int(1, 4);
    for (let k = 0; k < n; k++) {
      const roll = r.next();
      let at: number;
      if (roll < 0.1) at = now - r.int(0, 6 * 3_600_000);
      else if (roll < 0.25)
        at = midnight(addDays(today, -r.int(0, 40)), tz) + r.pick([-1000, -1, 0, 1, 1000]);
      else at = now - r.int(0, 120 * 86_400_000);
      if (at > now) at = now - 1;
      out.push({
        type,
        at,
        operationId:
          type.startsWith('EMAIL') || type.startsWith('SMS')
            ? nullable(r, 0.3, () => r.pick(OPERATIONS).toLowerCase())
            : null,
        formId: type === 'FORM_SUBMIT' ? nullable(r, 0.2, () => r.pick(FORMS)) : null,
        url: type === 'FORM_SUBMIT' || type === 'EMAIL_OPEN' ? null : nullable(r, 0.15, () => r.pick(URLS)),
      });
    }
  }
  return out;
}

/**
 * Fills one account: contacts, their events (inserted in three statements, so contact_recent's
 * trigger merges into rows it already has) and score values. Returns nothing: loadWorld reads
 * back what the database holds.
 */
export async function fillAccount(
  sql: pg.Pool,
  r: Rng,
  a: { accountId: string; tz: string; contacts: number; scoreIds: string[]; now: number },
): Promise<void> {
  const today = localDate(a.now, a.tz);
  const rows = Array.from({ length: a.contacts }, (_, i) => contactRow(r, i, today, a.now));
  const { rows: ids } = await sql.query<{ id: string }>(
    `insert into contact (account_id, email, phone, first_name, last_name, gender, birth_date, city, department, country, fields, email_status, created_at)
     select $1, x.email, x.phone, x.first_name, x.last_name, x.gender, x.birth_date, x.city, x.department, x.country, x.fields, x.email_status, x.created_at
       from jsonb_to_recordset($2::jsonb) as x(email text, phone text, first_name text, last_name text, gender text, birth_date date,
            city text, department text, country text, fields jsonb, email_status text, created_at timestamptz)
      returning id::text as id`,
    [a.accountId, JSON.stringify(rows)],
  );
  const batches: unknown[][] = [[], [], []];
  for (const { id } of ids)
    for (const e of eventsOf(r, a.tz, a.now, today))
      batches[r.int(0, 2)].push({
        contact_id: id,
        type: eventCode(e.type as (typeof EVENT_TYPES)[number]),
        occurred_at: new Date(e.at).toISOString(),
        operation_id: e.operationId,
        form_id: e.formId,
        url: e.url,
      });
  for (const batch of batches)
    await sql.query(
      `insert into contact_event (account_id, contact_id, type, occurred_at, operation_id, form_id, url)
       select $1, x.contact_id, x.type, x.occurred_at, x.operation_id, x.form_id, x.url
         from jsonb_to_recordset($2::jsonb) as x(contact_id bigint, type smallint, occurred_at timestamptz, operation_id uuid, form_id uuid, url text)`,
      [a.accountId, JSON.stringify(batch)],
    );
  const scores: unknown[] = [];
  for (const scoreId of a.scoreIds)
    for (const { id } of ids)
      if (r.chance(0.6))
        scores.push({
          score_id: scoreId,
          contact_id: id,
          value: r.pick(['0', '50', '-5', String(r.int(-20, 120)), `${r.int(0, 99)}.${r.int(0, 99)}`]),
        });
  await sql.query(
    `insert into contact_score (score_id, contact_id, account_id, value)
     select x.score_id, x.contact_id, $1, x.value from jsonb_to_recordset($2::jsonb) as x(score_id uuid, contact_id bigint, value numeric)`,
    [a.accountId, JSON.stringify(scores)],
  );
}

/** Everything the oracle needs, read back from the tables (one account). */
export async function loadWorld(sql: pg.Pool, accountId: string, tz: string): Promise<World> {
  const cols = Object.entries(STANDARD_FIELDS).map(([name, f]) =>
    f.type === 'DATE' ? `${f.column}::text as "${name}"` : `${f.column} as "${name}"`,
  );
  const contacts = await sql.query<Record<string, unknown>>(
    `select id::text as id, ${cols.join(', ')}, email_status, fields, (extract(epoch from created_at) * 1000)::float8 as created_ms
       from contact where account_id = $1`,
    [accountId],
  );
  const list: OContact[] = contacts.rows.map((c) => ({
    id: c.id as string,
    std: Object.fromEntries(Object.keys(STANDARD_FIELDS).map((k) => [k, c[k] as string | null])),
    emailStatus: c.email_status as string,
    fields: c.fields as Record<string, unknown>,
    createdAt: c.created_ms as number,
  }));
  const events = new Map<string, OEvent[]>();
  const ev = await sql.query<{
    contact_id: string;
    type: number;
    ms: number;
    operation_id: string | null;
    form_id: string | null;
    url: string | null;
  }>(
    `select contact_id::text, type, (extract(epoch from occurred_at) * 1000)::float8 as ms, operation_id::text, form_id::text, url
       from contact_event where account_id = $1`,
    [accountId],
  );
  for (const e of ev.rows) {
    const l = events.get(e.contact_id) ?? events.set(e.contact_id, []).get(e.contact_id);
    l?.push({
      type: EVENT_TYPES[e.type],
      at: e.ms,
      operationId: e.operation_id,
      formId: e.form_id,
      url: e.url,
    });
  }
  const scores = new Map<string, Map<string, string>>();
  const sc = await sql.query<{ score_id: string; contact_id: string; value: string }>(
    `select cs.score_id::text, cs.contact_id::text, cs.value::text from contact_score cs join score s on s.id = cs.score_id
      where s.account_id = $1`,
    [accountId],
  );
  for (const s of sc.rows) {
    const m = scores.get(s.score_id) ?? scores.set(s.score_id, new Map()).get(s.score_id);
    m?.set(s.contact_id, s.value);
  }
  const segs = await sql.query<{ id: string; criterion: unknown }>(
    'select id::text, criterion from segment where account_id = $1',
    [accountId],
  );
  const fieldRows = await sql.query<{ name: string; type: FieldType }>(
    'select name, type from contact_field where account_id = $1',
    [accountId],
  );
  const fields = new Map<string, { type: FieldType; standard: boolean }>();
  for (const [name, f] of Object.entries(STANDARD_FIELDS)) fields.set(name, { type: f.type, standard: true });
  for (const f of fieldRows.rows) fields.set(f.name, { type: f.type, standard: false });
  return {
    tz,
    contacts: list,
    fields,
    events,
    scores,
    segments: new Map(segs.rows.map((s) => [s.id, s.criterion])),
  };
}
