import type { EntityManager } from '@mikro-orm/postgresql';
import { growReservation, ormExec } from '../credits/credit.service.js';
import { creditKindOf, perRecipientOf } from '../operations/operation.credits.js';
import { findOperation, type OperationView } from '../operations/operation.repository.js';
import { freezeAudience } from '../sending/sending.freeze.js';

/**
 * Score-threshold triggers, inside a score run's transaction (score.runner.ts calls these in
 * order): which live triggers the account has, what each watched score was before the run
 * computes it, who crossed upward once it has, and, before the run commits, the crossing
 * contacts written as recipients of their operations. Everything happens in the run's own
 * transaction, from what it changed: a run that fails or a process killed mid-run leaves no
 * recipient, and a rerun finds the values already moved (nobody crosses twice). The recipients
 * table's primary key (operation, contact) is the "once per contact, ever" at rest.
 */
export interface ArmedTrigger {
  op: OperationView;
  scoreId: string;
  threshold: string;
}

/** A trigger fires while it is SENDING (and collects while PAUSED, sent on resume). */
const LIVE = `('SENDING', 'PAUSED')`;

export async function armedTriggers(em: EntityManager, accountId: string): Promise<ArmedTrigger[]> {
  const rows = await em.execute<{ id: string }[]>(
    `select id from operation where account_id = ? and status in ${LIVE} and audience->'trigger' is not null`,
    [accountId],
  );
  if (!rows.length) return [];
  // Dropped at the end of the run's transaction, whatever its outcome.
  await em.execute(
    'create temp table if not exists trigger_before (score_id uuid not null, contact_id bigint not null, value numeric not null) on commit drop',
  );
  await em.execute(
    'create temp table if not exists trigger_fired (operation_id uuid not null, contact_id bigint not null) on commit drop',
  );
  const out: ArmedTrigger[] = [];
  for (const { id } of rows) {
    const op = await findOperation(em, accountId, id);
    if (op.audience.trigger) out.push({ op, ...op.audience.trigger });
  }
  return out;
}

const on = (triggers: ArmedTrigger[], scoreId: string) => triggers.filter((t) => t.scoreId === scoreId);

/** Before the run computes a watched score: who is already at or above a threshold of it. */
export async function beforeScore(
  em: EntityManager,
  triggers: ArmedTrigger[],
  scoreId: string,
): Promise<void> {
  const mine = on(triggers, scoreId);
  if (!mine.length) return;
  const lowest = mine.map((t) => t.threshold).sort((a, b) => Number(a) - Number(b))[0];
  await em.execute(
    `insert into trigger_before (score_id, contact_id, value)
     select score_id, contact_id, value from contact_score where score_id = ? and value >= ?::numeric`,
    [scoreId, lowest],
  );
}

/** Once it is computed: who is at or above each threshold now and was not before. */
export async function afterScore(
  em: EntityManager,
  triggers: ArmedTrigger[],
  scoreId: string,
): Promise<void> {
  for (const t of on(triggers, scoreId))
    await em.execute(
      `insert into trigger_fired (operation_id, contact_id)
       select ?::uuid, cs.contact_id from contact_score cs
        where cs.score_id = ? and cs.value >= ?::numeric
          and not exists (select 1 from trigger_before b
                           where b.score_id = cs.score_id and b.contact_id = cs.contact_id and b.value >= ?::numeric)`,
      [t.op.id, scoreId, t.threshold, t.threshold],
    );
}

/**
 * Before the run commits: each trigger's crossing contacts become its recipients, with the
 * exclusions of any send (no address, unsubscribed, bounced, frequency cap, an address it
 * already has), and their credits reserved. A contact it already has (sent, or fired before) is
 * skipped. When the credits do not cover them, they are EXCLUDED INSUFFICIENT_CREDITS: the score
 * run must not fail for it, and a trigger sends once per contact. The operation row is locked
 * FOR SHARE, so a cancel either comes first (nothing fires) or waits for the run.
 */
export async function fireTriggers(
  em: EntityManager,
  triggers: ArmedTrigger[],
): Promise<Map<string, number>> {
  const fired = new Map<string, number>();
  for (const t of triggers) {
    const [live] = await em.execute<{ status: string }[]>(
      `select status from operation where id = ? and status in ${LIVE} for share`,
      [t.op.id],
    );
    if (!live) continue;
    await em.execute(
      `delete from trigger_fired f using operation_recipient r
        where f.operation_id = ? and r.operation_id = f.operation_id and r.contact_id = f.contact_id`,
      [t.op.id],
    );
    const frozen = await freezeAudience(em, t.op, 'fired');
    fired.set(t.op.id, frozen.recipients);
    if (!frozen.recipients) continue;
    const per = perRecipientOf(t.op);
    const covered = await growReservation(ormExec(em), {
      accountId: t.op.accountId,
      operationId: t.op.id,
      kind: creditKindOf(t.op.kind),
      amount: frozen.recipients * per,
      perRecipient: per,
    });
    if (covered) continue;
    fired.set(t.op.id, 0);
    await em.execute(
      `update operation_recipient set status = 'EXCLUDED', reason = 'INSUFFICIENT_CREDITS', due_at = null
        where operation_id = ? and status = 'PENDING'
          and contact_id in (select contact_id from trigger_fired where operation_id = ?)`,
      [t.op.id, t.op.id],
    );
    await em.execute(
      `update operation_send set recipients = recipients - ?,
              excluded = jsonb_set(excluded, '{INSUFFICIENT_CREDITS}',
                to_jsonb(coalesce((excluded->>'INSUFFICIENT_CREDITS')::int, 0) + ?))
        where operation_id = ?`,
      [frozen.recipients, frozen.recipients, t.op.id],
    );
  }
  return fired;
}
