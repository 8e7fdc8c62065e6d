import type { AppServices } from '../../context.js';
import type { BalanceDrop } from '../credits/credit.service.js';
import { approversOf } from '../users/approvers.js';

/**
 * LOW_BALANCE_THRESHOLD: when a send's settlement takes a kind's balance from at or above the
 * threshold to below it, every active approver of INVOICES (and the owner) is mailed, once per
 * crossing: the settlement holds the balance row locked, so of concurrent batches exactly one
 * sees the crossing; a purchase lifting the balance back above arms the next one. The mail is
 * written in the settlement's transaction (the outbox, or with SMTP_URL the mail queue, sent
 * after the commit: mail.queue.ts), as webhooks' FAILING mail is: an SMTP server that refuses or
 * is down never rolls back a settlement, whose messages are already out.
 */
export function lowBalanceNotifier(app: AppServices): BalanceDrop {
  return async (exec, { accountId, kind, before, after }) => {
    const threshold = app.config.invoices.lowBalanceThreshold;
    if (!(before >= threshold && after < threshold)) return;
    const approvers = await approversOf(exec, accountId, 'INVOICES');
    const what = kind === 'EMAIL' ? 'email' : 'SMS';
    for (const a of approvers) {
      const mail = {
        accountId,
        to: a.email,
        subject: `Low ${what} credit balance: ${after} left`,
        text: [
          `Hello ${a.name},`,
          '',
          `Your account's ${what} credits fell below ${threshold}: ${after} left after the last send.`,
          'Sends that need more are refused when they are scheduled. To buy credits, an editor of',
          'invoices requests a pack (requestCreditPurchase) and you approve it (approveCreditPurchase).',
          app.config.publicUrl,
        ].join('\n'),
      };
      // Queued in the settlement's transaction (mailer.ts): sent once it commits.
      await app.mailer.sendOn(exec, mail);
    }
  };
}
