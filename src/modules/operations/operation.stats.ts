import type { EntityManager } from '@mikro-orm/postgresql';
import { eventCode } from '../events/event.entity.js';
import type { OperationKind } from './operation.entity.js';

/**
 * Operation statistics, read from the aggregates the triggers of
 * Migration20261202180000_OperationStats keep on contact_event (see "### Statistics" in the
 * README): a handful of rows per operation, whatever its size. Only what the events can tell
 * honestly is here; delivered, failed, complaints and STOP replies come from the sending engine.
 * Opens and clicks a machine made (contact_event.machine, src/modules/events/tracking.machine.ts)
 * are counted apart (Migration20261203060000_MachineEvents keys them by type + MACHINE_TYPE_OFFSET):
 * `opens`, `clicks`, the per-link counts and the rates are people's; `machineOpens` and
 * `machineClicks` are the rest.
 */

export interface StatCount {
  total: number;
  unique: number;
}
export interface LinkStat extends StatCount {
  url: string;
}
export interface OperationStats {
  operationId: string;
  kind: OperationKind;
  sent: number;
  opens: StatCount | null;
  clicks: StatCount;
  machineOpens: StatCount | null;
  machineClicks: StatCount;
  /** Unique human opens (clicks) per sent message; null before anything is sent. */
  openRate: number | null;
  clickRate: number | null;
  links: number;
  clicksPerLink: LinkStat[];
  unsubscribes: number;
  bounces: number;
}

/** The most clicked links returned, by total clicks (then unique, then URL). */
export const TOP_LINKS = 50;
const NIL = '00000000-0000-0000-0000-000000000000';
/** A machine event's type in the aggregates (type + this); raw events keep their own type. */
export const MACHINE_TYPE_OFFSET = 100;

interface Row {
  type: number;
  url_key: string;
  url: string | null;
  total: string;
  uniques: string;
}

const zero = (): StatCount => ({ total: 0, unique: 0 });

/** Folds per-(type, link) rows, from the aggregates or a recount, into the stats of a kind. */
export function foldStats(operationId: string, kind: OperationKind, rows: Row[]): OperationStats {
  const byType = new Map<number, StatCount>();
  const links: LinkStat[] = [];
  const click = eventCode(kind === 'EMAILING' ? 'EMAIL_CLICK' : 'SMS_CLICK');
  for (const r of rows) {
    const c = { total: Number(r.total), unique: Number(r.uniques) };
    if (c.total === 0) continue;
    if (r.url_key === NIL) byType.set(r.type, c);
    else if (r.type === click && r.url !== null) links.push({ url: r.url, ...c });
  }
  links.sort(
    (a, b) => b.total - a.total || b.unique - a.unique || (a.url < b.url ? -1 : a.url > b.url ? 1 : 0),
  );
  const of = (t: Parameters<typeof eventCode>[0]) => byType.get(eventCode(t)) ?? zero();
  const machine = (code: number) => byType.get(code + MACHINE_TYPE_OFFSET) ?? zero();
  const sent = of(kind === 'EMAILING' ? 'EMAIL_SENT' : 'SMS_SENT').total;
  const opens = kind === 'EMAILING' ? of('EMAIL_OPEN') : null;
  const clicks = byType.get(click) ?? zero();
  const rate = (c: StatCount | null) => (c && sent > 0 ? c.unique / sent : null);
  return {
    operationId,
    kind,
    sent,
    opens,
    clicks,
    machineOpens: kind === 'EMAILING' ? machine(eventCode('EMAIL_OPEN')) : null,
    machineClicks: machine(click),
    openRate: rate(opens),
    clickRate: rate(clicks),
    links: links.length,
    clicksPerLink: links.slice(0, TOP_LINKS),
    unsubscribes: of('UNSUBSCRIBE').unique,
    bounces: of('BOUNCE').total,
  };
}

/** The stats of one operation of the account, from the maintained aggregates (8 slots summed). */
export async function operationStats(
  em: EntityManager,
  accountId: string,
  operationId: string,
  kind: OperationKind,
): Promise<OperationStats> {
  const rows = await em.execute<Row[]>(
    `select type, url_key::text, min(url) as url, sum(total)::text as total, sum(uniques)::text as uniques
       from operation_stat where account_id = ? and operation_id = ?
      group by type, url_key`,
    [accountId, operationId],
    'all',
  );
  return foldStats(operationId, kind, rows);
}

/** What changes with every statement that touches the operation's aggregates; null: none yet. */
export async function statsVersion(
  em: EntityManager,
  accountId: string,
  operationId: string,
): Promise<string> {
  const [row] = await em.execute<{ v: string | null }[]>(
    'select sum(changes)::text as v from operation_stat where account_id = ? and operation_id = ?',
    [accountId, operationId],
    'all',
  );
  return row?.v ?? '0';
}

/**
 * The same rows recounted from the raw events, for the tests and the bench: the best plain SQL
 * (one scan of the account's events of the operation, no aggregate table).
 */
export const RECOUNT_SQL = `select type, url_key::text, min(url) as url, count(*)::text as total, count(distinct contact_id)::text as uniques
  from (select case when e.machine then e.type + ${MACHINE_TYPE_OFFSET} else e.type end as type, u.url_key, u.url, e.contact_id
          from contact_event e
          cross join lateral (values ('${NIL}'::uuid, null::text),
            (case when e.type in (1, 2) and e.url is not null and not e.machine then md5(e.url)::uuid end, e.url)) u(url_key, url)
         where e.account_id = $1 and e.operation_id = $2 and u.url_key is not null) k
 group by type, url_key`;
