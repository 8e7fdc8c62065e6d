import type { EntityManager } from '@mikro-orm/postgresql';
import { builder, need } from '../../builder.js';
import { hasSqlState, retryTransaction } from '../../db/retry.js';
import { badInput, conflict, notFound } from '../../shared/errors.js';
import { diffOf, mutate } from '../audit/audit.service.js';
import { rekeyContacts } from '../contacts/contact.locks.js';
import { checkName } from '../users/credentials.js';
import { Account, type AccountSettings, DEFAULT_SETTINGS } from './account.entity.js';
import { checkFrequencyCap, FrequencyCapInput, FrequencyCapRef } from './account.frequency-cap.js';

/**
 * How long a settings update waits for its lock on the account (and for each contact lock of a
 * re-key). Contact writers hold the row FOR SHARE one after another, so under a steady stream of
 * them the update could wait without end; it gives up and says so. `timeoutMs` is changed by tests.
 */
export const SETTINGS_LOCK_TIMEOUT_MS = 10_000;
export const settingsLock = { timeoutMs: SETTINGS_LOCK_TIMEOUT_MS };
const LOCK_NOT_AVAILABLE = new Set(['55P03']);
/** A million a minute is past what one install sends; more is a typo, not a plan. */
export const MAX_SEND_RATE_PER_MINUTE = 1_000_000;

/**
 * CONFLICT reason CONCURRENT_CHANGE, as when a deadlock is lost too often (db/retry.ts), rather
 * than RATE_LIMITED: the caller did not call too often, the account's contact writes (an import,
 * other users) were in the way; nothing was written and the same call can be made again.
 */
const settingsBusy = () =>
  conflict(
    `Contact writes held the account for ${settingsLock.timeoutMs / 1000} s and nothing was written: retry when they are done`,
    { reason: 'CONCURRENT_CHANGE' },
  );

interface SettingsView extends AccountSettings {
  accountId: string;
  accountName: string;
}

const AccountSettingsRef = builder.objectRef<SettingsView>('AccountSettings').implement({
  description:
    "Settings of the account. One per account: its id is the account's, so a client cache holds one copy that updateAccountSettings refreshes.",
  fields: (t) => ({
    id: t.exposeID('accountId', {
      description: "Stable identity for client caches: the account's id (the same as accountId)",
    }),
    accountId: t.exposeID('accountId', { description: 'The account these settings belong to' }),
    accountName: t.exposeString('accountName', {
      description: 'The name of the account, 1 to 200 characters',
    }),
    uniqueKey: t.exposeString('uniqueKey', {
      description:
        'The contact field that identifies a contact: email (the default), phone, or a custom TEXT, NUMBER or DATE field',
    }),
    rejectDuplicates: t.exposeBoolean('rejectDuplicates', {
      description:
        'true: a write that would duplicate the unique key fails with CONFLICT; false (the default): it merges into the existing contact',
    }),
    scoreIntervalHours: t.exposeInt('scoreIntervalHours', {
      description:
        'Hours (1 to 720, default 24) between automatic score computations, counted from the last manual run',
    }),
    timeZone: t.exposeString('timeZone', {
      description:
        'IANA time zone (default Europe/Paris) in which criteria count days: "in the last 7 days", birthdays, "today"',
    }),
    fourEyes: t.exposeBoolean('fourEyes', {
      description:
        'true: nobody validates an Emailing or SMS operation they created, last edited or submitted, the owner included (default false)',
    }),
    frequencyCap: t.field({
      type: FrequencyCapRef,
      nullable: true,
      description:
        'At most this many messages of a channel per contact in a window of days; null: no cap (the default)',
      resolve: (s) => s.frequencyCap,
    }),
    sendRatePerMinute: t.exposeInt('sendRatePerMinute', {
      nullable: true,
      description: `At most this many messages a minute for all the account's sends together (email and SMS, every server process), with bursts of at most 5 seconds' worth; null: no limit (the default)`,
    }),
  }),
});

const UpdateAccountSettingsInput = builder.inputType('UpdateAccountSettingsInput', {
  description: 'Only the fields given change.',
  fields: (t) => ({
    accountName: t.string({ required: false, description: 'The new account name, 1 to 200 characters' }),
    uniqueKey: t.string({
      required: false,
      description:
        'email, phone, or the name of a custom TEXT, NUMBER or DATE field. Every contact is re-keyed in one statement; CONFLICT while two contacts share a value of the new key',
    }),
    rejectDuplicates: t.boolean({
      required: false,
      description: 'true: duplicates of the unique key fail with CONFLICT; false: they merge',
    }),
    scoreIntervalHours: t.int({
      required: false,
      description: 'Hours between automatic score computations, 1 to 720',
    }),
    timeZone: t.string({
      required: false,
      description: 'An IANA time zone name such as Europe/Paris or America/New_York',
    }),
    fourEyes: t.boolean({
      required: false,
      description:
        'Four-eyes validation of operations. Turning it on needs at least two active users (CONFLICT otherwise): one alone could never validate anything',
    }),
    frequencyCap: t.field({
      type: FrequencyCapInput,
      required: false,
      description:
        'The frequency cap, applied to operations that start sending from now on (messages 0 removes it). BAD_USER_INPUT out of bounds',
    }),
    sendRatePerMinute: t.int({
      required: false,
      description: `Messages a minute for all the account's sends, 1 to ${MAX_SEND_RATE_PER_MINUTE.toLocaleString('en')}; 0 removes the limit. Sends in progress follow it from their next batch`,
    }),
  }),
});

const badZone = (raw: string) =>
  badInput(`timeZone: ${JSON.stringify(raw)} is not an IANA time zone name (e.g. Europe/Paris)`);

/**
 * The shape of a zone name, and Node's ICU accepting it. Not Intl.supportedValuesOf('timeZone'):
 * that lists one name per zone, often the old one (Asia/Calcutta, Europe/Kiev), and refused
 * current IANA names such as Asia/Kolkata, Europe/Kyiv or Etc/UTC. The exact spelling is then
 * checked against PostgreSQL's own list (zoneKnownToPostgres).
 */
function checkTimeZone(raw: string): string {
  const tz = raw.trim();
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/.test(tz)) throw badZone(raw);
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
  } catch {
    throw badZone(raw);
  }
  return tz;
}

/**
 * Criteria compute days in SQL with `at time zone`, which would fail at every count of the
 * account's segments for a name PostgreSQL does not know. pg_timezone_names is exact and
 * case-sensitive (`at time zone` is not), so the name stored is the one PostgreSQL lists.
 */
async function zoneKnownToPostgres(em: { execute: EntityManager['execute'] }, tz: string): Promise<boolean> {
  const rows = await em.execute<{ ok: number }[]>('select 1 as ok from pg_timezone_names where name = ?', [
    tz,
  ]);
  return rows.length > 0;
}

/** Four-eyes with one active user would leave nobody able to validate an operation. */
async function refuseSingleUser(em: { execute: EntityManager['execute'] }, accountId: string) {
  const [row] = await em.execute<{ n: number }[]>(
    "select count(*)::int as n from app_user where account_id = ? and status = 'ACTIVE'",
    [accountId],
  );
  if ((row?.n ?? 0) < 2)
    throw conflict(
      'fourEyes needs at least two active users: with one, nobody could validate their own operations',
      { field: 'fourEyes', reason: 'SINGLE_USER' },
    );
}

function view(a: { id: string; name: string; settings: AccountSettings }): SettingsView {
  return { ...DEFAULT_SETTINGS, ...a.settings, accountId: a.id, accountName: a.name };
}

builder.queryField('accountSettings', (t) =>
  t.withAuth(need('SETTINGS', 'GUEST')).field({
    type: AccountSettingsRef,
    description: "The account's settings (SETTINGS >= GUEST).",
    resolve: async (_r, _a, ctx) => {
      const account = await ctx.em.findOne(Account, { id: ctx.viewer.accountId });
      if (!account) throw notFound('Account');
      return view(account);
    },
  }),
);

builder.mutationField('updateAccountSettings', (t) =>
  t.withAuth(need('SETTINGS', 'EDITOR')).field({
    type: AccountSettingsRef,
    description:
      'Changes the settings given and returns them all (SETTINGS >= EDITOR). BAD_USER_INPUT for an out-of-range value or an unknown key field; CONFLICT (reason CONCURRENT_CHANGE) when contact writes held the account for more than 10 s, nothing written.',
    args: {
      input: t.arg({ type: UpdateAccountSettingsInput, required: true, description: 'What to change' }),
    },
    resolve: (_r, { input }, ctx) => {
      const next: Partial<SettingsView> = {};
      if (input.accountName != null) {
        next.accountName = checkName(input.accountName, 'accountName');
      }
      if (input.uniqueKey != null) {
        const key = input.uniqueKey.trim();
        if (!/^[a-zA-Z][a-zA-Z0-9_]{0,62}$/.test(key)) throw badInput('uniqueKey must be a field name');
        next.uniqueKey = key;
      }
      if (input.rejectDuplicates != null) next.rejectDuplicates = input.rejectDuplicates;
      if (input.scoreIntervalHours != null) {
        if (input.scoreIntervalHours < 1 || input.scoreIntervalHours > 720) {
          throw badInput('scoreIntervalHours must be between 1 and 720');
        }
        next.scoreIntervalHours = input.scoreIntervalHours;
      }
      if (input.timeZone != null) next.timeZone = checkTimeZone(input.timeZone);
      if (input.fourEyes != null) next.fourEyes = input.fourEyes;
      if (input.frequencyCap != null) next.frequencyCap = checkFrequencyCap(input.frequencyCap);
      if (input.sendRatePerMinute != null) {
        const rate = input.sendRatePerMinute;
        if (!Number.isInteger(rate) || rate < 0 || rate > MAX_SEND_RATE_PER_MINUTE)
          throw badInput(`sendRatePerMinute must be between 0 (no limit) and ${MAX_SEND_RATE_PER_MINUTE}`, {
            field: 'sendRatePerMinute',
          });
        next.sendRatePerMinute = rate === 0 ? null : rate;
      }
      // One transaction, rerun on a deadlock or serialization failure (db/retry.ts). Raw SQL
      // rather than the entity: a rerun must not see what the failed run assigned.
      return retryTransaction(() =>
        mutate(ctx, async ({ em, audit }) => {
          await em.execute(
            `set local lock_timeout = ${Math.max(1, Math.trunc(settingsLock.timeoutMs))}`,
            [],
            'run',
          );
          // Before the account lock: the zone list is read from disk, the lock need not wait for it.
          if (next.timeZone && !(await zoneKnownToPostgres(em, next.timeZone))) throw badZone(next.timeZone);
          // FOR NO KEY UPDATE waits for another settings update (read-modify-write of the JSON) and
          // for contact writers, which hold FOR SHARE (contact.locks.ts), so a re-key runs alone;
          // it does not wait for bare key-share locks (foreign keys of other tables' writes).
          // (MikroORM's lockMode 4 was SKIP LOCKED: the row looked missing while contacts were written.)
          const [account] = await em.execute<{ id: string; name: string; settings: AccountSettings }[]>(
            'select id, name, settings from account where id = ? for no key update',
            [ctx.viewer.accountId],
            'all',
          );
          if (!account) throw notFound('Account');
          const before = view(account);
          // Under the account lock: the check and the switch see the same users (inviteUser and
          // deleteUser do not take it, so a delete right after may still leave one user: the
          // owner can then turn it off again).
          if (next.fourEyes && !before.fourEyes) await refuseSingleUser(em, account.id);
          if (next.uniqueKey && next.uniqueKey !== before.uniqueKey)
            await rekeyContacts(em, account.id, next.uniqueKey);
          const { accountName, ...settings } = next;
          const name = accountName ?? account.name;
          const merged = { ...DEFAULT_SETTINGS, ...account.settings, ...settings };
          await em.execute(
            'update account set name = ?, settings = ?::jsonb where id = ?',
            [name, JSON.stringify(merged), account.id],
            'run',
          );
          audit({
            action: 'updateAccountSettings',
            feature: 'SETTINGS',
            objectType: 'Account',
            objectId: account.id,
            diff: diffOf(before, next),
          });
          return view({ id: account.id, name, settings: merged });
        }),
      ).catch((err: unknown) => {
        throw hasSqlState(err, LOCK_NOT_AVAILABLE) ? settingsBusy() : err;
      });
    },
  }),
);
