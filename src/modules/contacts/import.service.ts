import type { AuthedContext } from '../../context.js';
import { retryTransaction } from '../../db/retry.js';
import { AppError, badInput, conflict } from '../../shared/errors.js';
import { isUuid } from '../../shared/ids.js';
import type { AccountSettings } from '../account/account.entity.js';
import { mutate } from '../audit/audit.service.js';
import { accountSettings, lockAccountForContactWrite } from './contact.locks.js';
import { type ContactInput, type NormalContact, normaliseContact } from './contact.normalise.js';
import { writeContacts } from './contact.repository.js';
import { type FieldDef, loadFields } from './fields.js';
import { startHeartbeat } from './import.recovery.js';
import {
  finishImport,
  type ImportView,
  insertImport,
  type RowResult,
  saveBatch,
} from './import.repository.js';
import { type ColumnMapping, csvSource, rowsSource, type SourceRow } from './import.source.js';

/** Rows per transaction: big enough for set-based writes, small enough to keep memory flat. */
export const IMPORT_BATCH = 2000;
export const MAX_IMPORT_ROWS = 10_000;
/** Batches written at once. */
const WRITERS = 2;

export interface ImportInput {
  id?: string | null;
  rows?: readonly ContactInput[] | null;
  file?: Blob | null;
  mapping?: readonly ColumnMapping[] | null;
  delimiter?: string | null;
}

interface Plan {
  settings: AccountSettings;
  fields: Map<string, FieldDef>;
}

/**
 * Imports contacts from a list or a CSV upload and returns when every row has a result. Bad
 * input as a whole (no header, unknown mapping target...) is refused before anything is written;
 * after that each batch of rows commits on its own with its row results and the counters, so a
 * huge file never holds one transaction, and a failure half-way leaves the committed batches and
 * an import marked FAILED with its error. One history entry per import, written when it ends.
 */
export async function importContacts(ctx: AuthedContext, input: ImportInput): Promise<ImportView> {
  const accountId = ctx.viewer.accountId;
  if (input.id != null && !isUuid(input.id)) throw badInput('id must be a UUID', { field: 'id' });
  if ((input.rows == null) === (input.file == null))
    throw badInput('Give either rows or a CSV file, not both', { field: 'file' });
  const plan: Plan = {
    settings: await accountSettings(ctx.em, accountId),
    fields: await loadFields(ctx.em, accountId),
  };
  let source: Iterable<SourceRow> | AsyncIterable<SourceRow>;
  let total = 0;
  if (input.rows) {
    if (input.mapping?.length || input.delimiter != null)
      throw badInput('mapping and delimiter apply to a CSV file only', { field: 'mapping' });
    if (input.rows.length > MAX_IMPORT_ROWS)
      throw badInput(`rows takes at most ${MAX_IMPORT_ROWS} contacts; upload a CSV file for more`, {
        field: 'rows',
      });
    source = rowsSource(input.rows);
    total = input.rows.length;
  } else {
    source = await csvSource(input.file as Blob, input.mapping, input.delimiter, plan.fields);
  }
  const created = await insertImport(ctx.em, {
    id: input.id ?? null,
    accountId,
    userId: ctx.viewer.userId,
    source: input.rows ? 'LIST' : 'CSV',
    total,
  });
  // Only the account's own imports are in the way: ids are per account (import.repository.ts).
  if (!created) throw conflict('An import with this id already exists', { field: 'id' });
  publish(ctx, created);
  // While it runs the import says so every few seconds: if this process dies, another one sees
  // the heartbeat stop and marks the import FAILED (import.recovery.ts).
  const heartbeat = startHeartbeat(ctx.app, accountId, created.id);
  try {
    await runBatches(ctx, created.id, source, plan, !input.rows);
  } catch (err) {
    // Masked like any unexpected error: the import shows only a generic message.
    if (!(err instanceof AppError)) ctx.app.logger.error(`import ${created.id} failed`, err);
    const message =
      err instanceof AppError ? err.message : 'Unexpected error; the rows before it were imported';
    return finish(ctx, created.id, 'FAILED', message);
  } finally {
    heartbeat.stop();
  }
  return finish(ctx, created.id, 'DONE', null);
}

async function runBatches(
  ctx: AuthedContext,
  importId: string,
  source: Iterable<SourceRow> | AsyncIterable<SourceRow>,
  plan: Plan,
  countTotal: boolean,
): Promise<void> {
  const inFlight = new Set<{ done: Promise<void>; keys: Set<string> }>();
  let batch: SourceRow[] = [];
  const settle = () => Promise.allSettled([...inFlight].map((w) => w.done));
  // The next batch is read and normalised while earlier ones are written, and up to WRITERS
  // batches write at once (PostgreSQL then uses more than one core). A batch sharing a unique
  // value with one in flight waits for it, so rows with the same key are still written in row
  // order, and two writers never wait on each other's rows.
  const flush = async () => {
    const prepared = prepare(batch, plan);
    batch = [];
    const keys = new Set(prepared.contacts.map((c) => c.uniqueValue).filter((k) => k !== null));
    for (const w of inFlight)
      if (inFlight.size >= WRITERS || [...keys].some((k) => w.keys.has(k))) await w.done;
    const entry = { done: write(ctx, importId, prepared, plan, countTotal), keys };
    inFlight.add(entry);
    entry.done.then(
      () => inFlight.delete(entry),
      () => {}, // kept in the set: the next flush or the end awaits it and sees the error
    );
  };
  try {
    for await (const row of source) {
      batch.push(row);
      if (batch.length >= IMPORT_BATCH) await flush();
    }
    if (batch.length) await flush();
  } catch (err) {
    await settle(); // let the batches in flight settle before the import is marked FAILED
    throw err;
  }
  const failed = (await settle()).find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
}

interface Prepared {
  /** One result per source row; contact ids of written rows are filled in after the write. */
  results: RowResult[];
  contacts: NormalContact[];
  /** For each result, the index in `contacts` it depends on (-1: none). */
  target: number[];
  /** For each contact, the row number that introduced it. */
  firstRow: number[];
}

/** Normalises a batch and folds rows sharing a unique value into the first of them. */
function prepare(rows: SourceRow[], { settings, fields }: Plan): Prepared {
  const p: Prepared = { results: [], contacts: [], target: [], firstRow: [] };
  const byKey = new Map<string, number>();
  for (const row of rows) {
    const reject = (error: string, target = -1) => {
      p.results.push({ rowNumber: row.rowNumber, outcome: 'REJECTED', contactId: null, error });
      p.target.push(target);
    };
    if ('error' in row) {
      reject(row.error);
      continue;
    }
    let c: NormalContact;
    try {
      c = normaliseContact(row.input, fields, settings.uniqueKey);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      reject(err.message);
      continue;
    }
    if (isEmpty(c)) {
      reject('the row has no value');
      continue;
    }
    const first = c.uniqueValue === null ? undefined : byKey.get(c.uniqueValue);
    if (first !== undefined) {
      if (settings.rejectDuplicates) {
        reject(`duplicate of row ${p.firstRow[first]} (same ${settings.uniqueKey})`, first);
        continue;
      }
      foldInto(p.contacts[first], c);
      p.results.push({ rowNumber: row.rowNumber, outcome: 'MERGED', contactId: null, error: null });
      p.target.push(first);
      continue;
    }
    if (c.uniqueValue !== null) byKey.set(c.uniqueValue, p.contacts.length);
    p.target.push(p.contacts.length);
    p.firstRow.push(row.rowNumber);
    p.contacts.push(c);
    p.results.push({ rowNumber: row.rowNumber, outcome: 'CREATED', contactId: null, error: null });
  }
  return p;
}

const isEmpty = (c: NormalContact) =>
  Object.values(c.columns).every((v) => v === null) && Object.values(c.custom).every((v) => v === null);

/** A later row's given values win over the first row's, like a merge into an existing contact. */
function foldInto(into: NormalContact, later: NormalContact): void {
  for (const [k, v] of Object.entries(later.columns)) if (v !== null) into.columns[k] = v;
  for (const [k, v] of Object.entries(later.custom)) if (v !== null) into.custom[k] = v;
}

async function write(
  ctx: AuthedContext,
  importId: string,
  p: Prepared,
  plan: Plan,
  countTotal: boolean,
): Promise<void> {
  // A whole batch is one transaction, rerun on a deadlock (db/retry.ts): each run starts from
  // the prepared results, not from what a failed run wrote into them. When every run lost, the
  // batches before this one stay committed: the import's error must not say nothing was written.
  const view = await retryTransaction(
    () =>
      ctx.em.fork().transactional(async (em) => {
        // The lock order of every contact write (contact.service.ts): the account first. A uniqueKey
        // or rejectDuplicates change since the import started would write rows keyed the old way.
        const now = await lockAccountForContactWrite(em, ctx.viewer.accountId);
        if (
          now.uniqueKey !== plan.settings.uniqueKey ||
          now.rejectDuplicates !== plan.settings.rejectDuplicates
        )
          throw conflict(
            'The unique key settings changed during the import: import the remaining rows again',
          );
        const written = await writeContacts(
          em,
          ctx.viewer.accountId,
          p.contacts,
          plan.settings.rejectDuplicates,
        );
        const results = p.results.map((r) => ({ ...r }));
        results.forEach((r, i) => {
          const t = p.target[i];
          if (t < 0) return;
          const w = written[t];
          r.contactId = w.contactId;
          if (r.outcome === 'REJECTED') return; // a duplicate inside the batch, already explained
          const first = p.firstRow[t] === r.rowNumber;
          if (w.outcome === 'DUPLICATE') {
            r.outcome = 'REJECTED';
            r.error = `a contact with this ${plan.settings.uniqueKey} already exists (contact ${w.contactId})`;
          } else if (first) r.outcome = w.outcome;
        });
        return saveBatch(em, ctx.viewer.accountId, importId, results, countTotal);
      }),
    { exhausted: batchLost },
  );
  publish(ctx, view);
}

/** A batch that lost to concurrent writers on every run, in the wording of the import's errors. */
const batchLost = () =>
  conflict(
    'Concurrent changes got in the way of a batch again and again; the rows before it were imported: import the remaining rows again',
    { reason: 'CONCURRENT_CHANGE' },
  );

async function finish(
  ctx: AuthedContext,
  importId: string,
  status: 'DONE' | 'FAILED',
  error: string | null,
): Promise<ImportView> {
  const view = await mutate(ctx, async ({ em, audit }) => {
    const v = await finishImport(em, ctx.viewer.accountId, importId, status, error);
    audit({
      action: 'importContacts',
      feature: 'CONTACTS',
      objectType: 'ContactImport',
      objectId: importId,
      diff: {
        status: { from: 'RUNNING', to: v.status },
        total: { from: 0, to: v.total },
        created: { from: 0, to: v.created },
        merged: { from: 0, to: v.merged },
        rejected: { from: 0, to: v.rejected },
      },
    });
    return v;
  });
  publish(ctx, view);
  return view;
}

function publish(ctx: AuthedContext, view: ImportView): void {
  ctx.app.pubsub.publish('importProgress', view.accountId, view);
}
