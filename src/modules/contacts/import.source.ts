import type { WorkerSettings } from '../../config.js';
import { badInput } from '../../shared/errors.js';
import type { ContactInput } from './contact.normalise.js';
import { readCsv } from './csv.js';
import { type FieldDef, STANDARD_FIELDS } from './fields.js';

/** One row to import: the contact it describes, or why it could not be read. */
export type SourceRow = { rowNumber: number; input: ContactInput } | { rowNumber: number; error: string };

export interface ColumnMapping {
  /** A header of the CSV file, as written there. */
  column: string;
  /** A standard field name or a custom field name; null ignores the column. */
  field?: string | null;
}

export function* rowsSource(rows: readonly ContactInput[]): Generator<SourceRow> {
  for (let i = 0; i < rows.length; i++) yield { rowNumber: i + 1, input: rows[i] };
}

/**
 * Opens a CSV upload: reads and checks its header row and the mapping before anything is written
 * (BAD_USER_INPUT on no header, a duplicate header, an unknown column or mapping target, nothing
 * mapped), then yields its rows numbered from 1 after the header.
 */
export async function csvSource(
  file: Blob,
  mapping: readonly ColumnMapping[] | null | undefined,
  delimiter: string | null | undefined,
  fields: Map<string, FieldDef>,
  /** The app's worker settings (ctx.app.config); by default the environment's (src/workers/). */
  workers?: WorkerSettings,
): Promise<AsyncIterable<SourceRow>> {
  if (delimiter != null && (delimiter.length !== 1 || /["\r\n]/.test(delimiter)))
    throw badInput('delimiter must be one character other than a quote or a line break', {
      field: 'delimiter',
    });
  const items = readCsv(file.stream() as ReadableStream<Uint8Array>, delimiter ?? null, workers);
  const first = await items.next();
  if (first.done) throw badInput('file: the file is empty; a header row is expected', { field: 'file' });
  if ('error' in first.value) {
    await items.return(undefined);
    throw badInput(`file: the header row cannot be read (${first.value.error})`, { field: 'file' });
  }
  const header = first.value.fields.map((h) => h.trim());
  let targets: (string | null)[];
  try {
    targets = mapColumns(header, mapping, fields);
  } catch (err) {
    await items.return(undefined);
    throw err;
  }
  return rowsOf(items, header.length, targets, fields);
}

async function* rowsOf(
  items: AsyncGenerator<{ fields: string[] } | { error: string }>,
  width: number,
  targets: (string | null)[],
  fields: Map<string, FieldDef>,
): AsyncGenerator<SourceRow> {
  let rowNumber = 0;
  for await (const item of items) {
    rowNumber++;
    if ('error' in item) yield { rowNumber, error: item.error };
    else if (item.fields.length !== width)
      yield {
        rowNumber,
        error: `malformed CSV: the row has ${item.fields.length} fields, the header has ${width}`,
      };
    else if (item.fields.some((v, i) => targets[i] !== null && v.includes('\0')))
      // PostgreSQL stores no NUL in text: refused here, that row only (a NUL in the first bytes
      // refuses the file as binary, see readCsv).
      yield { rowNumber, error: 'the row holds a NUL character (byte 0), which no field can store' };
    else yield { rowNumber, input: toInput(item.fields, targets, fields) };
  }
}

// Each value is a string of its own (csv.packed.ts copies them out of the batch's text).

function toInput(values: string[], targets: (string | null)[], fields: Map<string, FieldDef>): ContactInput {
  const input: Record<string, unknown> = {};
  const custom: { name: string; value: string }[] = [];
  for (let i = 0; i < targets.length; i++) {
    const target = targets[i];
    if (target === null) continue;
    if (fields.get(target)?.standard) input[target] = values[i];
    else custom.push({ name: target, value: values[i] });
  }
  if (custom.length) input.fields = custom;
  return input as ContactInput;
}

/** The target field of each column (null: ignored). */
function mapColumns(
  header: string[],
  mapping: readonly ColumnMapping[] | null | undefined,
  fields: Map<string, FieldDef>,
): (string | null)[] {
  if (header.every((h) => h === ''))
    throw badInput('file: the first row must be a header naming the columns', { field: 'file' });
  const seen = new Set<string>();
  for (const h of header) {
    if (h !== '' && seen.has(h)) throw badInput(`file: the header names column ${JSON.stringify(h)} twice`);
    seen.add(h);
  }
  let targets: (string | null)[];
  if (mapping?.length) {
    targets = header.map(() => null);
    for (const m of mapping) {
      const index = header.indexOf(m.column.trim());
      if (index < 0)
        throw badInput(`mapping: the file has no column ${JSON.stringify(m.column)}`, { field: 'mapping' });
      if (m.field == null) continue;
      if (!fields.has(m.field))
        throw badInput(
          `mapping: ${JSON.stringify(m.field)} is neither a standard field (${Object.keys(STANDARD_FIELDS).join(', ')}) nor a custom field of the account`,
          { field: 'mapping' },
        );
      targets[index] = m.field;
    }
  } else {
    // Without a mapping a column whose header names a field (in any case) maps to it.
    const byLower = new Map([...fields.keys()].map((k) => [k.toLowerCase(), k]));
    targets = header.map((h) => byLower.get(h.toLowerCase()) ?? null);
  }
  const used = targets.filter((x): x is string => x !== null);
  if (used.length === 0)
    throw badInput(
      'file: no column maps to a contact field; name the columns after fields or give a mapping',
      { field: 'mapping' },
    );
  const twice = used.find((x, i) => used.indexOf(x) !== i);
  if (twice) throw badInput(`mapping: two columns map to ${twice}`, { field: 'mapping' });
  return targets;
}
