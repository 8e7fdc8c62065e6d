import { createHash } from 'node:crypto';
import { badInput } from '../../shared/errors.js';
import { type FieldDef, STANDARD_FIELDS } from '../contacts/fields.js';
import { hasControlChars } from '../events/tracking.token.js';

/*
 * What a form is made of, as stored in `form.draft` and `form_version.definition` (JSON), and
 * its validation. A definition is checked whole at every save (shape, sizes, keys) and against
 * the account's contact fields at publication (a custom field may have been dropped since).
 */

export const FORM_KINDS = ['FORM', 'SURVEY'] as const;
export type FormKind = (typeof FORM_KINDS)[number];

export const FORM_STATUSES = ['DRAFT', 'PUBLISHED', 'UNPUBLISHED', 'CLOSED'] as const;
export type FormStatus = (typeof FORM_STATUSES)[number];

export const FIELD_KINDS = [
  'TEXT',
  'EMAIL',
  'PHONE',
  'NUMBER',
  'DATE',
  'CHECKBOX',
  'SELECT',
  'RADIO',
  'HIDDEN',
  'CONSENT',
] as const;
export type FieldKind = (typeof FIELD_KINDS)[number];

export const QUESTION_KINDS = ['SINGLE_CHOICE', 'MULTIPLE_CHOICE', 'TEXT', 'RATING', 'NPS'] as const;
export type QuestionKind = (typeof QUESTION_KINDS)[number];

export interface FormField {
  key: string;
  kind: FieldKind;
  label: string;
  required: boolean;
  /** The contact field it fills (email, firstName, a custom field's name), or none. */
  contactField: string | null;
  /** SELECT and RADIO: the choices. */
  options: string[] | null;
  /** TEXT: lengths; NUMBER: values. */
  min: number | null;
  max: number | null;
  /** HIDDEN: the value the page carries (a campaign name, a source). */
  defaultValue: string | null;
}

export interface SurveyQuestion {
  key: string;
  kind: QuestionKind;
  label: string;
  required: boolean;
  options: string[] | null;
  /** RATING: 5 or 10. */
  scale: number | null;
}

export interface FormSettings {
  /** Shown after a submission, unless redirectUrl is set. */
  successMessage: string;
  redirectUrl: string | null;
  doubleOptIn: boolean;
  submissionLimit: number | null;
  opensAt: string | null;
  closesAt: string | null;
  /** Surveys: a contact answers once. */
  onePerContact: boolean;
}

export interface FormDefinition {
  fields: FormField[];
  questions: SurveyQuestion[];
  settings: FormSettings;
}

export const MAX_FIELDS = 50;
export const MAX_QUESTIONS = 50;
export const MAX_OPTIONS = 50;
export const MAX_LABEL = 500;
export const MAX_TEXT_VALUE = 5000;
/** Keys name inputs in the page and answers in exports; `_` starts the reserved ones. */
export const KEY = /^[a-zA-Z][a-zA-Z0-9_]{0,39}$/;
/** The honeypot and the idempotency key of the HTML page: reserved, never a field. */
export const HONEYPOT = '_homepage';
export const KEY_FIELD = '_key';

export const DEFAULT_SETTINGS: FormSettings = {
  successMessage: 'Thank you!',
  redirectUrl: null,
  doubleOptIn: false,
  submissionLimit: null,
  opensAt: null,
  closesAt: null,
  onePerContact: false,
};

type Raw = Record<string, unknown>;
const text = (v: unknown, what: string, max: number, required = true): string | null => {
  if (v === undefined || v === null || (typeof v === 'string' && v.trim() === '')) {
    if (required) throw badInput(`${what} is required`, { field: what });
    return null;
  }
  if (typeof v !== 'string') throw badInput(`${what} must be text`, { field: what });
  if (v.length > max) throw badInput(`${what} must have at most ${max} characters`, { field: what });
  return v.trim();
};
const int = (v: unknown, what: string, min: number, max: number): number | null => {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
    throw badInput(`${what} must be a number from ${min} to ${max}`, { field: what });
  return v;
};
const choices = (v: unknown, what: string): string[] | null => {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_OPTIONS)
    throw badInput(`${what} must list 1 to ${MAX_OPTIONS} choices`, { field: what });
  const out = v.map((o, i) => text(o, `${what}[${i}]`, 200) as string);
  if (new Set(out).size !== out.length) throw badInput(`${what} lists a choice twice`, { field: what });
  return out;
};
function oneOf<T extends string>(v: unknown, values: readonly T[], what: string): T {
  if (typeof v !== 'string' || !values.includes(v as T))
    throw badInput(`${what} must be one of ${values.join(', ')}`, { field: what });
  return v as T;
}

export function checkField(raw: Raw, i: number): FormField {
  const at = `fields[${i}]`;
  const key = text(raw.key, `${at}.key`, 40) as string;
  if (!KEY.test(key)) throw badInput(`${at}.key must be a letter then letters, digits or _`, { field: at });
  const kind = oneOf(raw.kind, FIELD_KINDS, `${at}.kind`);
  const options = choices(raw.options, `${at}.options`);
  if ((kind === 'SELECT' || kind === 'RADIO') && !options)
    throw badInput(`${at}: a ${kind} field needs options`, { field: at });
  const contactField = text(raw.contactField, `${at}.contactField`, 63, false);
  if (kind === 'EMAIL' && contactField && contactField !== 'email')
    throw badInput(`${at}: an EMAIL field fills the contact's email`, { field: at });
  if (kind === 'CONSENT' && contactField)
    throw badInput(`${at}: a CONSENT field is stored with the submission, not on the contact`, { field: at });
  const min = int(raw.min, `${at}.min`, -1e12, 1e12);
  const max = int(raw.max, `${at}.max`, -1e12, 1e12);
  if (min !== null && max !== null && min > max) throw badInput(`${at}: min is above max`, { field: at });
  return {
    key,
    kind,
    label: text(raw.label, `${at}.label`, MAX_LABEL) as string,
    required: raw.required === true,
    contactField: kind === 'EMAIL' ? 'email' : kind === 'PHONE' ? (contactField ?? 'phone') : contactField,
    options: kind === 'SELECT' || kind === 'RADIO' ? options : null,
    min,
    max,
    defaultValue: text(raw.defaultValue, `${at}.defaultValue`, 500, false),
  };
}

export function checkQuestion(raw: Raw, i: number): SurveyQuestion {
  const at = `questions[${i}]`;
  const key = text(raw.key, `${at}.key`, 40) as string;
  if (!KEY.test(key)) throw badInput(`${at}.key must be a letter then letters, digits or _`, { field: at });
  const kind = oneOf(raw.kind, QUESTION_KINDS, `${at}.kind`);
  const options = choices(raw.options, `${at}.options`);
  if ((kind === 'SINGLE_CHOICE' || kind === 'MULTIPLE_CHOICE') && !options)
    throw badInput(`${at}: a ${kind} question needs options`, { field: at });
  const scale = kind === 'RATING' ? (int(raw.scale, `${at}.scale`, 5, 10) ?? 5) : kind === 'NPS' ? 10 : null;
  if (kind === 'RATING' && scale !== 5 && scale !== 10)
    throw badInput(`${at}.scale must be 5 or 10`, { field: at });
  return {
    key,
    kind,
    label: text(raw.label, `${at}.label`, MAX_LABEL) as string,
    required: raw.required === true,
    options: kind === 'SINGLE_CHOICE' || kind === 'MULTIPLE_CHOICE' ? options : null,
    scale,
  };
}

function checkDate(v: unknown, what: string): string | null {
  if (v === undefined || v === null) return null;
  const d = v instanceof Date ? v : typeof v === 'string' ? new Date(v) : null;
  if (!d || Number.isNaN(d.getTime())) throw badInput(`${what} must be a date and time`, { field: what });
  return d.toISOString();
}

export function checkSettings(raw: Raw | null | undefined, kind: FormKind): FormSettings {
  const r = raw ?? {};
  const redirectUrl = text(r.redirectUrl, 'settings.redirectUrl', 2000, false);
  if (redirectUrl) {
    let u: URL | null = null;
    try {
      u = new URL(redirectUrl);
    } catch {}
    if (u?.protocol !== 'https:' || hasControlChars(redirectUrl))
      throw badInput('settings.redirectUrl must be an https URL', { field: 'settings.redirectUrl' });
  }
  const s: FormSettings = {
    successMessage:
      text(r.successMessage, 'settings.successMessage', 2000, false) ?? DEFAULT_SETTINGS.successMessage,
    redirectUrl,
    doubleOptIn: r.doubleOptIn === true,
    submissionLimit: int(r.submissionLimit, 'settings.submissionLimit', 1, 10_000_000),
    opensAt: checkDate(r.opensAt, 'settings.opensAt'),
    closesAt: checkDate(r.closesAt, 'settings.closesAt'),
    onePerContact: kind === 'SURVEY' && r.onePerContact === true,
  };
  if (s.opensAt && s.closesAt && s.opensAt >= s.closesAt)
    throw badInput('settings.closesAt must be after opensAt', { field: 'settings.closesAt' });
  return s;
}

/** A whole definition, checked: sizes, kinds, keys unique across fields and questions. */
export function checkDefinition(
  kind: FormKind,
  raw: { fields?: unknown; questions?: unknown; settings?: unknown },
): FormDefinition {
  const list = (v: unknown, what: string, max: number): Raw[] => {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || v.length > max) throw badInput(`${what}: at most ${max}`, { field: what });
    return v.map((x) => (x && typeof x === 'object' ? (x as Raw) : {}));
  };
  const fields = list(raw.fields, 'fields', MAX_FIELDS).map(checkField);
  const questions = list(raw.questions, 'questions', MAX_QUESTIONS).map(checkQuestion);
  if (kind === 'FORM' && questions.length)
    throw badInput('questions belong to surveys (kind SURVEY)', { field: 'questions' });
  const keys = [...fields, ...questions].map((f) => f.key);
  const twice = keys.find((k, i) => keys.indexOf(k) !== i);
  if (twice) throw badInput(`the key ${twice} is used twice`, { field: 'fields' });
  const targets = fields.map((f) => f.contactField).filter((c): c is string => c !== null);
  const again = targets.find((c, i) => targets.indexOf(c) !== i);
  if (again) throw badInput(`two fields fill the contact's ${again}`, { field: 'fields' });
  return { fields, questions, settings: checkSettings(raw.settings as Raw, kind) };
}

/**
 * What publication adds: every contact field exists (a custom one may have been dropped since the
 * draft was saved), and the account's uniqueness key is asked, required, so a submission merges
 * into its contact instead of making a duplicate (mautic#928). Returns the problems, for a CONFLICT.
 */
export function publicationProblems(
  d: FormDefinition,
  fields: Map<string, FieldDef>,
  uniqueKey: string,
): string[] {
  const problems: string[] = [];
  for (const f of d.fields) {
    if (f.contactField && !fields.has(f.contactField) && !STANDARD_FIELDS[f.contactField])
      problems.push(`field ${f.key} fills ${f.contactField}, which is not a contact field`);
    if (f.contactField && fields.get(f.contactField)?.type === 'BOOLEAN' && f.kind !== 'CHECKBOX')
      problems.push(`field ${f.key} fills a yes/no contact field: make it a CHECKBOX`);
  }
  const key = d.fields.find((f) => f.contactField === uniqueKey);
  if (!key?.required || key.kind === 'HIDDEN')
    problems.push(`the account identifies contacts by ${uniqueKey}: the form needs a required field for it`);
  if (d.settings.doubleOptIn && !d.fields.some((f) => f.contactField === 'email'))
    problems.push('double opt-in sends a confirmation email: the form needs an email field');
  if (d.fields.length + d.questions.length === 0) problems.push('the form has nothing to fill in');
  return problems;
}

export const definitionHash = (d: FormDefinition) =>
  createHash('sha256').update(JSON.stringify(d)).digest('hex');
