import { randomUUID } from 'node:crypto';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuditLogDocument,
  ContactImportDocument,
  DefineContactFieldDocument,
  ImportContactsDocument,
  type ImportContactsMutation,
  ImportProgressDocument,
  type ImportProgressSubscription,
  UpdateAccountSettingsDocument,
} from '../../../test/generated/graphql.js';
import {
  type Actor,
  code,
  type GqlResult,
  nextResults,
  ok,
  signUpOwner,
  startTestApp,
  type TestApp,
  viewerWith,
} from '../../../test/harness.js';
import { waitUntil } from '../../../test/wait.js';
import { viewerFromToken } from '../users/auth.service.js';
import { importContacts } from './import.service.js';

let t: TestApp;
let owner: Actor;

beforeAll(async () => {
  t = await startTestApp();
  owner = await signUpOwner(t);
  ok(await t.gql(DefineContactFieldDocument, { input: { name: 'revenue', type: 'NUMBER' } }, owner.token));
});
afterAll(() => t.close());

/** A GraphQL multipart request (operations, map, file part), as browsers and clients send it. */
async function upload(
  token: string,
  csv: string | Uint8Array<ArrayBuffer>,
  input: Record<string, unknown> = {},
): Promise<GqlResult<ImportContactsMutation>> {
  const form = new FormData();
  const query = print(ImportContactsDocument);
  form.append('operations', JSON.stringify({ query, variables: { input: { ...input, file: null } } }));
  form.append('map', JSON.stringify({ 0: ['variables.input.file'] }));
  form.append('0', new Blob([csv], { type: 'text/csv' }), 'contacts.csv');
  const res = await fetch(t.url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, accept: 'application/graphql-response+json' },
    body: form,
  });
  return { ...((await res.json()) as object), status: res.status };
}

async function results(token: string, id: string, outcome?: 'CREATED' | 'MERGED' | 'REJECTED') {
  return ok(await t.gql(ContactImportDocument, { id, outcome, first: 200 }, token)).contactImport!.results
    .nodes;
}

const count = async (sql: string, params: unknown[] = []) =>
  (await t.sql.query(`select count(*)::int as n from ${sql}`, params)).rows[0].n as number;

describe('importContacts from a list', () => {
  it('reports each row as created, merged or rejected with its reason; one history entry', async () => {
    const existing = ok(
      await t.gql(ImportContactsDocument, { input: { rows: [{ email: 'old@list.test' }] } }, owner.token),
    ).importContacts;
    expect(existing).toMatchObject({ status: 'DONE', created: 1 });
    const imp = ok(
      await t.gql(
        ImportContactsDocument,
        {
          input: {
            rows: [
              { email: 'a@list.test', firstName: 'Ann', fields: [{ name: 'revenue', value: '12.5' }] },
              { email: 'not an email' },
              { email: 'OLD@list.test', city: 'Lyon' },
              { email: 'a@list.test', lastName: 'Smith' },
              { email: 'b@list.test', fields: [{ name: 'nope', value: 'x' }] },
              {},
            ],
          },
        },
        owner.token,
      ),
    ).importContacts;
    expect(imp).toMatchObject({ status: 'DONE', source: 'LIST', total: 6, processed: 6 });
    expect(imp).toMatchObject({ created: 1, merged: 2, rejected: 3 });
    const rows = await results(owner.token, imp.id);
    expect(rows.map((r) => r.outcome)).toEqual([
      'CREATED',
      'REJECTED',
      'MERGED',
      'MERGED',
      'REJECTED',
      'REJECTED',
    ]);
    expect(rows[1].error).toMatch(/email/i);
    expect(rows[4].error).toMatch(/Unknown custom field "nope"/);
    expect(rows[5].error).toBe('the row has no value');
    expect(rows[3].contactId).toBe(rows[0].contactId);
    const { rows: c } = await t.sql.query(
      `select email, first_name, last_name, city, fields from contact where email in ('a@list.test', 'old@list.test') order by email`,
    );
    expect(c).toMatchObject([
      { email: 'a@list.test', first_name: 'Ann', last_name: 'Smith', fields: { revenue: '12.5' } },
      { email: 'old@list.test', city: 'Lyon' },
    ]);
    expect((await results(owner.token, imp.id, 'REJECTED')).map((r) => r.rowNumber)).toEqual([2, 5, 6]);
    const log = ok(await t.gql(AuditLogDocument, { filter: { objectId: imp.id } }, owner.token)).auditLog
      .nodes;
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ action: 'importContacts', objectType: 'ContactImport' });
    expect(log[0].diff).toMatchObject({ created: { to: 1 }, merged: { to: 2 }, rejected: { to: 3 } });
  });

  it('with rejectDuplicates, rejects duplicates of existing contacts and of earlier rows', async () => {
    const other = await signUpOwner(t, 'Strict');
    ok(await t.gql(UpdateAccountSettingsDocument, { input: { rejectDuplicates: true } }, other.token));
    ok(await t.gql(ImportContactsDocument, { input: { rows: [{ email: 'x@strict.test' }] } }, other.token));
    const imp = ok(
      await t.gql(
        ImportContactsDocument,
        {
          input: {
            rows: [{ email: 'y@strict.test' }, { email: 'X@strict.test' }, { email: 'y@strict.test' }],
          },
        },
        other.token,
      ),
    ).importContacts;
    expect(imp).toMatchObject({ created: 1, merged: 0, rejected: 2 });
    const rows = await results(other.token, imp.id);
    expect(rows[1]).toMatchObject({ outcome: 'REJECTED', error: expect.stringMatching(/already exists/) });
    expect(rows[2]).toMatchObject({ outcome: 'REJECTED', error: 'duplicate of row 1 (same email)' });
    expect(rows[2].contactId).toBe(rows[0].contactId);
  });

  it('a GUEST cannot import and nothing is written', async () => {
    const guest = await viewerWith(t, owner, { CONTACTS: 'GUEST' });
    const before = [await count('contact'), await count('contact_import')];
    const r = await t.gql(
      ImportContactsDocument,
      { input: { rows: [{ email: 'g@guest.test' }] } },
      guest.token,
    );
    expect(code(r)).toBe('FORBIDDEN');
    expect(code(await upload(guest.token, 'email\ng2@guest.test\n'))).toBe('FORBIDDEN');
    expect([await count('contact'), await count('contact_import')]).toEqual(before);
  });
});

describe('importContacts from a CSV upload', () => {
  it('maps columns, reads quotes, CRLF, BOM and ; and rejects malformed rows only', async () => {
    const csv =
      '\uFEFFE-mail;Prénom;Ville;CA;Ignored\r\n' +
      'c1@csv.test;"Jean; ""Jo"" Paul";Paris;10,5;x\r\n' +
      'c2@csv.test;Marie;"Saint-\r\nDenis";;x\r\n' +
      'c3@csv.test;Too;Many;1;x;extra\r\n' +
      'c4@csv.test;"Bad"quote;Nice;;x\r\n' +
      '\r\n' +
      'c5@csv.test;Eve;Lille;7;x\r\n' +
      'c6@csv.test;"Never closed;Metz;1;x\r\n';
    const r = await upload(owner.token, csv, {
      mapping: [
        { column: 'E-mail', field: 'email' },
        { column: 'Prénom', field: 'firstName' },
        { column: 'Ville', field: 'city' },
        { column: 'CA', field: 'revenue' },
      ],
    });
    const imp = ok(r).importContacts;
    expect(imp).toMatchObject({ status: 'DONE', source: 'CSV', total: 6, created: 3, rejected: 3 });
    const rows = await results(owner.token, imp.id);
    expect(rows.map((x) => [x.rowNumber, x.outcome])).toEqual([
      [1, 'CREATED'],
      [2, 'CREATED'],
      [3, 'REJECTED'],
      [4, 'REJECTED'],
      [5, 'CREATED'],
      [6, 'REJECTED'],
    ]);
    expect(rows[2].error).toBe('malformed CSV: the row has 6 fields, the header has 5');
    expect(rows[3].error).toMatch(/unexpected text after a closing quote/);
    expect(rows[5].error).toMatch(/unterminated quoted field/);
    const { rows: c } = await t.sql.query(
      `select email, first_name, city, fields from contact where email like '%@csv.test' order by email`,
    );
    expect(c).toEqual([
      { email: 'c1@csv.test', first_name: 'Jean; "Jo" Paul', city: 'Paris', fields: { revenue: '10.5' } },
      { email: 'c2@csv.test', first_name: 'Marie', city: 'Saint-\r\nDenis', fields: {} },
      { email: 'c5@csv.test', first_name: 'Eve', city: 'Lille', fields: { revenue: '7' } },
    ]);
  });

  it('maps headers named after fields without a mapping, and folds duplicates inside the file', async () => {
    const csv =
      'email,firstName,LASTNAME,notes\nd@dup.test,Dan,,a\nD@dup.test,,Dupont,b\ne@dup.test,Eva,,c\nd@dup.test,Daniel,,d\n';
    const imp = ok(await upload(owner.token, csv)).importContacts;
    expect(imp).toMatchObject({ created: 2, merged: 2, rejected: 0 });
    const rows = await results(owner.token, imp.id);
    expect(rows.map((x) => x.outcome)).toEqual(['CREATED', 'MERGED', 'CREATED', 'MERGED']);
    expect(new Set([rows[0].contactId, rows[1].contactId, rows[3].contactId]).size).toBe(1);
    const { rows: c } = await t.sql.query(
      `select first_name, last_name from contact where email = 'd@dup.test'`,
    );
    expect(c).toEqual([{ first_name: 'Daniel', last_name: 'Dupont' }]);
  });

  it('merges duplicates across batches in row order (batches are written two at a time)', async () => {
    const lines = ['email,city'];
    for (let i = 1; i <= 4500; i++) lines.push(`r${i}@batches.test,City ${i}`);
    lines[2500] = 'r10@batches.test,Second'; // row 2500 (second batch) repeats row 10
    lines[4001] = 'r10@batches.test,Third'; // row 4001 (third batch) too
    const imp = ok(await upload(owner.token, `${lines.join('\n')}\n`)).importContacts;
    expect(imp).toMatchObject({ total: 4500, created: 4498, merged: 2, rejected: 0 });
    const { rows } = await t.sql.query(`select city from contact where email = 'r10@batches.test'`);
    expect(rows).toEqual([{ city: 'Third' }]);
    const merged = await results(owner.token, imp.id, 'MERGED');
    expect(merged.map((r) => r.rowNumber)).toEqual([2500, 4001]);
  });

  it('refuses a file it cannot read as CSV before writing anything', async () => {
    const before = [await count('contact'), await count('contact_import')];
    const cases: [string | Uint8Array<ArrayBuffer>, Record<string, unknown>, RegExp][] = [
      ['', {}, /empty/],
      [new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0x0d, 1, 2]), {}, /not a CSV/],
      ['foo,bar\n1,2\n', {}, /no column maps/],
      ['email\na@b.test\n', { mapping: [{ column: 'email', field: 'shoeSize' }] }, /shoeSize.*neither/],
      ['email\na@b.test\n', { mapping: [{ column: 'mail', field: 'email' }] }, /no column "mail"/],
      ['email,email\na@b.test,c@d.test\n', {}, /twice/],
      ['"email\na@b.test\n', {}, /header row cannot be read/],
      ['email\na@b.test\n', { rows: [{ email: 'x@y.test' }] }, /either rows or a CSV file/],
    ];
    for (const [csv, input, message] of cases) {
      const r = await upload(owner.token, csv, input);
      expect(code(r), String(message)).toBe('BAD_USER_INPUT');
      expect(r.errors?.[0].message).toMatch(message);
    }
    // An empty list is a valid, empty import; neither rows nor file is not.
    expect(
      ok(await t.gql(ImportContactsDocument, { input: { rows: [] } }, owner.token)).importContacts.total,
    ).toBe(0);
    expect(code(await t.gql(ImportContactsDocument, { input: {} }, owner.token))).toBe('BAD_USER_INPUT');
    expect(await count('contact')).toBe(before[0]);
    expect(await count('contact_import')).toBe(before[1] + 1);
  });

  it('streams progress to a graphql-ws subscriber until the import is done', async () => {
    const id = randomUUID();
    const client = t.ws(owner.token);
    const sub = nextResults<ImportProgressSubscription>(client, ImportProgressDocument, 100, {
      importId: id,
    });
    await new Promise((r) => setTimeout(r, 300));
    const lines = ['email'];
    for (let i = 0; i < 5000; i++) lines.push(`p${i}@progress.test`);
    const imp = ok(await upload(owner.token, `${lines.join('\n')}\n`, { id })).importContacts;
    expect(imp).toMatchObject({ id, status: 'DONE', created: 5000 });
    const got = (await sub.results).map((r) => r.data!.importProgress);
    expect(got.at(-1)).toMatchObject({ status: 'DONE', processed: 5000, created: 5000 });
    const processed = got.map((g) => g.processed);
    expect(processed).toEqual([...processed].sort((a, b) => a - b));
    expect(processed).toContain(2000);
    // Another account hears nothing of it and cannot read it.
    const stranger = await signUpOwner(t, 'Other');
    expect(code(await t.gql(ContactImportDocument, { id }, stranger.token))).toBe('NOT_FOUND');
    // A late subscriber gets the final state at once, then the end of the stream.
    const late = nextResults<ImportProgressSubscription>(t.ws(owner.token), ImportProgressDocument, 5, {
      importId: id,
    });
    expect((await late.results).map((r) => r.data!.importProgress.status)).toEqual(['DONE']);
  });

  it('marks the import FAILED when the source breaks half-way, keeping the committed batches', async () => {
    const viewer = await viewerFromToken(t.app.services.orm.em.fork(), owner.token);
    const enc = new TextEncoder();
    let sent = 0;
    const file = {
      stream: () =>
        new ReadableStream<Uint8Array>({
          pull(controller) {
            if (sent === 0) controller.enqueue(enc.encode('email\n'));
            if (sent >= 3000) return controller.error(new Error('connection reset'));
            const chunk: string[] = [];
            for (let i = 0; i < 500; i++) chunk.push(`f${sent++}@fail.test`);
            controller.enqueue(enc.encode(`${chunk.join('\n')}\n`));
          },
        }),
    } as unknown as Blob;
    const ctx = { app: t.app.services, em: t.app.services.orm.em.fork(), viewer: viewer!, ip: null };
    const imp = await importContacts(ctx, { file });
    expect(imp.status).toBe('FAILED');
    expect(imp.error).toMatch(/Unexpected error/);
    expect(imp.processed).toBe(2000);
    expect(await count(`contact where email like '%@fail.test'`)).toBe(2000);
  });

  it('imports 100,000 rows in one call', async () => {
    const lines = ['email,firstName,lastName,city'];
    for (let i = 0; i < 100_000; i++) lines.push(`big${i}@big.test,First${i},"Last, ${i}",City ${i % 50}`);
    const started = Date.now();
    const imp = ok(await upload(owner.token, `${lines.join('\r\n')}\r\n`)).importContacts;
    const seconds = (Date.now() - started) / 1000;
    expect(imp).toMatchObject({ status: 'DONE', total: 100_000, processed: 100_000, created: 100_000 });
    expect(await count(`contact where email like '%@big.test'`)).toBe(100_000);
    expect(await count('contact_import_row where import_id = $1', [imp.id])).toBe(100_000);
    console.log(`100,000-row CSV import: ${seconds.toFixed(1)} s`);
  }, 120_000);
});

describe('client-chosen import ids', () => {
  it("another account's import id answers as a free one: the ids are per account", async () => {
    const stranger = await signUpOwner(t, 'Elsewhere');
    const id = randomUUID();
    const mine = ok(
      await t.gql(ImportContactsDocument, { input: { id, rows: [{ email: 'a@ids.test' }] } }, owner.token),
    ).importContacts;
    expect(mine).toMatchObject({ id, status: 'DONE', created: 1 });
    // The same id in another account: not CONFLICT (which told that the id exists), a new import.
    const theirs = await t.gql(
      ImportContactsDocument,
      { input: { id, rows: [{ email: 'b@ids.test' }, { email: 'c@ids.test' }] } },
      stranger.token,
    );
    expect(theirs.errors).toBeUndefined();
    expect(ok(theirs).importContacts).toMatchObject({ id, status: 'DONE', created: 2 });
    // Each account reads its own import under that id, with its own row results.
    const read = async (token: string) => ok(await t.gql(ContactImportDocument, { id, first: 50 }, token));
    expect((await read(owner.token)).contactImport).toMatchObject({ created: 1, total: 1 });
    expect((await read(owner.token)).contactImport?.results.nodes).toHaveLength(1);
    expect((await read(stranger.token)).contactImport).toMatchObject({ created: 2, total: 2 });
    expect((await read(stranger.token)).contactImport?.results.nodes).toHaveLength(2);
    // Within one account an id is used once.
    const again = await t.gql(ImportContactsDocument, { input: { id, rows: [] } }, stranger.token);
    expect(code(again)).toBe('CONFLICT');
  });
});

describe('an import while the unique key changes', () => {
  it('stops FAILED at the next batch instead of writing rows keyed the old way', async () => {
    const other = await signUpOwner(t, 'Rekeyed');
    const viewer = await viewerFromToken(t.app.services.orm.em.fork(), other.token);
    const enc = new TextEncoder();
    let sent = 0;
    let resume = () => {};
    const gate = new Promise<void>((r) => {
      resume = r;
    });
    const rows = (n: number) =>
      Array.from({ length: n }, () => {
        const i = sent++;
        // Wide rows: the first chunk is more than a reader gathers before parsing (256 KiB).
        return `k${i}@rekey.test,+33700${String(100000 + i)},${'x'.repeat(150)}`;
      }).join('\n');
    const file = {
      stream: () =>
        new ReadableStream<Uint8Array>({
          async pull(controller) {
            if (sent === 0) return controller.enqueue(enc.encode(`email,phone,city\n${rows(2500)}\n`));
            if (sent === 2500) await gate;
            if (sent >= 6000) return controller.close();
            controller.enqueue(enc.encode(`${rows(500)}\n`));
          },
        }),
    } as unknown as Blob;
    const ctx = { app: t.app.services, em: t.app.services.orm.em.fork(), viewer: viewer!, ip: null };
    const running = importContacts(ctx, { file });
    const accountCount = () => count('contact where account_id = $1', [other.accountId]);
    await waitUntil(async () => (await accountCount()) >= 2000, 'the first batch (2,000 contacts) to commit');
    ok(await t.gql(UpdateAccountSettingsDocument, { input: { uniqueKey: 'phone' } }, other.token));
    resume();
    const imp = await running;
    expect(imp.status).toBe('FAILED');
    expect(imp.error).toMatch(/unique key settings changed/);
    expect(
      await count('contact where account_id = $1 and unique_value is distinct from phone', [other.accountId]),
    ).toBe(0);
  });
});

describe('an import batch that loses to concurrent writers on every run', () => {
  it('fails saying the rows before it were imported, not that nothing was written', async () => {
    const other = await signUpOwner(t, 'Contended');
    const viewer = await viewerFromToken(t.app.services.orm.em.fork(), other.token);
    // Every run of the second batch is aborted as a serialization failure would abort it (the
    // retried SQLSTATE), so the retries run out; the first batch commits.
    await t.sql.query(`create function h6_contended() returns trigger language plpgsql as $$
      begin
        if new.email = 'boom@contended.test' then
          raise exception 'could not serialize access' using errcode = '40001';
        end if;
        return new;
      end $$`);
    await t.sql.query(
      'create trigger h6_contended before insert on contact for each row execute function h6_contended()',
    );
    try {
      const rows = Array.from({ length: 3000 }, (_, i) => ({
        email: i === 2500 ? 'boom@contended.test' : `r${i}@contended.test`,
      }));
      const ctx = { app: t.app.services, em: t.app.services.orm.em.fork(), viewer: viewer!, ip: null };
      const imp = await importContacts(ctx, { rows });
      expect(imp.status).toBe('FAILED');
      expect(imp.error).toMatch(/the rows before it were imported/);
      expect(imp.error).not.toMatch(/nothing was written/);
      expect(await count('contact where account_id = $1', [other.accountId])).toBe(2000);
    } finally {
      await t.sql.query('drop trigger h6_contended on contact');
      await t.sql.query('drop function h6_contended()');
    }
  });
});
