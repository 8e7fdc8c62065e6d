import type { AppServices, Context } from '../../context.js';
import { retryTransaction } from '../../db/retry.js';
import { mutate } from '../audit/audit.service.js';
import { lockAccountForContactWrite } from '../contacts/contact.locks.js';
import { eventCode } from '../events/event.entity.js';
import { insertEvents } from '../events/event.service.js';
import { normalisePhone } from '../users/credentials.js';

export type SmsKeyword = 'STOP' | 'START';

/**
 * The opt-out words carriers and regulators expect (CTIA's list, and the French ARRET/ARRÊT);
 * compared after folding accents, so ARRÊT and ARRET are one entry.
 */
const STOP_WORDS = new Set(['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'ARRET']);

/**
 * What a reply asks for: the whole text, trimmed, case-insensitive, accents folded, must be one of
 * the words. "stop please" or "Don't stop" are conversation, not consent withdrawn: null.
 */
export function keywordOf(text: string): SmsKeyword | null {
  const word = text.trim().normalize('NFD').replace(/\p{M}/gu, '').toUpperCase();
  if (STOP_WORDS.has(word)) return 'STOP';
  if (word === 'START') return 'START';
  return null;
}

/** The number as contacts store it (credentials.ts normalisePhone), or null when it is not one. */
export function phoneOf(raw: string): string | null {
  try {
    return normalisePhone(raw);
  } catch {
    return null;
  }
}

export interface ReplyOutcome {
  /** Contacts whose sms_status this reply changed (0 for a repeated STOP). */
  changed: number;
}

interface Target {
  account_id: string;
  id: string;
  sms_status: string;
  operation_id: string | null;
}

/**
 * Applies a STOP or START from `phone`, in one transaction rerun on a deadlock. Only accounts
 * that sent this number an SMS (an operation_recipient row SENT to it) are touched: a reply
 * answers a sender, and a stranger who knows a number must not opt it out of every account's
 * lists. Per account, under the lock order of contact writes (the account FOR SHARE, then its
 * contacts in id order), each contact with that phone whose status changes gets it, and an audit
 * entry with no user (the contact acted); a STOP also records an UNSUBSCRIBE event naming the
 * latest SMS operation sent to that contact (null if it never got one: another contact of the
 * account with the same number did). A contact already in the asked status writes nothing, so a
 * second STOP records no second event.
 */
export async function applySmsReply(
  app: AppServices,
  phone: string,
  keyword: SmsKeyword,
  ip: string | null,
): Promise<ReplyOutcome> {
  const to = keyword === 'STOP' ? 'OPTED_OUT' : 'SUBSCRIBED';
  const ctx: Context = { app, em: app.orm.em.fork(), viewer: null, ip };
  return retryTransaction(() =>
    mutate(ctx, async ({ em, audit }) => {
      const accounts = await em.execute<{ account_id: string }[]>(
        `select distinct r.account_id from operation_recipient r join operation o on o.id = r.operation_id
          where r.address = ? and r.status = 'SENT' and o.kind = 'SMS' order by r.account_id`,
        [phone],
        'all',
      );
      let changed = 0;
      for (const { account_id: accountId } of accounts) {
        try {
          await lockAccountForContactWrite(em, accountId);
        } catch {
          continue; // deleted since (NOT_FOUND): its recipients go with it
        }
        const targets = await em.execute<Target[]>(
          `select c.account_id, c.id::text, c.sms_status,
                  (select r.operation_id from operation_recipient r join operation o on o.id = r.operation_id
                    where r.account_id = c.account_id and r.contact_id = c.id and r.status = 'SENT' and o.kind = 'SMS'
                    order by r.sent_at desc nulls last limit 1) as operation_id
             from contact c where c.account_id = ? and c.phone = ? order by c.id for no key update of c`,
          [accountId, phone],
          'all',
        );
        const moved = targets.filter((c) => c.sms_status !== to);
        if (!moved.length) continue;
        await em.execute(
          `update contact set sms_status = ?, updated_at = now()
            where account_id = ? and id in (select jsonb_array_elements_text(?::jsonb)::bigint)`,
          [to, accountId, JSON.stringify(moved.map((c) => c.id))],
          'run',
        );
        if (keyword === 'STOP') {
          const now = new Date().toISOString();
          const events = moved.map((c) => ({
            contact_id: c.id,
            type: eventCode('UNSUBSCRIBE'),
            occurred_at: now,
            operation_id: c.operation_id,
            form_id: null,
            url: null,
          }));
          await insertEvents(em, accountId, JSON.stringify(events));
        }
        for (const c of moved) {
          audit({
            action: keyword === 'STOP' ? 'smsOptOut' : 'smsOptIn',
            feature: 'CONTACTS',
            objectType: 'Contact',
            objectId: c.id,
            accountId,
            diff: {
              smsStatus: { from: c.sms_status, to },
              ...(keyword === 'STOP' && c.operation_id
                ? { operationId: { from: null, to: c.operation_id } }
                : {}),
            },
          });
        }
        changed += moved.length;
      }
      return { changed };
    }),
  );
}
