import type { Context } from '../../context.js';
import { isRowId } from '../../shared/ids.js';

type Row = { scoreId: string; name: string; value: string };

interface Loader {
  load(contactId: string): Promise<Row[]>;
}

const loaders = new WeakMap<object, Loader>();

/**
 * Contact.scores for every contact resolved in one tick of one operation, in one query: the
 * account's scores crossed with the contacts, read through contact_score's primary key.
 */
export function contactScoresLoader(ctx: Context): Loader {
  let loader = loaders.get(ctx.em);
  if (loader) return loader;
  const accountId = ctx.viewer?.accountId;
  let pending: { id: string; resolve(r: Row[]): void; reject(e: unknown): void }[] = [];
  const flush = async () => {
    const batch = pending;
    pending = [];
    try {
      const ids = [...new Set(batch.map((b) => b.id))].filter(isRowId);
      const rows = await ctx.em
        .getConnection()
        .execute<{ contact_id: string; score_id: string; name: string; value: string }[]>(
          `select x.id::text as contact_id, s.id as score_id, s.name, coalesce(cs.value, 0)::text as value
           from score s
          cross join (select jsonb_array_elements_text(?::jsonb)::bigint as id) x
           left join contact_score cs on cs.score_id = s.id and cs.contact_id = x.id
          where s.account_id = ?
          order by s.name, s.id`,
          [JSON.stringify(ids), accountId],
        );
      const by = new Map<string, Row[]>();
      for (const r of rows) {
        const list = by.get(r.contact_id) ?? [];
        list.push({ scoreId: r.score_id, name: r.name, value: r.value });
        by.set(r.contact_id, list);
      }
      for (const b of batch) b.resolve(by.get(b.id) ?? []);
    } catch (err) {
      for (const b of batch) b.reject(err);
    }
  };
  loader = {
    load(id) {
      return new Promise<Row[]>((resolve, reject) => {
        if (pending.length === 0) setImmediate(() => void flush());
        pending.push({ id, resolve, reject });
      });
    },
  };
  loaders.set(ctx.em, loader);
  return loader;
}
