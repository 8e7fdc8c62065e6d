import type { EntityManager } from '@mikro-orm/postgresql';
import { toOrmBindings } from '../../db/positional.js';
import type { FrequencyCap } from '../account/account.entity.js';
import { accountSettings } from '../contacts/contact.locks.js';
import { audienceMembers } from '../operations/operation.audience.js';
import type { OperationView } from '../operations/operation.repository.js';
import { Params } from '../targeting/criterion.compile.js';
import { loadTargetEnv } from '../targeting/target-env.js';
import type { ExclusionReason } from './sending.entity.js';

export interface Frozen {
  recipients: number;
  excluded: Partial<Record<ExclusionReason, number>>;
}

/**
 * Writes the audience of an operation that starts sending, once, in one statement, in the
 * transaction that moves it to SENDING: every member of the audience as it is now, each PENDING
 * or EXCLUDED with its reason. Later segment or contact changes do not change it.
 *
 * Exclusions, in this order: no address; (email) unsubscribed, hard-bounced, complained; (SMS)
 * opted out by a STOP reply, as UNSUBSCRIBED, or a number reported undeliverable (sms_status
 * INVALID), as HARD_BOUNCED; the account's frequency cap (capOf); a duplicate address (among
 * the reachable contacts sharing it, the lowest id is sent to). The primary key (operation,
 * contact) makes a second freeze of the same operation fail rather than double anyone.
 */
export async function freezeAudience(
  em: EntityManager,
  op: OperationView,
  mode: FreezeMode = 'all',
): Promise<Frozen> {
  const env = await loadTargetEnv(em, op.accountId);
  const params = new Params();
  const where = mode === 'arm' ? null : audienceMembers(env, op.audience, params);
  const opId = params.add(op.id, 'uuid');
  const fired = mode === 'fired';
  if (where && fired)
    where.push(`c.id in (select contact_id from trigger_fired where operation_id = ${opId})`);
  const email = op.kind === 'EMAILING';
  const address = email ? "coalesce(lower(c.email), '')" : "coalesce(c.phone, '')";
  // lower('') is '': testing the column spares a second lower() per contact.
  const none = email ? "coalesce(c.email, '') = ''" : "coalesce(c.phone, '') = ''";
  const unreachable = email
    ? `when c.email_status = 'UNSUBSCRIBED' then 'UNSUBSCRIBED'
       when c.email_status = 'HARD_BOUNCED' then 'HARD_BOUNCED'
       when c.email_status = 'COMPLAINED' then 'COMPLAINED'
       when c.email_status = 'UNCONFIRMED' then 'UNCONFIRMED'`
    : `when c.sms_status = 'OPTED_OUT' then 'UNSUBSCRIBED'
       when c.sms_status = 'INVALID' then 'HARD_BOUNCED'`;
  const cap = await capOf(em, op, params);
  // The unique constraint (account_id, unique_value) already keeps two contacts from sharing an
  // address when the account's key is that address: a duplicate pair then has a member whose
  // unique value differs from its address (written around the API, or keyless), so only the
  // addresses of such members are searched. Exact, whatever the data; without that key, every
  // address is (the hash of a million addresses: 0.7 s of a million's freeze).
  const { uniqueKey } = await accountSettings(em, op.accountId);
  const keyed = uniqueKey === (email ? 'email' : 'phone');
  // A trigger's later recipients: an address the operation already has goes to nobody else.
  const taken = fired
    ? `when exists (select 1 from operation_recipient x where x.operation_id = ${opId} and x.address = ${address}
                     and x.status <> 'EXCLUDED') then 'DUPLICATE_ADDRESS'`
    : '';
  const statement = where
    ? toOrmBindings(
        // Duplicates by hashing (sending README, "Where the freeze's time goes"): only the
        // addresses two reachable members share, with the lowest id, joined back to the members,
        // whose scan order the insert keeps (contact order, so both indexes fill at their right
        // edge). A window over a sort by address cost a sort of every member.
        `with ${cap?.cte ?? ''} m as materialized (
           select c.id, ${address} as address,
                  case when ${none} then 'NO_ADDRESS' ${unreachable} ${cap?.branch ?? ''} ${taken} end as unreachable
                  ${keyed ? ', c.unique_value' : ''}
             from contact c ${cap?.join ?? ''} where ${where.join(' and ')}
         ),
         dup as (
           select address, min(id) as keep, count(*) as n from m where unreachable is null
              ${keyed ? 'and address in (select address from m where unreachable is null and unique_value is distinct from address)' : ''}
            group by address having count(*) > 1
         ),
         ins as (
           insert into operation_recipient (operation_id, contact_id, account_id, address, status, reason, attempts, due_at)
           select ${opId}, m.id, ${params.add(op.accountId, 'uuid')}, m.address,
                  case when r.reason is null then 'PENDING' else 'EXCLUDED' end, r.reason, 0,
                  case when r.reason is null then now() end
             from m left join dup d on d.address = m.address
                  cross join lateral (select coalesce(m.unreachable,
                    case when m.id <> d.keep then 'DUPLICATE_ADDRESS' end) as reason) r
           ${fired ? 'on conflict (operation_id, contact_id) do nothing returning reason' : ''}
         )
         ${fired ? 'select reason, count(*)::text as n from ins group by reason' : counted}`,
        params.values,
      )
    : null;
  const rows = statement
    ? await withWorkMem(em, () =>
        em.execute<{ reason: string | null; n: string }[]>(statement.sql, statement.bindings),
      )
    : [];
  const frozen: Frozen = { recipients: 0, excluded: {} };
  for (const r of rows) {
    if (r.reason === null) frozen.recipients += Number(r.n);
    else if (Number(r.n) > 0) frozen.excluded[r.reason as ExclusionReason] = Number(r.n);
  }
  if (fired) await addToSend(em, op.id, frozen);
  else
    await em.execute(
      `insert into operation_send (operation_id, account_id, frozen_at, recipients, excluded)
       values (?, ?, now(), ?, ?::jsonb)`,
      [op.id, op.accountId, frozen.recipients, JSON.stringify(frozen.excluded)],
    );
  return frozen;
}

/**
 * The counts of a whole freeze, from the members rather than from the insert's RETURNING (which
 * kept a row per recipient, about 1 s of a million's freeze): every member is inserted, once, so
 * the members without a reason less the duplicates are the recipients. A trigger's freeze counts
 * what it inserted (it skips contacts it already has).
 */
const counted = `, counts as (select unreachable as reason, count(*) as n from m group by unreachable),
  dups as (select coalesce(sum(n - 1), 0) as n from dup)
  select reason, n::text from counts where reason is not null
  union all select 'DUPLICATE_ADDRESS', n::text from dups
  union all select null, (coalesce((select n from counts where reason is null), 0) - (select n from dups))::text`;

/**
 * work_mem for the freeze's statement alone (set back after it, the rest of the transaction is
 * the caller's): the members (about 60 MB a million) and the hash of their addresses (about
 * 100 MB) in memory, where the server's default spilled the sort by address to disk.
 */
async function withWorkMem<T>(em: EntityManager, run: () => Promise<T>): Promise<T> {
  const [{ old }] = await em.execute<{ old: string }[]>(
    "select current_setting('work_mem') as old, set_config('work_mem', '256MB', true)",
  );
  const result = await run();
  await em.execute("select set_config('work_mem', ?, true)", [old]);
  return result;
}

/**
 * `all`: the whole audience at the start of a one-off send. `arm`: a trigger's start, with no
 * recipient yet. `fired`: a trigger's new recipients, the contacts of `trigger_fired` (a score
 * run's temporary table) that are members of the audience; a contact it already has is skipped
 * (the primary key: once per contact, ever).
 */
export type FreezeMode = 'all' | 'arm' | 'fired';

/** Adds a trigger's new recipients and exclusions to its send's figures. */
async function addToSend(em: EntityManager, operationId: string, more: Frozen): Promise<void> {
  const [row] = await em.execute<{ excluded: Frozen['excluded'] }[]>(
    'select excluded from operation_send where operation_id = ? for update',
    [operationId],
  );
  const excluded = { ...(row?.excluded ?? {}) };
  for (const [reason, n] of Object.entries(more.excluded))
    excluded[reason as ExclusionReason] = (excluded[reason as ExclusionReason] ?? 0) + (n ?? 0);
  await em.execute(
    'update operation_send set recipients = recipients + ?, excluded = ?::jsonb where operation_id = ?',
    [more.recipients, JSON.stringify(excluded), operationId],
  );
}

/**
 * The frequency cap, as a CTE of the capped contacts joined to the audience, or nothing when the
 * account has none. A contact is capped when it already has `messages` messages of the
 * operation's channel (emails count against emails, SMS against SMS: the same kind of operation)
 * within the last `days`: recipient rows SENT by the account's other operations of that kind in
 * the window, plus the rows still to send (PENDING, CLAIMED, DEFERRED) of its SENDING or PAUSED
 * ones, which would otherwise all pass the cap while an earlier send is still under way. Test
 * sends are not operation recipients and do not count.
 *
 * Set-based, once per freeze: the account's sends in the window through
 * operation_recipient_sent_index (account_id, sent_at) include (contact_id, operation_id), the
 * rows to send through the claim's index of the few busy operations, grouped by contact and
 * hashed. Its cost follows the account's recent sends, not the audience: about 1 s for 900,000
 * sends in the window; a probe per member through an index on (contact_id, sent_at) took about
 * 9 s more for a 300,000-contact freeze (sending README, "Frequency cap").
 */
async function capOf(em: EntityManager, op: OperationView, params: Params): Promise<Cap | null> {
  const [row] = await em.execute<{ cap: FrequencyCap | null }[]>(
    `select settings->'frequencyCap' as cap from account where id = ?`,
    [op.accountId],
  );
  const cap = row?.cap;
  if (!cap || !(cap.messages > 0) || !(cap.days > 0)) return null;
  const account = params.add(op.accountId, 'uuid');
  const kind = params.add(op.kind, 'text');
  const self = params.add(op.id, 'uuid');
  // Joined, not `= any(array)`: an account's thousands of past operations would make that a
  // linear search per row.
  const ofKind = `join operation o on o.id = x.operation_id and o.account_id = ${account} and o.kind = ${kind} and o.id <> ${self}`;
  return {
    cte: `capped as materialized (
            select contact_id from (
              select x.contact_id from operation_recipient x ${ofKind}
               where x.account_id = ${account} and x.status = 'SENT'
                 and x.sent_at > now() - make_interval(days => ${params.add(Math.trunc(cap.days), 'int')})
              union all
              select x.contact_id from operation_recipient x ${ofKind} and o.status in ('SENDING', 'PAUSED')
               where x.status in ('PENDING', 'CLAIMED', 'DEFERRED')
            ) s group by contact_id having count(*) >= ${params.add(Math.trunc(cap.messages), 'int')}
          ),`,
    join: 'left join capped k on k.contact_id = c.id',
    branch: "when k.contact_id is not null then 'FREQUENCY_CAP'",
  };
}

interface Cap {
  cte: string;
  join: string;
  branch: string;
}
