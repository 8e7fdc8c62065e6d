import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * Erases what webhook deliveries copied from deleted contacts (deleteContacts calls it, with the
 * contacts locked, in the delete's transaction): the contact fields the webhook names (`contact`)
 * and a form submission's answers (`answers`), in every delivery that names the contact, whatever
 * its status. A delivery still to be attempted goes out with `erased: true` instead, and the
 * log no longer shows them. Ids, types and times stay: the receiver learns of the deletion from
 * the `contact.deleted` delivery the delete itself writes after this, which carries the fields
 * the webhook names so that the receiver can find and erase its own copy.
 */
export async function eraseWebhookPayloadsOf(em: EntityManager, accountId: string, contactIdsJson: string) {
  await em.execute(
    `update webhook_delivery d set payload = (d.payload - 'contact' - 'answers') || '{"erased": true}'::jsonb
      where d.account_id = ? and d.payload ->> 'contactId' is not null
        and d.payload ->> 'contactId' in (select jsonb_array_elements_text(?::jsonb))
        and (d.payload -> 'contact' is not null or d.payload -> 'answers' is not null)`,
    [accountId, contactIdsJson],
    'run',
  );
}
