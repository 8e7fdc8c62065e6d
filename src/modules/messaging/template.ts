import {
  CaptureTag,
  Context,
  type Emitter,
  Liquid,
  LiquidError,
  type Template,
  toValue,
  toValueSync,
  type Variable,
} from 'liquidjs';
import { badInput } from '../../shared/errors.js';
import { STANDARD_FIELDS } from '../contacts/fields.js';

/**
 * Merge tags: Liquid over `contact.<name>` (standard and custom fields alike, flat, as the account's
 * field map is: the two share one namespace) and `score["<name>"]` (a score by its name; names carry
 * "[SCORE] " so they need the bracket form). See README.md.
 */
export interface MergeEnv {
  fields: Map<string, { name: string; type: 'TEXT' | 'NUMBER' | 'DATE' | 'BOOLEAN' }>;
  scoreNames: Set<string>;
  /** Names that two or more scores of the account share: a merge tag naming one is ambiguous. */
  duplicateScoreNames?: Set<string>;
}

export interface MergeData {
  /** Flat: standard and custom fields by name (contactMergeData builds it from a contact row). */
  contact: Record<string, unknown>;
  /** Score values by score name, as exact decimal strings; a contact without a row scores "0". */
  scores: Record<string, string>;
}

/** Bounds, so that one template cannot stall a sending or a preview. */
export const TEMPLATE_LIMITS = {
  /** Characters of a template (an email's HTML included). */
  sourceChars: 1_000_000,
  /**
   * Milliseconds of one render. An ordinary message renders in well under 1 ms, but a cold JIT on a
   * busy machine took 270 ms for 5,000 loop turns: a tight limit would fail honest templates.
   */
  renderMs: 500,
  /** liquidjs' allocation units (range items, string and array sizes made by filters). */
  memory: 1_000_000,
  /** Characters of one rendered part. */
  outputChars: 2_000_000,
} as const;

/** Tags that read other templates from a file system: there is none, so they do not exist here. */
const FILE_TAGS = ['include', 'render', 'layout'];

/**
 * liquidjs charges the memory limit for filters and ranges but not for capture, so a loop doubling
 * a capture ({% capture s %}{{ s }}{{ s }}{% endcapture %}) built a 2^29-character string in 40 ms.
 * Charging what each capture holds stops it at TEMPLATE_LIMITS.memory.
 */
class BoundedCapture extends CaptureTag {
  override *render(ctx: Context): Generator<unknown, void, string> {
    yield* super.render(ctx);
    const value = (ctx.bottom() as Record<string, unknown>)[this.variable];
    ctx.memoryLimit.use(typeof value === 'string' ? value.length : 0);
  }
}

const stringify = (v: unknown): string => {
  const value = toValue(v);
  if (typeof value === 'string') return value;
  if (value == null) return '';
  if (Array.isArray(value)) return value.map(stringify).join('');
  return String(value);
};

/**
 * The output, refused as soon as it passes TEMPLATE_LIMITS.outputChars: the time limit alone let
 * a loop write 100 MB before it stopped (liquidjs checks the time between templates only).
 */
class BoundedEmitter implements Emitter {
  buffer = '';
  write(html: unknown): void {
    this.buffer += stringify(html);
    if (this.buffer.length > TEMPLATE_LIMITS.outputChars)
      throw new Error(`the rendered message exceeds ${TEMPLATE_LIMITS.outputChars} characters`);
  }
}

function engine(html: boolean): Liquid {
  const liquid = new Liquid({
    // An empty in-memory file system: nothing can be read from disk even if a file tag came back.
    templates: {},
    strictFilters: true,
    strictVariables: false,
    ownPropertyOnly: true,
    // Dates of contacts are calendar dates ("1990-05-17", read as UTC midnight): formatting them in
    // the server's zone would print the day before west of Greenwich. A time zone may be passed as
    // the date filter's second argument.
    timezoneOffset: 0,
    outputEscape: html ? 'escape' : undefined,
    parseLimit: TEMPLATE_LIMITS.sourceChars,
    renderLimit: TEMPLATE_LIMITS.renderMs,
    memoryLimit: TEMPLATE_LIMITS.memory,
    cache: false,
  });
  for (const tag of FILE_TAGS) delete liquid.tags[tag];
  liquid.registerTag('capture', BoundedCapture);
  // `raw` would print a contact's value unescaped into the HTML (stored XSS from a form's input).
  if (html) liquid.unregisterFilter('raw');
  return liquid;
}

const engines = { html: engine(true), plain: engine(false) };
const engineOf = (html: boolean) => (html ? engines.html : engines.plain);

/** A template error naming the part, the line and the column (also in extensions for clients). */
function templateError(part: string, line: number, column: number, what: string) {
  return badInput(`${part}: line ${line}, column ${column}: ${what}`, { part, line, column });
}

/** liquidjs messages end with ", line:L, col:C" and sometimes a source excerpt: keep the cause. */
function causeOf(err: LiquidError): string {
  const first = (err.originalError?.message ?? err.message).split('\n')[0] ?? '';
  return first.replace(/,? ?(file:[^,]*, )?line:\d+, col:\d+$/, '').trim() || 'invalid template';
}

function parse(part: string, source: string, html: boolean): Template[] {
  if (source.length > TEMPLATE_LIMITS.sourceChars)
    throw badInput(`${part}: a template has at most ${TEMPLATE_LIMITS.sourceChars} characters`, { part });
  try {
    return engineOf(html).parse(source);
  } catch (err) {
    if (err instanceof LiquidError) {
      const [line, column] = err.token.getPosition();
      throw templateError(part, line, column, causeOf(err));
    }
    throw err;
  }
}

const segmentText = (s: string | number | Variable) => (typeof s === 'object' ? s.toString() : String(s));

/** Checks one merge tag's variable against the account's fields and scores. */
function checkVariable(part: string, v: Variable, env: MergeEnv): void {
  const at = (what: string) => templateError(part, v.location.row, v.location.col, what);
  const [root, name, ...rest] = v.segments;
  if (root !== 'contact' && root !== 'score')
    throw at(`unknown variable "${segmentText(root ?? '')}": merge tags start with contact. or score`);
  if (name === undefined)
    throw at(`"${root}" needs a name: ${root === 'contact' ? 'contact.firstName' : 'score["[SCORE] Name"]'}`);
  if (typeof name !== 'string')
    throw at(`a ${root === 'contact' ? 'field' : 'score'} name must be written out, not computed`);
  if (root === 'contact' && !env.fields.has(name)) throw at(`unknown field "${name}"`);
  if (root === 'score') {
    if (!env.scoreNames.has(name)) throw at(`unknown score "${name}"`);
    if (env.duplicateScoreNames?.has(name)) throw at(`two scores are named "${name}": rename one`);
  }
  // A value is a string, number, date or boolean: only its size makes sense below it.
  if (rest.length > 1 || (rest.length === 1 && rest[0] !== 'size'))
    throw at(`"${v.toString()}" has no such property (only .size)`);
}

/**
 * Parses and checks a template; throws AppError BAD_USER_INPUT (src/shared/errors.ts badInput) whose
 * message names the part (e.g. 'subject'), the line and the column, for a parse error or an unknown name.
 */
export function checkTemplate(part: string, source: string, env: MergeEnv): void {
  const templates = parse(part, source, part === 'html');
  // Globals only: names bound by assign, capture, for... are the template's own.
  const { globals } = engineOf(part === 'html').analyzeSync(templates, { partials: false });
  const found = Object.values(globals).flat();
  found.sort((a, b) => a.location.row - b.location.row || a.location.col - b.location.col);
  for (const v of found) checkVariable(part, v, env);
}

export interface CompiledTemplate {
  render(data: MergeData): string;
}

/**
 * Parses once for many renders (a sending renders the same template for every recipient). Render
 * errors (limits, a failing filter) are BAD_USER_INPUT naming the part.
 */
export function compileTemplate(part: string, source: string, opts: { html: boolean }): CompiledTemplate {
  const templates = parse(part, source, opts.html);
  const liquid = engineOf(opts.html);
  return {
    render(data) {
      try {
        const ctx = new Context(
          { contact: data.contact, score: data.scores },
          liquid.options,
          { sync: true },
          { liquid },
        );
        return toValueSync(liquid.renderer.renderTemplates(templates, ctx, new BoundedEmitter())) as string;
      } catch (err) {
        if (err instanceof LiquidError) {
          const [line, column] = err.token.getPosition();
          throw templateError(part, line, column, causeOf(err));
        }
        throw err;
      }
    },
  };
}

/** Renders with HTML escaping on (part 'html') or plain (text, subject, sms). Bounded: no includes/layouts
 * from the filesystem, no infinite loops (limit render time/ops, output size). */
export function renderTemplate(
  part: string,
  source: string,
  data: MergeData,
  opts: { html: boolean },
): Promise<string> | string {
  return compileTemplate(part, source, opts).render(data);
}

/**
 * MergeData.contact from a contact: an entity or a raw row (snake_case columns, as the contact
 * repository's SQL returns them; dates come as 'YYYY-MM-DD' strings), and its custom `fields` jsonb.
 * Only fields are copied, so ids and internal columns are not reachable even by a custom name.
 */
export function contactMergeData(row: Record<string, unknown> & { fields?: Record<string, unknown> | null }) {
  const out: Record<string, unknown> = { ...(row.fields ?? {}) };
  // Standard names win: a custom field cannot take one (contact.service refuses it) anyway.
  for (const [name, { column }] of Object.entries(STANDARD_FIELDS))
    out[name] = row[name] ?? row[column] ?? null;
  return out;
}
