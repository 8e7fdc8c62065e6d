import type pg from 'pg';
import { inPoolTransaction } from '../../db/pool-tx.js';
import { clip, storable } from '../../shared/text.js';
import {
  BOUNCE_COLUMNS,
  type BounceEvent,
  type BounceSqlRow,
  toBounceEvent,
} from '../bounces/bounce.repository.js';
import type { BounceClassification } from '../bounces/classifier/types.js';
import { type BalanceDrop, pgExec, settleCredits } from '../credits/credit.service.js';
import { eventCode } from '../events/event.entity.js';
import type { MergeData } from '../messaging/template.js';
import { contactMergeData } from '../messaging/template.js';
import { creditKindOf } from '../operations/operation.credits.js';

/** Attempts per recipient before MAX_ATTEMPTS_REACHED. */
export const MAX_ATTEMPTS = 3;

export interface Claimed {
  contactId: string;
  address: string;
  attempts: number;
}

/**
 * Claims up to `size` recipients that are due: PENDING, DEFERRED whose retry time came, and
 * CLAIMED whose lease ended (a worker that died or stalled). One statement: the rows are locked
 * with SKIP LOCKED, so concurrent workers of any process take disjoint batches, and the claim is
 * committed before anything is sent. Only while the operation is SENDING: a pause or a cancel
 * stops every worker at its next claim.
 */
export async function claimBatch(
  pool: pg.Pool,
  operationId: string,
  workerId: string,
  size: number,
  leaseSeconds: number,
): Promise<Claimed[]> {
  const { rows } = await pool.query<{ contact_id: string; address: string; attempts: number }>(
    `update operation_recipient r
        set status = 'CLAIMED', attempts = r.attempts + 1, claimed_by = $3,
            due_at = now() + make_interval(secs => $4)
       from (select r2.operation_id, r2.contact_id from operation_recipient r2
              where r2.operation_id = $1 and r2.status in ('PENDING', 'DEFERRED', 'CLAIMED') and r2.due_at <= now()
                and exists (select 1 from operation o where o.id = $1 and o.status = 'SENDING')
              order by r2.due_at, r2.contact_id limit $2
                for update of r2 skip locked) c
      where r.operation_id = c.operation_id and r.contact_id = c.contact_id
      returning r.contact_id::text, r.address, r.attempts`,
    [operationId, size, workerId, leaseSeconds],
  );
  return rows.map((r) => ({ contactId: r.contact_id, address: r.address, attempts: r.attempts }));
}

/** The merge data of the batch's contacts still in the account (a deleted one is absent). */
export async function mergeDataOfMany(
  pool: pg.Pool,
  accountId: string,
  contactIds: readonly string[],
): Promise<Map<string, MergeData>> {
  const [contacts, scores] = await Promise.all([
    pool.query('select * from contact where account_id = $1 and id = any($2::bigint[])', [
      accountId,
      contactIds,
    ]),
    pool.query<{ contact_id: string | null; name: string; value: string | null }>(
      `select cs.contact_id::text, s.name, cs.value::text from score s
         left join contact_score cs on cs.score_id = s.id and cs.contact_id = any($2::bigint[])
        where s.account_id = $1 order by s.created_at, s.id`,
      [accountId, contactIds],
    ),
  ]);
  // Every score of the account, "0" where the contact has no value (as the preview does).
  const names = [...new Set(scores.rows.map((s) => s.name))];
  const out = new Map<string, MergeData>();
  for (const row of contacts.rows) {
    out.set(String(row.id), {
      contact: contactMergeData(row),
      scores: Object.fromEntries(names.map((n) => [n, '0'])),
    });
  }
  for (const s of scores.rows) {
    const data = s.contact_id ? out.get(s.contact_id) : undefined;
    if (data && s.value !== null) data.scores[s.name] = s.value;
  }
  return out;
}

export type Outcome =
  | { contactId: string; kind: 'sent'; parts?: number }
  | { contactId: string; kind: 'rejected'; error: string; bounce?: BounceClassification | null }
  | {
      contactId: string;
      kind: 'deferred';
      error: string;
      attempts: number;
      /** On the last attempt: the MAX_ATTEMPTS_REACHED bounce stored if the recipient fails. */
      bounce?: BounceClassification | null;
    }
  | { contactId: string; kind: 'gone' };

export interface BatchCounts {
  sent: number;
  failed: number;
  hardBounces: number;
  deferrals: number;
  /** SMS parts handed to the gateway (what SMS credits are counted in). */
  parts: number;
  /** Credits used beyond what the balance could cover (logged; the balance stays at zero). */
  uncharged?: number;
  /** The bounces stored, to publish on bounceReceived once committed. */
  bounces?: BounceEvent[];
}

/**
 * Records a batch's outcomes in one transaction: SENT (with an EMAIL_SENT or SMS_SENT event that
 * carries the operation, which feeds its statistics), FAILED with HARD_BOUNCE (and a BOUNCE event)
 * for a permanent refusal, DEFERRED with back-off or FAILED with MAX_ATTEMPTS_REACHED for a
 * temporary one, FAILED with CONTACT_DELETED for a contact gone. Each update requires the row to
 * be still CLAIMED, so a row recorded by a worker that took over an expired claim is counted once.
 */
export async function recordOutcomes(
  pool: pg.Pool,
  op: { id: string; accountId: string; kind: 'EMAILING' | 'SMS' },
  outcomes: Outcome[],
  retrySeconds: number,
  onBalanceDrop?: BalanceDrop,
): Promise<BatchCounts> {
  const ids = (k: Outcome['kind']) => outcomes.filter((o) => o.kind === k).map((o) => o.contactId);
  return inPoolTransaction(pool, async (client) => {
    const sentType = eventCode(op.kind === 'EMAILING' ? 'EMAIL_SENT' : 'SMS_SENT');
    const delivered = outcomes.filter((o) => o.kind === 'sent') as Extract<Outcome, { kind: 'sent' }>[];
    const sent = await client.query<{ n: number; parts: number }>(
      `with s as (update operation_recipient r set status = 'SENT', sent_at = now(), due_at = null, last_error = null
                    from unnest($2::bigint[], $5::int[]) x(contact_id, parts)
                   where r.operation_id = $1 and r.contact_id = x.contact_id and r.status = 'CLAIMED'
                   returning r.contact_id, x.parts),
            e as (insert into contact_event (account_id, contact_id, type, occurred_at, operation_id)
                  select $3, s.contact_id, $4, now(), $1 from s
                   where exists (select 1 from contact c where c.id = s.contact_id and c.account_id = $3))
       select count(*)::int as n, coalesce(sum(parts), 0)::int as parts from s`,
      [op.id, delivered.map((o) => o.contactId), op.accountId, sentType, delivered.map((o) => o.parts ?? 0)],
    );
    const rejected = outcomes.filter((o) => o.kind === 'rejected');
    const bounced = await client.query(
      `with f as (update operation_recipient r set status = 'FAILED', reason = 'HARD_BOUNCE', due_at = null,
                         last_error = x.error
                    from unnest($2::bigint[], $3::text[]) x(contact_id, error)
                   where r.operation_id = $1 and r.contact_id = x.contact_id and r.status = 'CLAIMED'
                   returning r.contact_id),
            e as (insert into contact_event (account_id, contact_id, type, occurred_at, operation_id)
                  select $4, f.contact_id, $5, now(), $1 from f
                   where exists (select 1 from contact c where c.id = f.contact_id and c.account_id = $4))
       select count(*)::int as n from f`,
      [
        op.id,
        rejected.map((o) => o.contactId),
        rejected.map((o) => (o as { error: string }).error),
        op.accountId,
        eventCode('BOUNCE'),
      ],
    );
    const deferred = outcomes.filter((o) => o.kind === 'deferred') as Extract<
      Outcome,
      { kind: 'deferred' }
    >[];
    const retry = await client.query<{ contact_id: string; failed: boolean }>(
      `update operation_recipient r
          set status = case when r.attempts >= $4 then 'FAILED' else 'DEFERRED' end,
              reason = case when r.attempts >= $4 then 'MAX_ATTEMPTS_REACHED' end,
              due_at = case when r.attempts >= $4 then null
                            else now() + make_interval(secs => $5 * power(4, r.attempts - 1)) end,
              last_error = x.error
         from unnest($2::bigint[], $3::text[]) x(contact_id, error)
        where r.operation_id = $1 and r.contact_id = x.contact_id and r.status = 'CLAIMED'
        returning r.contact_id::text, r.status = 'FAILED' as failed`,
      [op.id, deferred.map((o) => o.contactId), deferred.map((o) => o.error), MAX_ATTEMPTS, retrySeconds],
    );
    const maxedIds = new Set(retry.rows.filter((r) => r.failed).map((r) => r.contact_id));
    // One call for the refusals and the recipients out of attempts (with their BOUNCE event): the
    // contacts are locked once, in id order, the order of every contact write.
    const bounces = await storeBounces(client, op, [
      ...rejected.map((o) => ({ o, event: false })),
      ...deferred.filter((o) => maxedIds.has(o.contactId)).map((o) => ({ o, event: true })),
    ]);
    const gone = await client.query(
      `update operation_recipient set status = 'FAILED', reason = 'CONTACT_DELETED', due_at = null
        where operation_id = $1 and contact_id = any($2::bigint[]) and status = 'CLAIMED'`,
      [op.id, ids('gone')],
    );
    const maxed = retry.rows.filter((r) => r.failed).length;
    const counts: BatchCounts = {
      sent: sent.rows[0].n,
      failed: bounced.rows[0].n + maxed + (gone.rowCount ?? 0),
      hardBounces: bounced.rows[0].n,
      deferrals: retry.rows.length - maxed,
      parts: sent.rows[0].parts,
      bounces,
    };
    await client.query(
      `update operation_send set sent = sent + $2, failed = failed + $3, hard_bounces = hard_bounces + $4,
              deferrals = deferrals + $5, parts = parts + $6 where operation_id = $1`,
      [op.id, counts.sent, counts.failed, counts.hardBounces, counts.deferrals, counts.parts],
    );
    // What was really sent is paid for in the batch's own transaction: one emails, SMS per part.
    const used = op.kind === 'EMAILING' ? counts.sent : counts.parts;
    counts.uncharged = (
      await settleCredits(
        pgExec(client),
        { accountId: op.accountId, operationId: op.id, kind: creditKindOf(op.kind), used },
        onBalanceDrop,
      )
    ).uncharged;
    return counts;
  });
}

/** What is left of a send: recipients not final yet, and the earliest time one is due. */
export async function remaining(
  pool: pg.Pool,
  operationId: string,
): Promise<{ left: number; nextDue: Date | null }> {
  const { rows } = await pool.query<{ left: number; next: Date | null }>(
    `select count(*)::int as left, min(due_at) as next from operation_recipient
      where operation_id = $1 and status in ('PENDING', 'DEFERRED', 'CLAIMED')`,
    [operationId],
  );
  return { left: rows[0].left, nextDue: rows[0].next };
}

/**
 * The classified refusals at RCPT and the recipients out of attempts (MAX_ATTEMPTS_REACHED), as
 * bounces of their contacts (the bounce table, the contact's last bounce and email status, and a
 * BOUNCE event with the operation for those marked `event`: a refusal has its event already), in
 * the batch's transaction; returns the rows stored. The contacts are locked in id order, the order
 * of every contact write. A hard bounce marks the contact HARD_BOUNCED unless it is already
 * unsubscribed or complained (a stronger "no" that must not be lost); a soft one only marks a
 * VALID contact SOFT_BOUNCED.
 */
async function storeBounces(
  client: pg.PoolClient,
  op: { id: string; accountId: string },
  items: { o: Outcome; event: boolean }[],
): Promise<BounceEvent[]> {
  const accountId = op.accountId;
  const rows = items.flatMap(({ o, event }) =>
    (o.kind === 'rejected' || o.kind === 'deferred') && o.bounce
      ? [{ contact_id: o.contactId, event, ...bounceColumns(o.bounce) }]
      : [],
  );
  if (!rows.length) return [];
  await client.query(
    'select id from contact where account_id = $1 and id = any($2::bigint[]) order by id for update',
    [accountId, rows.map((r) => r.contact_id)],
  );
  const stored = await client.query<BounceSqlRow>(
    `with x as (
       select * from jsonb_to_recordset($2::jsonb) as x(contact_id bigint, event boolean, recipient text, status text,
              reply_code text, reason text, hard boolean, type text, diagnostic text)
        where exists (select 1 from contact c where c.id = x.contact_id and c.account_id = $1)),
     b as (
       insert into bounce (account_id, contact_id, recipient, received_at, status, reply_code, reason, hard, type, diagnostic, operation_id)
       select $1, x.contact_id, x.recipient, now(), x.status, x.reply_code, x.reason, x.hard, x.type, x.diagnostic, $3::uuid
         from x
       returning ${BOUNCE_COLUMNS}),
     u as (
       update contact c
          set last_bounce_id = b.id::bigint, updated_at = now(),
              email_status = case
                when c.email_status in ('UNSUBSCRIBED', 'COMPLAINED') then c.email_status
                when b.hard then 'HARD_BOUNCED'
                when c.email_status = 'VALID' then 'SOFT_BOUNCED'
                else c.email_status end
         from b where c.account_id = $1 and c.id = b.contact_id::bigint),
     e as (
       insert into contact_event (account_id, contact_id, type, occurred_at, operation_id)
       select $1, x.contact_id, $4, now(), $3::uuid from x where x.event)
     select * from b`,
    [accountId, JSON.stringify(rows), op.id, eventCode('BOUNCE')],
  );
  return stored.rows.map(toBounceEvent);
}

// storable: no NUL, no lone surrogate (PostgreSQL text refuses both), as recordBounce stores them.
const cut = (v: string | null, n: number) => (v === null ? null : clip(storable(v), n));

function bounceColumns(b: BounceClassification) {
  return {
    recipient: cut(b.recipient, 320),
    status: cut(b.status, 20),
    reply_code: cut(b.replyCode, 10),
    reason: cut(b.reason, 40) ?? 'undefined',
    hard: b.hard,
    type: b.type,
    diagnostic: cut(b.diagnostic, 2000),
  };
}
