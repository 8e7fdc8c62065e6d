import type { EntityManager } from '@mikro-orm/postgresql';
import type { AppServices } from '../../context.js';
import { ormExec } from '../../db/exec.js';
import { approversOf } from '../users/approvers.js';

/**
 * A webhook went FAILING: every active approver of WEBHOOKS (and the owner) is told by mail, in
 * the transaction that changed its status, so the mail goes out once and only if the change does.
 */
export async function notifyFailing(
  app: AppServices,
  em: EntityManager,
  hook: { id: string; account_id: string; name: string; url: string },
  reason: string,
): Promise<void> {
  const approvers = await approversOf(ormExec(em), hook.account_id, 'WEBHOOKS');
  for (const a of approvers)
    await app.mailer.send(em, {
      accountId: hook.account_id,
      to: a.email,
      subject: `Webhook "${hook.name}" is failing: deliveries are on hold`,
      text: [
        `Hello ${a.name},`,
        '',
        `The webhook "${hook.name}" (${hook.url}) is now FAILING: ${reason}.`,
        'Its events are still recorded. Once the receiver works again, activate it (activateWebhook):',
        `what is waiting is then delivered, in order. Webhook id: ${hook.id}.`,
        app.config.publicUrl,
      ].join('\n'),
    });
}
