import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { escapeHtml as h } from '../../shared/text.js';
import {
  type FormDefinition,
  type FormField,
  HONEYPOT,
  KEY_FIELD,
  type SurveyQuestion,
} from './form.definition.js';
import type { FieldError, SubmittedValues } from './form.values.js';

/*
 * The public page of a form: plain HTML and one inline style sheet, no script, nothing loaded
 * from anywhere (a strict CSP says so), mobile first (one column, large targets, the inputs'
 * types bring the right keyboards). Accessible: every input has its label, required ones say so
 * in words, errors are linked to their input (aria-describedby, aria-invalid) and summarised
 * at the top with role=alert. The server validates (novalidate): one set of messages, the same
 * for the page and the API. Framable on purpose: embedHtml is an iframe of it.
 */

const HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store, max-age=0',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' https:; base-uri 'none'",
};

const STYLE = `*{box-sizing:border-box}body{font:1rem/1.5 system-ui,sans-serif;margin:0;padding:1rem;color:#1a1a1a;background:#fff}
main{max-width:36rem;margin:0 auto}h1{font-size:1.5rem;margin:.5rem 0 1rem}
.f{margin:0 0 1.25rem}label,legend{display:block;font-weight:600;margin-bottom:.25rem}
input[type=text],input[type=email],input[type=tel],input[type=number],input[type=date],select,textarea{width:100%;font:inherit;padding:.6rem;border:1px solid #767676;border-radius:.25rem}
fieldset{border:0;padding:0;margin:0}.c{display:flex;gap:.5rem;align-items:flex-start;font-weight:400;margin:.25rem 0}
.c input{width:1.25rem;height:1.25rem;margin-top:.15rem}.s .c{display:inline-flex;margin-right:.9rem}[aria-invalid=true]{border-color:#b00020;outline:2px solid #b00020}
.err{color:#b00020;margin:.25rem 0 0}.sum{border:2px solid #b00020;padding:.5rem 1rem;margin-bottom:1rem}
.req{font-weight:400;color:#555}.hp{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}
button{font:inherit;font-weight:600;padding:.75rem 1.5rem;border:0;border-radius:.25rem;background:#0b57d0;color:#fff;width:100%}
@media (min-width:40rem){button{width:auto}}`;

export function htmlPage(
  res: ServerResponse,
  status: number,
  title: string,
  body: string,
  extra: Record<string, string> = {},
): void {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${h(title)}</title><style>${STYLE}</style>
</head><body><main><h1>${h(title)}</h1>${body}</main></body></html>`;
  res.writeHead(status, { ...HEADERS, 'content-length': Buffer.byteLength(html), ...extra });
  res.end(html);
}

const text = (v: unknown) => (typeof v === 'string' ? v : Array.isArray(v) ? String(v[0] ?? '') : '');
const chosen = (v: unknown, option: string) =>
  Array.isArray(v) ? v.includes(option) : typeof v === 'string' && v === option;
const INPUT_TYPES: Record<string, string> = {
  TEXT: 'text',
  EMAIL: 'email',
  PHONE: 'tel',
  NUMBER: 'number',
  DATE: 'date',
};
const AUTOCOMPLETE: Record<string, string> = {
  email: 'email',
  phone: 'tel',
  firstName: 'given-name',
  lastName: 'family-name',
  city: 'address-level2',
  country: 'country-name',
  birthDate: 'bday',
};

function describe(key: string, error: string | undefined): string {
  return error ? ` aria-invalid="true" aria-describedby="e-${h(key)}"` : '';
}
const errorOf = (key: string, error: string | undefined) =>
  error ? `<p class="err" id="e-${h(key)}">${h(error)}</p>` : '';
const mark = (required: boolean) => (required ? ' <span class="req">(required)</span>' : '');

function choiceList(
  key: string,
  label: string,
  required: boolean,
  type: 'radio' | 'checkbox',
  options: string[],
  value: unknown,
  error: string | undefined,
  scale = false,
): string {
  const items = options
    .map(
      (o, i) =>
        `<label class="c"><input type="${type}" name="${h(key)}" value="${h(o)}" id="i-${h(key)}-${i}"${
          chosen(value, o) ? ' checked' : ''
        }${describe(key, error)}> ${h(o)}</label>`,
    )
    .join('');
  return `<fieldset class="f${scale ? ' s' : ''}"><legend>${h(label)}${mark(required)}</legend>${items}${errorOf(key, error)}</fieldset>`;
}

function fieldHtml(f: FormField, value: unknown, error: string | undefined): string {
  const id = `i-${h(f.key)}`;
  const req = f.required ? ' required aria-required="true"' : '';
  switch (f.kind) {
    case 'HIDDEN':
      return `<input type="hidden" name="${h(f.key)}" value="${h(f.defaultValue ?? '')}">`;
    case 'CHECKBOX':
    case 'CONSENT':
      return `<div class="f"><label class="c" for="${id}"><input type="checkbox" id="${id}" name="${h(f.key)}" value="true"${
        value ? ' checked' : ''
      }${req}${describe(f.key, error)}> <span>${h(f.label)}${mark(f.required)}</span></label>${errorOf(f.key, error)}</div>`;
    case 'RADIO':
      return choiceList(f.key, f.label, f.required, 'radio', f.options ?? [], value, error);
    case 'SELECT':
      return `<div class="f"><label for="${id}">${h(f.label)}${mark(f.required)}</label><select id="${id}" name="${h(
        f.key,
      )}"${req}${describe(f.key, error)}><option value="">Choose…</option>${(f.options ?? [])
        .map((o) => `<option${chosen(value, o) ? ' selected' : ''}>${h(o)}</option>`)
        .join('')}</select>${errorOf(f.key, error)}</div>`;
    default: {
      const auto = f.contactField && AUTOCOMPLETE[f.contactField];
      return `<div class="f"><label for="${id}">${h(f.label)}${mark(f.required)}</label><input type="${
        INPUT_TYPES[f.kind] ?? 'text'
      }" id="${id}" name="${h(f.key)}" value="${h(text(value))}"${auto ? ` autocomplete="${auto}"` : ''}${req}${describe(
        f.key,
        error,
      )}>${errorOf(f.key, error)}</div>`;
    }
  }
}

function questionHtml(q: SurveyQuestion, value: unknown, error: string | undefined): string {
  switch (q.kind) {
    case 'SINGLE_CHOICE':
      return choiceList(q.key, q.label, q.required, 'radio', q.options ?? [], value, error);
    case 'MULTIPLE_CHOICE':
      return choiceList(q.key, q.label, q.required, 'checkbox', q.options ?? [], value, error);
    case 'RATING':
    case 'NPS': {
      const lo = q.kind === 'NPS' ? 0 : 1;
      const scale = Array.from({ length: (q.scale ?? 10) - lo + 1 }, (_, i) => String(lo + i));
      return choiceList(q.key, q.label, q.required, 'radio', scale, value, error, true);
    }
    default:
      return `<div class="f"><label for="i-${h(q.key)}">${h(q.label)}${mark(q.required)}</label><textarea id="i-${h(
        q.key,
      )}" name="${h(q.key)}" rows="4"${q.required ? ' required aria-required="true"' : ''}${describe(
        q.key,
        error,
      )}>${h(text(value))}</textarea>${errorOf(q.key, error)}</div>`;
  }
}

/** The form, empty or filled again with the visitor's values and the errors beside their inputs. */
export function formPage(
  res: ServerResponse,
  p: {
    status: number;
    name: string;
    publicId: string;
    definition: FormDefinition;
    values?: SubmittedValues;
    errors?: FieldError[];
    idempotencyKey?: string;
  },
): void {
  const values = p.values ?? {};
  const errors = new Map((p.errors ?? []).map((e) => [e.key, e.message]));
  const summary = errors.size
    ? `<div class="sum" role="alert"><p><strong>Please correct ${
        errors.size === 1 ? 'the field' : `the ${errors.size} fields`
      } below.</strong></p></div>`
    : '';
  const body = `${summary}<form method="post" action="/f/${h(p.publicId)}" novalidate accept-charset="utf-8">
<input type="hidden" name="${KEY_FIELD}" value="${h(p.idempotencyKey ?? randomUUID())}">
<div class="hp" aria-hidden="true"><label for="i-hp">Leave this empty</label><input type="text" id="i-hp" name="${HONEYPOT}" tabindex="-1" autocomplete="off"></div>
${p.definition.fields.map((f) => fieldHtml(f, values[f.key], errors.get(f.key))).join('\n')}
${p.definition.questions.map((q) => questionHtml(q, values[q.key], errors.get(q.key))).join('\n')}
<button type="submit">Send</button></form>`;
  htmlPage(res, p.status, p.name, body);
}

/** The snippet to paste in a site: the page in an iframe, which needs no script on either side. */
export const embedHtml = (publicUrl: string, publicId: string, name: string) =>
  `<iframe src="${h(`${publicUrl}/f/${publicId}`)}" title="${h(name)}" loading="lazy" style="width:100%;max-width:40rem;min-height:36rem;border:0"></iframe>`;
