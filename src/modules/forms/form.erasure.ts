import type { EntityManager } from '@mikro-orm/postgresql';

/** Answers that say nothing about who gave them: the counts and averages of Form.results. */
const ANONYMOUS_KINDS = ['SINGLE_CHOICE', 'MULTIPLE_CHOICE', 'RATING', 'NPS'];

/**
 * Erases what the submissions of deleted contacts hold about them (deleteContacts calls it, with
 * the contacts locked, before the delete empties their contact id): the contact fields, hidden
 * fields and free-text answers they typed, their consents (with the address they came from) and
 * the address itself. The answers to closed questions stay, so a survey's counts, averages and
 * NPS do not change when a respondent is erased; the row no longer names anyone. (Mautic keeps
 * everything, with the contact id emptied; so did we.)
 */
export async function eraseSubmissionsOf(em: EntityManager, accountId: string, contactIdsJson: string) {
  await em.execute(
    `update form_submission s set
        answers = coalesce((select jsonb_object_agg(a.key, a.value) from jsonb_each(s.answers) a
                    where exists (select 1 from form_version v, jsonb_array_elements(v.definition->'questions') q
                                   where v.form_id = s.form_id and v.version = s.version
                                     and q->>'key' = a.key and q->>'kind' in (select jsonb_array_elements_text(?::jsonb)))),
                  '{}'::jsonb),
        consents = '[]'::jsonb, ip = null
      where s.account_id = ? and s.contact_id in (select jsonb_array_elements_text(?::jsonb)::bigint)`,
    [JSON.stringify(ANONYMOUS_KINDS), accountId, contactIdsJson],
    'run',
  );
}
