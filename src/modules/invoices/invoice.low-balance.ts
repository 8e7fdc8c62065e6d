import type { AppServices } from '../../context.js';
import type { BalanceDrop } from '../credits/credit.service.js';

/**
 * LOW_BALANCE_THRESHOLD: when a send's settlement takes a kind's balance from at or above the
 * threshold to below it, every active approver of INVOICES (and the owner) is mailed, once per
 * crossing: the settlement holds the balance row locked, so of concurrent batches exactly one
 * sees the crossing; a purchase lifting the balance back above arms the next one. The mail is
 * written in the settlement's transaction (the outbox; with SMTP_URL it is handed over there), as
 * webhooks' FAILING mail is. A settlement never fails (its messages are already out), so a mail
 * SMTP refuses is logged, not thrown: thrown, it would roll back the batch and send it twice.
 */
export function lowBalanceNotifier(app: AppServices): BalanceDrop {
  return async (exec, { accountId, kind, before, after }) => {
    const threshold = app.config.invoices.lowBalanceThreshold;
    if (!(before >= threshold && after < threshold)) return;
    const approvers = await exec<{ email: string; name: string }>(
      `select email, name from app_user where account_id = $1 and status = 'ACTIVE'
         and (is_owner or rights->>'INVOICES' = 'APPROVER') order by email`,
      [accountId],
    );
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
      try {
        await app.mailer.sendOn(exec, mail);
      } catch (err) {
        if (app.mailer.kind === 'outbox') throw err; // a database error: the transaction is lost anyway
        app.logger.warn('low-balance mail refused', {
          accountId,
          to: a.email,
          error: (err as Error).message,
        });
      }
    }
  };
}
