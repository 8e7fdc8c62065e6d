import type { EntityManager } from '@mikro-orm/postgresql';
import { clip, storable } from '../../shared/text.js';
import { verpTargetsIn } from './bounce.verp.js';

/** The send a bounce returns, found by its return path: one operation's message to one contact. */
export interface MatchedSend {
  accountId: string;
  operationId: string;
  contactId: string;
}

/**
 * The send named by a signed VERP address in `texts` (the envelope recipient first, then the raw
 * message): the first whose (operation, contact) is a recipient row, of `accountId` when given.
 * recordBounce passes the viewer's account, so another account's token (a DSN forwarded to the
 * wrong account, or a stranger replaying one) names nothing there and changes nothing anywhere;
 * the inbound endpoint passes null and the account is the operation's.
 */
export async function sendOfReturnPath(
  em: EntityManager,
  key: Buffer,
  texts: readonly (string | null | undefined)[],
  accountId: string | null,
): Promise<MatchedSend | null> {
  for (const t of verpTargetsIn(key, texts).slice(0, 10)) {
    const rows = await em.execute<{ account_id: string }[]>(
      `select account_id from operation_recipient
        where operation_id = ? and contact_id = ? and (?::uuid is null or account_id = ?::uuid)`,
      [t.operationId, t.contactId, accountId, accountId],
    );
    if (rows[0]) return { accountId: rows[0].account_id, ...t };
  }
  return null;
}

/**
 * What a later bounce does to the recipient row of its send, in the bounce's transaction. The row
 * stays SENT: the message was handed over, which `delivered` counts and no DSN undoes. Its reason
 * says what came back: HARD_BOUNCE or SOFT_BOUNCE (a soft one may be overtaken by a hard one
 * later, never the reverse), last_error the diagnostic; operation_send.hard_bounces counts the
 * first hard one of each recipient, so a DSN received twice counts once. A row that did not end
 * SENT (refused at RCPT, out of attempts) already has its outcome and is left alone; complaints
 * are not bounces (Operation.stats.send.complaints counts them from the bounce rows).
 */
export async function markRecipientBounced(
  em: EntityManager,
  send: MatchedSend,
  failures: readonly { reason: string; hard: boolean; diagnostic: string | null }[],
): Promise<void> {
  const bounces = failures.filter((f) => f.reason !== 'feedback');
  if (!bounces.length) return;
  const hard = bounces.some((f) => f.hard);
  const diagnostic = bounces.find((f) => f.hard === hard)?.diagnostic ?? null;
  await em.execute(
    `with old as (
       select operation_id, contact_id from operation_recipient
        where operation_id = ? and contact_id = ? and account_id = ? and status = 'SENT'
          and (reason is null or (reason = 'SOFT_BOUNCE' and ?::boolean))
        for update),
     upd as (
       update operation_recipient r set reason = ?, last_error = coalesce(?, r.last_error)
         from old where r.operation_id = old.operation_id and r.contact_id = old.contact_id
       returning 1)
     update operation_send set hard_bounces = hard_bounces + 1
      where operation_id = ? and ?::boolean and exists (select 1 from upd)`,
    [
      send.operationId,
      send.contactId,
      send.accountId,
      hard,
      hard ? 'HARD_BOUNCE' : 'SOFT_BOUNCE',
      diagnostic === null ? null : clip(storable(diagnostic), 1000),
      send.operationId,
      hard,
    ],
    'run',
  );
}
