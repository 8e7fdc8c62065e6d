import type { EntityManager } from '@mikro-orm/postgresql';
import { isRowId } from '../../shared/ids.js';
import { decodeCursor, type Page, pageSize, toPage } from '../../shared/pagination.js';
import type { Answer } from './form.values.js';

/** A stored submission, as listed, streamed (formSubmitted) and exported. Plain JSON. */
export interface SubmissionView {
  id: string;
  formId: string;
  version: number;
  contactId: string | null;
  outcome: 'CREATED' | 'MERGED' | 'EXISTING' | null;
  answers: Record<string, Answer>;
  consents: { key: string; text: string; at: string; ip: string | null; version: number }[];
  confirmationRequired: boolean;
  confirmedAt: string | null;
  createdAt: string;
}

export const SUBMISSION_SELECT = `select s.id::text, s.form_id as "formId", s.version, s.contact_id::text as "contactId",
  s.outcome, s.answers, s.consents, s.confirmation_required as "confirmationRequired",
  to_char(s.confirmed_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "confirmedAt",
  to_char(s.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "createdAt"
  from form_submission s`;

/** A form's submissions, newest first. Claimed rows whose transaction is open are not visible. */
export async function listSubmissions(
  em: EntityManager,
  formId: string,
  first: number | null | undefined,
  after: string | null | undefined,
): Promise<Page<SubmissionView>> {
  const size = pageSize(first);
  const cursor = decodeCursor(after);
  const below = cursor !== null && isRowId(cursor) ? cursor : null;
  const rows = await em.execute<SubmissionView[]>(
    `${SUBMISSION_SELECT} where s.form_id = ? and s.outcome is not null${below ? ' and s.id < ?' : ''}
      order by s.id desc limit ?`,
    below ? [formId, below, size + 1] : [formId, size + 1],
  );
  return toPage(rows, size, (r) => r.id);
}
