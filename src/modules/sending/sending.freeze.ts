import type { EntityManager } from '@mikro-orm/postgresql';
import { toOrmBindings } from '../../db/positional.js';
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
 * opted out by a STOP reply, as UNSUBSCRIBED; a duplicate address (among the reachable contacts
 * sharing it, the lowest id is sent to). The
 * primary key (operation, contact) makes a second freeze of the same operation fail rather than
 * double anyone.
 */
export async function freezeAudience(em: EntityManager, op: OperationView): Promise<Frozen> {
  const env = await loadTargetEnv(em, op.accountId);
  const params = new Params();
  const where = audienceMembers(env, op.audience, params);
  const opId = params.add(op.id, 'uuid');
  const email = op.kind === 'EMAILING';
  const address = email ? "coalesce(lower(c.email), '')" : "coalesce(c.phone, '')";
  const unreachable = email
    ? `when c.email_status = 'UNSUBSCRIBED' then 'UNSUBSCRIBED'
       when c.email_status = 'HARD_BOUNCED' then 'HARD_BOUNCED'
       when c.email_status = 'COMPLAINED' then 'COMPLAINED'`
    : `when c.sms_status = 'OPTED_OUT' then 'UNSUBSCRIBED'`;
  const statement = where
    ? toOrmBindings(
        `with m as (
           select c.id, ${address} as address,
                  case when ${address} = '' then 'NO_ADDRESS' ${unreachable} end as unreachable
             from contact c where ${where.join(' and ')}
         ),
         r as (
           select id, address, coalesce(unreachable,
                    case when row_number() over (partition by address, unreachable is null order by id) > 1
                         then 'DUPLICATE_ADDRESS' end) as reason
             from m
         ),
         ins as (
           insert into operation_recipient (operation_id, contact_id, account_id, address, status, reason, attempts, due_at)
           select ${opId}, r.id, ${params.add(op.accountId, 'uuid')}, r.address,
                  case when r.reason is null then 'PENDING' else 'EXCLUDED' end, r.reason, 0,
                  case when r.reason is null then now() end
             from r
           returning status, reason
         )
         select status, reason, count(*)::text as n from ins group by status, reason`,
        params.values,
      )
    : null;
  const rows = statement
    ? await em.execute<{ status: string; reason: string | null; n: string }[]>(
        statement.sql,
        statement.bindings,
      )
    : [];
  const frozen: Frozen = { recipients: 0, excluded: {} };
  for (const r of rows) {
    if (r.status === 'PENDING') frozen.recipients += Number(r.n);
    else frozen.excluded[r.reason as ExclusionReason] = Number(r.n);
  }
  await em.execute(
    `insert into operation_send (operation_id, account_id, frozen_at, recipients, excluded)
     values (?, ?, now(), ?, ?::jsonb)`,
    [op.id, op.accountId, frozen.recipients, JSON.stringify(frozen.excluded)],
  );
  return frozen;
}
