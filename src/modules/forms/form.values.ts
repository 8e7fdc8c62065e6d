import { AppError } from '../../shared/errors.js';
import type { ContactInput } from '../contacts/contact.normalise.js';
import { isCalendarDate, STANDARD_FIELDS } from '../contacts/fields.js';
import { normaliseEmail, normalisePhone } from '../users/credentials.js';
import {
  type FormDefinition,
  type FormField,
  MAX_TEXT_VALUE,
  type SurveyQuestion,
} from './form.definition.js';

/** What a visitor sent: by key, text, a list of texts (several choices), or a yes/no. */
export type SubmittedValues = Record<string, unknown>;
export type Answer = string | number | boolean | string[];

export interface FieldError {
  key: string;
  message: string;
}

export interface CheckedValues {
  contact: ContactInput;
  answers: Record<string, Answer>;
  /** CONSENT fields ticked: their key and the text consented to, as the version shows it. */
  consents: { key: string; text: string }[];
}

export const MAX_VALUES = 200;
const YES = new Set(['true', 'on', 'yes', '1']);

const one = (v: unknown): unknown => (Array.isArray(v) ? (v.length === 1 ? v[0] : v) : v);
const blank = (v: unknown) =>
  v === undefined ||
  v === null ||
  (typeof v === 'string' && v.trim() === '') ||
  (Array.isArray(v) && !v.length);

/**
 * Checks the values against a published definition and shapes them: the contact's fields, the
 * answers to store, the consents. Every problem is collected, so a page can show each one beside
 * its input; `FormValueError` carries them (BAD_USER_INPUT with `fields`).
 */
export function checkValues(d: FormDefinition, values: SubmittedValues): CheckedValues {
  const errors: FieldError[] = [];
  const known = new Set([...d.fields, ...d.questions].map((f) => f.key));
  const given = Object.keys(values);
  if (given.length > MAX_VALUES) throw new FormValueError([{ key: '_', message: 'Too many values' }]);
  for (const k of given)
    if (!k.startsWith('_') && !known.has(k)) errors.push({ key: k, message: 'Not a field of this form' });
  const out: CheckedValues = { contact: {}, answers: {}, consents: [] };
  const custom: { name: string; value: string | null }[] = [];
  for (const f of d.fields) {
    const raw = f.kind === 'HIDDEN' && blank(values[f.key]) ? f.defaultValue : values[f.key];
    const checked = checkField(f, raw);
    if (isError(checked)) {
      errors.push({ key: f.key, message: checked.error });
      continue;
    }
    if (checked === null) continue;
    out.answers[f.key] = checked;
    if (f.kind === 'CONSENT' && checked === true) out.consents.push({ key: f.key, text: f.label });
    if (!f.contactField) continue;
    const text = String(checked);
    if (STANDARD_FIELDS[f.contactField]) (out.contact as Record<string, string>)[f.contactField] = text;
    else custom.push({ name: f.contactField, value: text });
  }
  for (const q of d.questions) {
    const checked = checkQuestion(q, values[q.key]);
    if (isError(checked)) errors.push({ key: q.key, message: checked.error });
    else if (checked !== null) out.answers[q.key] = checked;
  }
  if (custom.length) out.contact.fields = custom;
  if (errors.length) throw new FormValueError(errors);
  return out;
}

type Checked = Answer | null | { error: string };
const isError = (c: Checked): c is { error: string } =>
  typeof c === 'object' && c !== null && !Array.isArray(c) && 'error' in c;

function checkField(f: FormField, raw: unknown): Checked {
  if (f.kind === 'CHECKBOX' || f.kind === 'CONSENT') {
    const v = one(raw);
    const yes = v === true || (typeof v === 'string' && YES.has(v.trim().toLowerCase()));
    if (f.required && !yes) return { error: f.kind === 'CONSENT' ? 'Your consent is needed' : 'Required' };
    return yes;
  }
  const v = one(raw);
  if (blank(v)) return f.required ? { error: 'Required' } : null;
  if (typeof v !== 'string') return { error: 'Must be text' };
  const s = v.trim();
  if (s.length > MAX_TEXT_VALUE) return { error: `At most ${MAX_TEXT_VALUE} characters` };
  switch (f.kind) {
    case 'EMAIL':
      try {
        return normaliseEmail(s);
      } catch {
        return { error: 'Enter a valid email address' };
      }
    case 'PHONE':
      try {
        return normalisePhone(s) as string;
      } catch {
        return { error: 'Enter a valid phone number' };
      }
    case 'NUMBER': {
      const n = Number(s.replace(',', '.'));
      if (!/^-?\d+([.,]\d+)?$/.test(s) || !Number.isFinite(n)) return { error: 'Enter a number' };
      if (f.min !== null && n < f.min) return { error: `At least ${f.min}` };
      if (f.max !== null && n > f.max) return { error: `At most ${f.max}` };
      return n;
    }
    case 'DATE':
      return isCalendarDate(s) ? s : { error: 'Enter a date (YYYY-MM-DD)' };
    case 'SELECT':
    case 'RADIO':
      return f.options?.includes(s) ? s : { error: 'Choose one of the options' };
    default: {
      if (f.min !== null && s.length < f.min) return { error: `At least ${f.min} characters` };
      if (f.max !== null && s.length > f.max) return { error: `At most ${f.max} characters` };
      return s;
    }
  }
}

function checkQuestion(q: SurveyQuestion, raw: unknown): Checked {
  if (blank(raw)) return q.required ? { error: 'Required' } : null;
  if (q.kind === 'MULTIPLE_CHOICE') {
    const list = Array.isArray(raw) ? raw : [raw];
    if (list.some((x) => typeof x !== 'string' || !q.options?.includes(x)))
      return { error: 'Choose among the options' };
    return [...new Set(list as string[])];
  }
  const v = one(raw);
  if (typeof v !== 'string' && typeof v !== 'number') return { error: 'Must be text' };
  const s = String(v).trim();
  switch (q.kind) {
    case 'SINGLE_CHOICE':
      return q.options?.includes(s) ? s : { error: 'Choose one of the options' };
    case 'RATING':
    case 'NPS': {
      const lo = q.kind === 'NPS' ? 0 : 1;
      const hi = q.scale ?? 10;
      const n = Number(s);
      return /^\d{1,2}$/.test(s) && n >= lo && n <= hi ? n : { error: `A whole number from ${lo} to ${hi}` };
    }
    default:
      return s.length > MAX_TEXT_VALUE ? { error: `At most ${MAX_TEXT_VALUE} characters` } : s;
  }
}

/** BAD_USER_INPUT with one message per field at fault, in `extensions.fields`. */
export class FormValueError extends AppError {
  constructor(readonly problems: FieldError[]) {
    super(
      'BAD_USER_INPUT',
      `Some values are not right: ${problems.map((p) => `${p.key}: ${p.message}`).join('; ')}`.slice(0, 2000),
      { fields: problems.slice(0, MAX_VALUES) },
    );
  }
}
