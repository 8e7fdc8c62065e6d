import { builder, need } from '../../builder.js';
import { describedValues } from '../../shared/enum-values.js';
import { badInput, notFound } from '../../shared/errors.js';
import { connection, decodeCursor, pageSize, toPage } from '../../shared/pagination.js';
import { IMPORT_OUTCOMES, IMPORT_STATUSES } from './contact.entity.js';
import { CreateContactInput } from './contact.schema.js';
import { importProgress } from './import.progress.js';
import { findImport, type ImportView, listRowResults, type RowResult } from './import.repository.js';
import { IMPORT_BATCH, importContacts, MAX_IMPORT_ROWS } from './import.service.js';

const ImportStatusEnum = builder.enumType('ImportStatus', {
  description: 'Where an import is.',
  values: describedValues(IMPORT_STATUSES, {
    RUNNING: 'Rows are being read and written; the counters move batch by batch',
    DONE: 'Every row has a result',
    FAILED: 'Stopped early (see error); the batches before it are imported',
  }),
});
const ImportOutcomeEnum = builder.enumType('ImportOutcome', {
  description: 'What became of one row.',
  values: describedValues(IMPORT_OUTCOMES, {
    CREATED: 'A new contact was created',
    MERGED: 'Merged into an existing contact (or an earlier row) with the same unique key',
    REJECTED: 'Not imported: a bad value, a malformed CSV row, or a duplicate with rejectDuplicates',
  }),
});

const RowResultRef = builder.objectRef<RowResult>('ContactImportRowResult').implement({
  description:
    'What became of one row of an import. Written once and read only through its import, page by page: an embedded value with no id (rowNumber is unique within the import).',
  fields: (t) => ({
    rowNumber: t.exposeInt('rowNumber', {
      description: 'From 1; in a CSV file the row after the header is 1',
    }),
    outcome: t.field({
      type: ImportOutcomeEnum,
      description: 'What became of it',
      resolve: (r) => r.outcome,
    }),
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
    id: t.exposeID('id', { description: 'A UUID, chosen by the client or by the server' }),
    status: t.field({ type: ImportStatusEnum, description: 'Where the import is', resolve: (i) => i.status }),
    source: t.exposeString('source', { description: 'LIST or CSV' }),
    total: t.exposeInt('total', {
      description: 'Rows to import; for a CSV file, the rows read so far until it is DONE',
    }),
    processed: t.exposeInt('processed', {
      description: 'Rows with a result so far: created + merged + rejected',
    }),
    created: t.exposeInt('created', { description: 'Rows that created a contact' }),
    merged: t.exposeInt('merged', { description: 'Rows merged into an existing contact' }),
    rejected: t.exposeInt('rejected', { description: 'Rows not imported' }),
    error: t.exposeString('error', {
      nullable: true,
      description: 'Why a FAILED import stopped; the rows before it were imported',
    }),
    createdAt: t.field({ type: 'DateTime', description: 'When it started', resolve: (i) => i.createdAt }),
    finishedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When it became DONE or FAILED; null while RUNNING',
      resolve: (i) => i.finishedAt,
    }),
    results: t.field({
      type: connection('ContactImportRowResult', RowResultRef),
      description: 'Per-row results in row order; at most 200 per page.',
      args: {
        outcome: t.arg({
          type: ImportOutcomeEnum,
          required: false,
          description: 'Only rows with this outcome',
        }),
        first: t.arg.int({ required: false, description: 'Rows per page, 1 to 200, default 50' }),
        after: t.arg.string({
          required: false,
          description: 'The endCursor (or an edge cursor) of the previous page',
        }),
      },
      resolve: async (imp, args, ctx) => {
        const size = pageSize(args.first);
        const after = decodeCursor(args.after);
        if (after !== null && !/^\d{1,9}$/.test(after))
          throw badInput('after: not a cursor returned by this API');
        const rows = await listRowResults(
          ctx.em,
          imp.accountId,
          imp.id,
          args.outcome ?? null,
          Number(after ?? 0),
          size + 1,
        );
        return toPage(rows, size, (r) => String(r.rowNumber));
      },
    }),
  }),
});

const ColumnMappingInput = builder.inputType('ColumnMappingInput', {
  description: 'Where one CSV column goes.',
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
      description:
        "A UUID chosen by the client, so it can subscribe to importProgress before calling; unique within the account (CONFLICT if the account already used it; other accounts' ids are not in the way)",
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
      'Imports contacts and returns when every row has a result. Each row is CREATED, MERGED (into an existing contact or an earlier row with the same unique key) or REJECTED with its reason (bad value, malformed CSV row, duplicate with rejectDuplicates); a bad row never stops the others. A file that cannot be read as CSV, or an unknown mapping, is BAD_USER_INPUT with nothing written. The contacts written are not returned (results lists their ids): refetch cached contact lists.',
    args: {
      input: t.arg({ type: ImportContactsInput, required: true, description: 'The rows or the file' }),
    },
    resolve: (_r, { input }, ctx) =>
      importContacts(ctx, { ...input, id: input.id == null ? null : String(input.id) }),
  }),
);

builder.queryField('contactImport', (t) =>
  t.withAuth(need('CONTACTS', 'GUEST')).field({
    type: ContactImportRef,
    nullable: true,
    description:
      "One import of the account, with its counters and row results; NOT_FOUND for unknown ids, including other accounts'.",
    args: { id: t.arg.id({ required: true, description: 'The import' }) },
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
    args: {
      importId: t.arg.id({
        required: true,
        description: 'The import (its id may be chosen before it starts)',
      }),
    },
    subscribe: (_r, args, ctx) => importProgress(ctx, String(args.importId)),
    resolve: (v) => v,
  }),
);
