import { badInput } from '../../shared/errors.js';
import { isRowId } from '../../shared/ids.js';
import { afterInOrder, decodeCursor } from '../../shared/pagination.js';
import type { ContactOrder } from './contact.service.js';

/** `created_at::text` as PostgreSQL writes it (contact.service's sort key for CREATED_AT). */
const PG_TIMESTAMPTZ = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2}){0,2}$/;

/** The name of an order in the cursors of its pages: `CREATED_AT.desc`. */
export const contactOrderName = (order: { field: ContactOrder; desc: boolean }) =>
  `${order.field}.${order.desc ? 'desc' : 'asc'}`;

/**
 * Checks a contacts cursor against the page's order and its own shape before any SQL reads it:
 * a cursor of another order, or a forged sort value, reached PostgreSQL as a bad timestamp or
 * bigint (a masked error). Returns the plain cursor listContacts reads.
 */
export function contactsAfter(
  after: string | null | undefined,
  order: { field: ContactOrder; desc: boolean },
): string | null {
  const plain = afterInOrder(after, contactOrderName(order));
  if (plain === null) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(decodeCursor(plain) as string);
  } catch {
    parsed = null;
  }
  const ok =
    Array.isArray(parsed) &&
    parsed.length === 2 &&
    typeof parsed[0] === 'string' &&
    typeof parsed[1] === 'string' &&
    isRowId(parsed[1]) &&
    (order.field !== 'CREATED_AT' || PG_TIMESTAMPTZ.test(parsed[0])) &&
    parsed[0].length <= 1000;
  if (!ok) throw badInput('after: not a cursor returned by this API');
  return plain;
}
