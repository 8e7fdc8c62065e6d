import type { Exec } from '../../db/exec.js';
import type { Feature } from '../access/access.js';

/**
 * The active users who approve in `feature` (APPROVER there, or the owner, APPROVER everywhere),
 * by email, but `except` (the user whose step they are told of): whom the workflow mails go to.
 */
export function approversOf(
  exec: Exec,
  accountId: string,
  feature: Feature,
  except: string | null = null,
): Promise<{ email: string; name: string }[]> {
  return exec<{ email: string; name: string }>(
    `select email, name from app_user where account_id = $1 and status = 'ACTIVE'
        and ($3::uuid is null or id <> $3) and (is_owner or rights->>$2 = 'APPROVER') order by email`,
    [accountId, feature, except],
  );
}
