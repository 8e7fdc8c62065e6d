import type { Context } from '../../context.js';
import { batched } from '../../shared/batch.js';
import { isRowId } from '../../shared/ids.js';

type Row = { scoreId: string; name: string; value: string };

/**
 * Contact.scores, batched (shared/batch.ts): the contacts resolved in one tick of one operation
 * are read in one query, the account's scores crossed with the contacts, through contact_score's
 * primary key.
 */
export async function contactScores(ctx: Context, contactId: string): Promise<Row[]> {
  const accountId = ctx.viewer?.accountId;
  const load = async (keys: string[]) => {
    const rows = await ctx.em.execute<
      { contact_id: string; score_id: string; name: string; value: string }[]
    >(
      `select x.id::text as contact_id, s.id as score_id, s.name, coalesce(cs.value, 0)::text as value
         from score s
        cross join (select jsonb_array_elements_text(?::jsonb)::bigint as id) x
         left join contact_score cs on cs.score_id = s.id and cs.contact_id = x.id
        where s.account_id = ?
        order by s.name, s.id`,
      [JSON.stringify(keys.filter(isRowId)), accountId],
    );
    const by = new Map<string, Row[]>();
    for (const r of rows) {
      const list = by.get(r.contact_id) ?? [];
      list.push({ scoreId: r.score_id, name: r.name, value: r.value });
      by.set(r.contact_id, list);
    }
    return by;
  };
  return (await batched(ctx.em, 'contact.scores', contactId, load)) ?? [];
}
