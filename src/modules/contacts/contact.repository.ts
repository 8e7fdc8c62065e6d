import type { EntityManager } from '@mikro-orm/postgresql';
import type { NormalContact } from './contact.normalise.js';
import { STANDARD_FIELDS } from './fields.js';

const COLUMNS = Object.values(STANDARD_FIELDS).map((f) => f.column);

/** The driver's side of a pooled connection (node-postgres), as knex hands it out. */
interface DriverConnection {
  query(text: string, values: unknown[]): Promise<{ rows: unknown[] }>;
}

/**
 * The rows of one read statement (`?` placeholders, none inside literals). Outside a transaction
 * it runs on a pooled connection through the driver itself, as an extended-protocol statement
 * with its parameters apart: MikroORM's execute inlines the parameters into the text and walks
 * its own layers, a quarter of a page read's time. Inside a transaction it must use the
 * transaction's connection, so it goes through the EntityManager.
 */
export async function readRows<T>(em: EntityManager, sql: string, params: readonly unknown[]): Promise<T[]> {
  if (em.isInTransaction()) return em.execute<T[]>(sql, [...params], 'all');
  let n = 0;
  const text = sql.replace(/\?/g, () => `$${++n}`);
  const client = em.getConnection().getKnex().client;
  const connection = (await client.acquireConnection()) as DriverConnection;
  try {
    return (await connection.query(text, [...params])).rows as T[];
  } finally {
    await client.releaseConnection(connection);
  }
}

/** Nulls last; a plain code-unit order: any total order does, as long as every writer uses it. */
const byUniqueValue = (a: string | null, b: string | null) =>
  a === b ? 0 : a === null ? 1 : b === null ? -1 : a < b ? -1 : 1;

export type WriteOutcome =
  | { outcome: 'CREATED'; contactId: string }
  | { outcome: 'MERGED'; contactId: string }
  | { outcome: 'DUPLICATE'; contactId: string };

/**
 * Writes a batch of contacts in three set-based statements, whatever its size: ids are drawn
 * first, then one INSERT ... SELECT from a JSON recordset whose ON CONFLICT on
 * (account_id, unique_value) either merges into the existing contact (given values win, absent
 * ones are kept, custom fields are merged) or, with `rejectDuplicates`, leaves it untouched. The
 * unique index decides, so two concurrent writers cannot both create the same contact.
 * Rows of one batch must not share a unique value (callers fold them first).
 */
export async function writeContacts(
  em: EntityManager,
  accountId: string,
  rows: NormalContact[],
  rejectDuplicates: boolean,
): Promise<WriteOutcome[]> {
  if (rows.length === 0) return [];
  const conn = em;
  const ids = await conn.execute<{ id: string }[]>(
    `select nextval(pg_get_serial_sequence('contact', 'id'))::text as id from generate_series(1, ?)`,
    [rows.length],
    'all',
  );
  const payload = rows.map((r, i) => ({
    id: ids[i].id,
    ...Object.fromEntries(COLUMNS.map((c) => [c, r.columns[c] ?? null])),
    fields: r.custom,
    unique_value: r.uniqueValue,
  }));
  const recordType = [
    'id bigint',
    ...COLUMNS.map((c) => `${c} ${c === 'birth_date' ? 'date' : 'text'}`),
    'fields jsonb',
    'unique_value text',
  ].join(', ');
  // ON CONFLICT DO UPDATE locks the existing rows one by one in the order it meets them: they are
  // locked first in id order (the order of every multi-row contact lock, contact.locks.ts), and
  // the rows go in by unique value, so two batches inserting the same new values wait for each
  // other in one order too. DO NOTHING locks no existing row, and one row is one lock.
  if (!rejectDuplicates && rows.length > 1) {
    // Driven by the given values through the (account_id, unique_value) index: as an IN list the
    // planner may scan the whole account for every batch of a large import.
    await conn.execute(
      `select 1 from jsonb_array_elements_text(?::jsonb) as v(value)
         join contact c on c.account_id = ? and c.unique_value = v.value
        order by c.id for no key update of c`,
      [JSON.stringify(rows.map((r) => r.uniqueValue).filter((v) => v !== null)), accountId],
      'all',
    );
  }
  const inserted = [...payload].sort((a, b) => byUniqueValue(a.unique_value, b.unique_value));
  const conflict = rejectDuplicates
    ? 'do nothing'
    : `do update set ${COLUMNS.map((c) => `${c} = coalesce(excluded.${c}, contact.${c})`).join(', ')},
         fields = contact.fields || jsonb_strip_nulls(excluded.fields), updated_at = now()`;
  const written = await conn.execute<{ id: string; unique_value: string | null }[]>(
    `insert into contact (id, account_id, ${COLUMNS.join(', ')}, fields, unique_value)
     select x.id, ?, ${COLUMNS.map((c) => `x.${c}`).join(', ')}, jsonb_strip_nulls(coalesce(x.fields, '{}')), x.unique_value
       from jsonb_to_recordset(?::jsonb) as x(${recordType})
     on conflict (account_id, unique_value) ${conflict}
     returning id::text, unique_value`,
    [accountId, JSON.stringify(inserted)],
    'all',
  );
  const byUnique = new Map(written.filter((w) => w.unique_value !== null).map((w) => [w.unique_value, w.id]));
  const created = new Set(written.map((w) => w.id));
  const missing = rows.filter(
    (r, i) => r.uniqueValue !== null && !created.has(payload[i].id) && !byUnique.has(r.uniqueValue),
  );
  const existing = new Map<string, string>();
  if (missing.length) {
    const found = await conn.execute<{ id: string; unique_value: string }[]>(
      `select id::text, unique_value from contact
        where account_id = ? and unique_value in (select jsonb_array_elements_text(?::jsonb))`,
      [accountId, JSON.stringify(missing.map((r) => r.uniqueValue))],
      'all',
    );
    for (const f of found) existing.set(f.unique_value, f.id);
  }
  return rows.map((r, i): WriteOutcome => {
    const id = payload[i].id;
    if (created.has(id)) return { outcome: 'CREATED', contactId: id };
    const other =
      (r.uniqueValue !== null && (byUnique.get(r.uniqueValue) ?? existing.get(r.uniqueValue))) || null;
    if (!other) throw new Error('contact write lost a row');
    return rejectDuplicates
      ? { outcome: 'DUPLICATE', contactId: other }
      : { outcome: 'MERGED', contactId: other };
  });
}
