import { builder, need } from '../../builder.js';
import { badInput, notFound } from '../../shared/errors.js';
import { connection, decodeCursor, pageSize, toPage } from '../../shared/pagination.js';
import { IMPORT_OUTCOMES, IMPORT_STATUSES } from './contact.entity.js';
import { CreateContactInput } from './contact.schema.js';
import { importProgress } from './import.progress.js';
import { findImport, type ImportView, listRowResults, type RowResult } from './import.repository.js';
import { IMPORT_BATCH, importContacts, MAX_IMPORT_ROWS } from './import.service.js';

const ImportStatusEnum = builder.enumType('ImportStatus', { values: IMPORT_STATUSES });
const ImportOutcomeEnum = builder.enumType('ImportOutcome', { values: IMPORT_OUTCOMES });

const RowResultRef = builder.objectRef<RowResult>('ContactImportRowResult').implement({
  description: 'What became of one row of an import.',
  fields: (t) => ({
    rowNumber: t.exposeInt('rowNumber', {
      description: 'From 1; in a CSV file the row after the header is 1',
    }),
    outcome: t.field({ type: ImportOutcomeEnum, resolve: (r) => r.outcome }),
    contactId: t.exposeID('contactId', {
      nullable: true,
      description: 'The contact created or merged into; for a rejected duplicate, the contact it duplicates',
    }),
    error: t.exposeString('error', { nullable: true, description: 'Why the row was rejected' }),
  }),
});

export const ContactImportRef = builder.objectRef<ImportView>('ContactImport').implement({
  description: `A bulk import of contacts. Its counters move as batches of ${IMPORT_BATCH} rows commit.`,
  fields: (t) => ({
    id: t.exposeID('id'),
    status: t.field({ type: ImportStatusEnum, resolve: (i) => i.status }),
    source: t.exposeString('source', { description: 'LIST or CSV' }),
    total: t.exposeInt('total', {
      description: 'Rows to import; for a CSV file, the rows read so far until it is DONE',
    }),
    processed: t.exposeInt('processed'),
    created: t.exposeInt('created'),
    merged: t.exposeInt('merged'),
    rejected: t.exposeInt('rejected'),
    error: t.exposeString('error', {
      nullable: true,
      description: 'Why a FAILED import stopped; the rows before it were imported',
    }),
    createdAt: t.field({ type: 'DateTime', resolve: (i) => i.createdAt }),
    finishedAt: t.field({ type: 'DateTime', nullable: true, resolve: (i) => i.finishedAt }),
    results: t.field({
      type: connection('ContactImportRowResult', RowResultRef),
      description: 'Per-row results in row order; at most 200 per page.',
      args: {
        outcome: t.arg({ type: ImportOutcomeEnum, required: false }),
        first: t.arg.int({ required: false }),
        after: t.arg.string({ required: false }),
      },
      resolve: async (imp, args, ctx) => {
        const size = pageSize(args.first);
        const after = decodeCursor(args.after);
        if (after !== null && !/^\d{1,9}$/.test(after))
          throw badInput('after: not a cursor returned by this API');
        const rows = await listRowResults(ctx.em, imp.id, args.outcome ?? null, Number(after ?? 0), size + 1);
        return toPage(rows, size, (r) => String(r.rowNumber));
      },
    }),
  }),
});

const ColumnMappingInput = builder.inputType('ColumnMappingInput', {
  fields: (t) => ({
    column: t.string({ required: true, description: 'A column header of the CSV file' }),
    field: t.string({
      required: false,
      description:
        'email, phone, firstName, lastName, gender, birthDate, city, department, country or a custom field name; null ignores the column',
    }),
  }),
});

const ImportContactsInput = builder.inputType('ImportContactsInput', {
  description: 'Either rows or a CSV file.',
  fields: (t) => ({
    id: t.id({
      required: false,
      description: 'A UUID chosen by the client, so it can subscribe to importProgress before calling',
    }),
    rows: t.field({
      type: [CreateContactInput],
      required: false,
      description: `Contacts given as a list: at most ${MAX_IMPORT_ROWS}`,
    }),
    file: t.field({
      type: 'File',
      required: false,
      description:
        'A CSV file (RFC 4180, UTF-8 or Windows-1252) with a header row, sent as a multipart upload (up to 256 MiB)',
    }),
    mapping: t.field({
      type: [ColumnMappingInput],
      required: false,
      description:
        'CSV column -> field; only the columns listed are imported. Without it a column whose header is a field name (any case) maps to that field',
    }),
    delimiter: t.string({
      required: false,
      description: 'CSV delimiter; by default the most frequent of , ; tab | in the header row',
    }),
  }),
});

builder.mutationField('importContacts', (t) =>
  t.withAuth(need('CONTACTS', 'EDITOR')).field({
    type: ContactImportRef,
    description:
      'Imports contacts and returns when every row has a result. Each row is CREATED, MERGED (into an existing contact or an earlier row with the same unique key) or REJECTED with its reason (bad value, malformed CSV row, duplicate with rejectDuplicates); a bad row never stops the others. A file that cannot be read as CSV, or an unknown mapping, is BAD_USER_INPUT with nothing written.',
    args: { input: t.arg({ type: ImportContactsInput, required: true }) },
    resolve: (_r, { input }, ctx) =>
      importContacts(ctx, { ...input, id: input.id == null ? null : String(input.id) }),
  }),
);

builder.queryField('contactImport', (t) =>
  t.withAuth(need('CONTACTS', 'GUEST')).field({
    type: ContactImportRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, args, ctx) => {
      const found = await findImport(ctx.em, ctx.viewer.accountId, String(args.id));
      if (!found) throw notFound('Import');
      return found;
    },
  }),
);

builder.subscriptionField('importProgress', (t) =>
  t.withAuth(need('CONTACTS', 'GUEST')).field({
    type: ContactImportRef,
    description:
      'The counters of an import of your account: its current state, then after each batch; ends when it is DONE or FAILED.',
    args: { importId: t.arg.id({ required: true }) },
    subscribe: (_r, args, ctx) => importProgress(ctx, String(args.importId)),
    resolve: (v) => v,
  }),
);
