import type { EntityManager } from '@mikro-orm/postgresql';
import { parseDecimal } from '../../shared/decimal.js';
import { notFound } from '../../shared/errors.js';
import { isUuid } from '../../shared/ids.js';
import type { ScoreTrigger } from './operation.entity.js';

/**
 * Checks a trigger at save: a score of the account (another account's, or one gone: NOT_FOUND,
 * as score(id) says) and an exact decimal threshold. The score row is locked FOR SHARE, so it
 * cannot be deleted before this save commits.
 */
export async function checkTrigger(
  em: EntityManager,
  accountId: string,
  raw: { scoreId: string | number; threshold: string },
): Promise<ScoreTrigger> {
  const scoreId = String(raw.scoreId).toLowerCase();
  if (!isUuid(scoreId)) throw notFound('Score');
  const threshold = parseDecimal(raw.threshold, 'trigger.threshold');
  const found = await em.execute('select 1 from score where account_id = ? and id = ? for share', [
    accountId,
    scoreId,
  ]);
  if (!found.length) throw notFound('Score');
  return { scoreId, threshold };
}
