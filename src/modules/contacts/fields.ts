import type { EntityManager } from '@mikro-orm/postgresql';
import { badInput } from '../../shared/errors.js';
import { lookupTable } from '../../shared/lookup.js';
import type { FieldType } from './contact.entity.js';

/**
 * Standard fields: columns of `contact`, with their type for criteria and scores. Looked up by
 * names users give (a form's contact field, a criterion's field, a new custom field's name), so it
 * has no prototype: "constructor" or "__proto__" are no standard field.
 */
export const STANDARD_FIELDS = lookupTable<{ column: string; type: FieldType }>({
  email: { column: 'email', type: 'TEXT' },
  phone: { column: 'phone', type: 'TEXT' },
  firstName: { column: 'first_name', type: 'TEXT' },
  lastName: { column: 'last_name', type: 'TEXT' },
  gender: { column: 'gender', type: 'TEXT' },
  birthDate: { column: 'birth_date', type: 'DATE' },
  city: { column: 'city', type: 'TEXT' },
  department: { column: 'department', type: 'TEXT' },
  country: { column: 'country', type: 'TEXT' },
});

export interface FieldDef {
  name: string;
  type: FieldType;
  /** SQL expression reading the field on a contact aliased `c` (custom fields from jsonb). */
  sql: string;
  standard: boolean;
}

export const FIELD_NAME = /^[a-zA-Z][a-zA-Z0-9_]{0,62}$/;

/** Every field of an account: standard ones, then its custom ones. */
export async function loadFields(em: EntityManager, accountId: string): Promise<Map<string, FieldDef>> {
  const rows = await em.execute<{ name: string; type: FieldType }[]>(
    'select name, type from contact_field where account_id = ?',
    [accountId],
  );
  const map = new Map<string, FieldDef>();
  for (const [name, f] of Object.entries(STANDARD_FIELDS))
    map.set(name, { name, type: f.type, sql: `c.${f.column}`, standard: true });
  for (const r of rows)
    map.set(r.name, { name: r.name, type: r.type, sql: customSql(r.name, r.type), standard: false });
  return map;
}

function customSql(name: string, type: FieldType): string {
  // The name is checked against FIELD_NAME when defined, so it is safe inside a literal.
  const raw = `(c.fields->>'${name}')`;
  if (type === 'NUMBER') return `${raw}::numeric`;
  if (type === 'DATE') return `${raw}::date`;
  if (type === 'BOOLEAN') return `${raw}::boolean`;
  return raw;
}

const DECIMAL = /^-?\d{1,15}(\.\d{1,6})?$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * A real calendar date YYYY-MM-DD of years 0001 to 9999. PostgreSQL has no year 0: "0000-01-01"
 * failed the insert (a masked error) or, in a custom field's jsonb, every later `::date` cast of
 * a criterion over it.
 */
export function isCalendarDate(v: string): boolean {
  if (!DATE.test(v) || v.startsWith('0000')) return false;
  // Date.UTC reads years 0 to 99 as 1900 to 1999: set the year apart.
  const d = new Date(Date.UTC(2000, 0, 1));
  d.setUTCFullYear(Number(v.slice(0, 4)), Number(v.slice(5, 7)) - 1, Number(v.slice(8, 10)));
  return d.toISOString().slice(0, 10) === v;
}

/** Parses a value given as text for a field of this type; null clears it. */
export function parseValue(field: string, type: FieldType, raw: string | null): string | boolean | null {
  if (raw === null || raw.trim() === '') return null;
  const v = raw.trim();
  switch (type) {
    case 'NUMBER': {
      const n = v.replace(',', '.');
      if (!DECIMAL.test(n))
        throw badInput(
          `${field} must be a number (up to 15 digits and 6 decimals), got ${JSON.stringify(raw)}`,
          { field },
        );
      return n.replace(/^(-?)0+(?=\d)/, '$1');
    }
    case 'DATE': {
      if (!isCalendarDate(v)) {
        throw badInput(
          `${field} must be a date YYYY-MM-DD (years 0001 to 9999), got ${JSON.stringify(raw)}`,
          {
            field,
          },
        );
      }
      return v;
    }
    case 'BOOLEAN': {
      const l = v.toLowerCase();
      if (['true', '1', 'yes', 'oui'].includes(l)) return true;
      if (['false', '0', 'no', 'non'].includes(l)) return false;
      throw badInput(`${field} must be true or false, got ${JSON.stringify(raw)}`, { field });
    }
    default:
      if (v.length > 1000) throw badInput(`${field} must have at most 1000 characters`, { field });
      return v;
  }
}
