import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuthedContext } from '../../context.js';
import { retryTransaction } from '../../db/retry.js';
import { badInput, conflict, isUniqueViolation, notFound } from '../../shared/errors.js';
import { type AccountSettings, DEFAULT_SETTINGS } from '../account/account.entity.js';
import { mutate, type Tx } from '../audit/audit.service.js';
import { loadFields } from './fields.js';

/*
 * The lock order of contact writes, in one place: the account row, then contact rows in id
 * order, in one transaction rerun on a deadlock (db/retry.ts); and the re-key, which a settings
 * update runs under its own lock on the account.
 */

/** The account's settings as committed (SQL, not the identity map: a rerun must read them afresh). */
export async function accountSettings(em: EntityManager, accountId: string): Promise<AccountSettings> {
  return settingsOf(await em.execute('select settings from account where id = ?', [accountId], 'all'));
}

function settingsOf(rows: { settings?: Partial<AccountSettings> }[]): AccountSettings {
  if (!rows[0]) throw notFound('Account');
  return { ...DEFAULT_SETTINGS, ...rows[0].settings };
}

/**
 * The lock order of every transaction that writes contacts: the account row first, FOR SHARE,
 * then contact rows in id order. FOR SHARE lets contact writers run side by side but waits for a
 * settings update (FOR NO KEY UPDATE), so a uniqueKey change and a contact write never hold each
 * other's rows: the re-key runs alone, and a writer reads the settings only once the lock is
 * granted (the locking read returns the row as last committed), never an old uniqueKey.
 */
export async function lockAccountForContactWrite(
  em: EntityManager,
  accountId: string,
): Promise<AccountSettings> {
  return settingsOf(
    await em.execute('select settings from account where id = ? for share', [accountId], 'all'),
  );
}

/**
 * The account's contacts among `ids`, locked in id order (the order of every multi-row contact
 * lock) with `mode`: KEY SHARE for a writer that only refers to them (events, bounces keep the
 * contact; a delete waits for them), NO KEY UPDATE for one that changes them. Returns the ids
 * found; unknown ids and other accounts' are absent.
 */
export async function lockContacts(
  em: EntityManager,
  accountId: string,
  ids: readonly string[],
  mode: 'key share' | 'no key update',
): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await em.execute<{ id: string }[]>(
    `select id::text from contact
      where account_id = ? and id in (select jsonb_array_elements_text(?::jsonb)::bigint)
      order by id for ${mode}`,
    [accountId, JSON.stringify(ids)],
    'all',
  );
  return new Set(rows.map((r) => r.id));
}

/**
 * A contact-writing mutation: one transaction, rerun on a deadlock or serialization failure
 * (db/retry.ts), starting with the account lock above. Never inside an outer transaction: a
 * deadlock aborts the outer one too, and the rerun would only meet 25P02 (a programming error).
 */
export function contactWrite<T>(
  ctx: AuthedContext,
  fn: (tx: Tx, settings: AccountSettings) => Promise<T>,
): Promise<T> {
  if (ctx.em.isInTransaction())
    return Promise.reject(
      new Error('contactWrite runs its own transaction: it cannot be called inside another one'),
    );
  return retryTransaction(() =>
    mutate(ctx, async (tx) => fn(tx, await lockAccountForContactWrite(tx.em, ctx.viewer.accountId))),
  );
}

/**
 * Points the unique key at another field: recomputes every contact's unique value in one
 * statement; if two contacts already share a value the change is refused (CONFLICT).
 */
export async function rekeyContacts(em: EntityManager, accountId: string, uniqueKey: string): Promise<void> {
  const fields = await loadFields(em, accountId);
  const def = fields.get(uniqueKey);
  if (!def || def.type === 'BOOLEAN')
    throw badInput(`uniqueKey must be email, phone or a custom TEXT/NUMBER/DATE field, got ${uniqueKey}`);
  const expr = uniqueKey === 'email' ? 'lower(c.email)' : `(${def.sql})::text`;
  // The caller holds the account FOR NO KEY UPDATE, so no contact writer runs meanwhile; rows
  // are still locked in id order, the order of every other multi-row contact lock.
  const rekey = (value: string) =>
    em.execute(
      `update contact c set unique_value = ${value}
        where c.id in (select id from contact where account_id = ? order by id for update)`,
      [accountId],
      'run',
    );
  // The unique index is checked row by row (it cannot be deferred: ON CONFLICT needs it as is),
  // so one statement fails when a contact's new value is another's old one, a swap and no
  // duplicate. Then the values are cleared first and set again, in the same transaction.
  await em.execute('savepoint rekey', [], 'run');
  try {
    await rekey(expr);
    return;
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    await em.execute('rollback to savepoint rekey', [], 'run');
  }
  const [dup] = await em.execute<{ n: number }[]>(
    `select count(*)::int as n from (select 1 from contact c where account_id = ? and ${expr} is not null
       group by ${expr} having count(*) > 1 limit 1) d`,
    [accountId],
    'all',
  );
  if (dup.n > 0) throw conflict(`Some contacts share the same ${uniqueKey}: merge them first`);
  await rekey('null');
  await rekey(expr);
}
