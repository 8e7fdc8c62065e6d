import { badInput } from '../../shared/errors.js';
import { normaliseEmail, normalisePhone } from '../users/credentials.js';
import { type FieldDef, parseValue, STANDARD_FIELDS } from './fields.js';

export interface ContactInput {
  email?: string | null;
  phone?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  gender?: string | null;
  birthDate?: string | null;
  city?: string | null;
  department?: string | null;
  country?: string | null;
  fields?: readonly { name: string; value?: string | null }[] | null;
}

/** A contact ready to be written: columns by snake_case name, custom values, its unique value. */
export interface NormalContact {
  columns: Record<string, string | null>;
  custom: Record<string, string | boolean | null>;
  uniqueValue: string | null;
}

const TEXT_LIMITS: Record<string, number> = {
  firstName: 200,
  lastName: 200,
  gender: 20,
  city: 200,
  department: 100,
  country: 100,
};

/** Validates and normalises one contact; throws BAD_USER_INPUT naming the field at fault. */
export function normaliseContact(
  input: ContactInput,
  fields: Map<string, FieldDef>,
  uniqueKey: string,
): NormalContact {
  const columns: Record<string, string | null> = {};
  for (const [name, def] of Object.entries(STANDARD_FIELDS)) {
    const raw = (input as Record<string, unknown>)[name];
    if (raw === undefined) continue;
    if (raw !== null && typeof raw !== 'string') throw badInput(`${name} must be text`, { field: name });
    const text = raw === null ? null : raw.trim() === '' ? null : raw.trim();
    let value: string | null = text;
    if (text !== null) {
      if (name === 'email') value = normaliseEmail(text);
      else if (name === 'phone') value = normalisePhone(text);
      else if (name === 'birthDate') value = parseValue('birthDate', 'DATE', text) as string;
      else if (text.length > (TEXT_LIMITS[name] ?? 200)) {
        throw badInput(`${name} must have at most ${TEXT_LIMITS[name] ?? 200} characters`, { field: name });
      }
    }
    columns[def.column] = value;
  }
  const custom: Record<string, string | boolean | null> = {};
  for (const f of input.fields ?? []) {
    const def = fields.get(f.name);
    if (!def || def.standard) {
      throw badInput(
        `Unknown custom field ${JSON.stringify(f.name)}: define it with defineContactField first`,
        {
          field: f.name,
        },
      );
    }
    custom[f.name] = parseValue(f.name, def.type, f.value ?? null);
  }
  const std = STANDARD_FIELDS[uniqueKey];
  let uniqueValue: string | null;
  if (std) uniqueValue = columns[std.column] ?? null;
  else {
    const v = Object.hasOwn(custom, uniqueKey) ? custom[uniqueKey] : undefined;
    uniqueValue = v === null || v === undefined ? null : String(v);
  }
  if (uniqueValue !== null && std && uniqueKey === 'email') uniqueValue = uniqueValue.toLowerCase();
  return { columns, custom, uniqueValue };
}
