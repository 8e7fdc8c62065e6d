// Any hex UUID PostgreSQL accepts (not only version 4: ids a client chose may be of any version).
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are UUIDs; anything else cannot name a row, so it is simply not found. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** Contacts, events and bounces have bigint ids, passed as decimal strings. */
export function isRowId(value: string): boolean {
  return /^\d{1,18}$/.test(value);
}
