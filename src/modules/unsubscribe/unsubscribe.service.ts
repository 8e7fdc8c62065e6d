import type { AppServices, Context } from '../../context.js';
import { retryTransaction } from '../../db/retry.js';
import { AppError } from '../../shared/errors.js';
import { mutate } from '../audit/audit.service.js';
import { lockAccountForContactWrite } from '../contacts/contact.locks.js';
import { eventCode } from '../events/event.entity.js';
import { insertEvents } from '../events/event.service.js';

/** Who an unsubscribe link names: checked by its signature, not yet against the database. */
export interface UnsubscribeTarget {
  accountId: string;
  contactId: string;
  operationId: string | null;
}

/** What the link's page says: nobody we know, or the contact with its sender and status. */
export type LinkState =
  | { kind: 'unknown' }
  | { kind: 'subscribed' | 'unsubscribed'; accountName: string; email: string | null };

/**
 * Statuses a click on the link leaves as they are, and records nothing for (so a second POST
 * records nothing new). UNSUBSCRIBED: done already. COMPLAINED: a spam complaint is already an
 * opt-out, and the stronger one (deliverability reports count complaints, and it must not turn
 * into a mere unsubscribe); it excludes the contact from every audience just the same.
 * HARD_BOUNCED is not here on purpose: a hard bounce says the address failed, not that its owner
 * refused mail, and it is the kind of status that gets cleared (a corrected address; no API does it
 * yet). An unsubscribe is consent withdrawn, which must survive that, so it replaces the hard
 * bounce (the bounce itself stays in the contact's bounce history and last bounce).
 */
const ALREADY_OUT = new Set(['UNSUBSCRIBED', 'COMPLAINED']);

/** The link's contact as committed, for the GET page. Writes nothing. */
export async function peekLink(app: AppServices, t: UnsubscribeTarget): Promise<LinkState> {
  const [row] = await app.orm.em
    .fork()
    .execute<{ email: string | null; email_status: string; name: string }[]>(
      `select c.email, c.email_status, a.name from contact c join account a on a.id = c.account_id
        where c.account_id = ? and c.id = ?`,
      [t.accountId, t.contactId],
      'all',
    );
  if (!row) return { kind: 'unknown' };
  return {
    kind: ALREADY_OUT.has(row.email_status) ? 'unsubscribed' : 'subscribed',
    accountName: row.name,
    email: row.email,
  };
}

/**
 * Unsubscribes the link's contact, in one transaction: email_status UNSUBSCRIBED, an UNSUBSCRIBE
 * event with the operation (which the operation's statistics count through their triggers), and a
 * history entry with no user (the contact acted). Under the lock order of every contact write
 * (contact.locks.ts: the account FOR SHARE, then the contact), rerun on a deadlock; the contact's
 * row lock serialises two POSTs, so the second reads UNSUBSCRIBED and writes nothing. The entry
 * is published after the commit, like every mutation's.
 */
export async function unsubscribeContact(
  app: AppServices,
  t: UnsubscribeTarget,
  ip: string | null,
): Promise<LinkState> {
  const ctx: Context = { app, em: app.orm.em.fork(), viewer: null, ip };
  return retryTransaction(() =>
    mutate(ctx, async ({ em, audit }) => {
      try {
        await lockAccountForContactWrite(em, t.accountId);
      } catch (err) {
        // The account was deleted since the mail went out.
        if (err instanceof AppError && err.extensions.code === 'NOT_FOUND')
          return { kind: 'unknown' } as const;
        throw err;
      }
      const [c] = await em.execute<{ email: string | null; email_status: string; name: string }[]>(
        `select c.email, c.email_status, a.name from contact c join account a on a.id = c.account_id
          where c.account_id = ? and c.id = ? for no key update of c`,
        [t.accountId, t.contactId],
        'all',
      );
      if (!c) return { kind: 'unknown' } as const;
      const done = { kind: 'unsubscribed', accountName: c.name, email: c.email } as const;
      if (ALREADY_OUT.has(c.email_status)) return done;
      await em.execute(
        `update contact set email_status = 'UNSUBSCRIBED', updated_at = now() where account_id = ? and id = ?`,
        [t.accountId, t.contactId],
        'run',
      );
      const event = {
        contact_id: t.contactId,
        type: eventCode('UNSUBSCRIBE'),
        occurred_at: new Date().toISOString(),
        operation_id: t.operationId,
        form_id: null,
        url: null,
      };
      await insertEvents(em, t.accountId, JSON.stringify([event]));
      audit({
        action: 'unsubscribe',
        feature: 'CONTACTS',
        objectType: 'Contact',
        objectId: t.contactId,
        accountId: t.accountId,
        diff: {
          emailStatus: { from: c.email_status, to: 'UNSUBSCRIBED' },
          ...(t.operationId ? { operationId: { from: null, to: t.operationId } } : {}),
        },
      });
      return done;
    }),
  );
}
