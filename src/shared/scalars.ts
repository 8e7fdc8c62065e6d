import { GraphQLError, Kind } from 'graphql';
import { builder } from '../builder.js';
import { badInput } from './errors.js';

/**
 * RFC 3339 section 5.6 `date-time`: a full date, `T`, a time with optional fractions, and a
 * mandatory offset. `new Date()` alone would also take "2026-01-01" or "Jan 1 2026" and read a
 * missing offset as the server's local time.
 */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

/**
 * Years 1 to 9999 in UTC: PostgreSQL has no year 0 (and JavaScript's year 0 is 1 BC), and
 * PostgreSQL's timestamptz ends in 294276, before JavaScript's +275760; outside this range a
 * value reached the database and failed there (a masked error).
 */
const MIN_MS = new Date('0001-01-01T00:00:00.000Z').getTime();
const MAX_MS = new Date('9999-12-31T23:59:59.999Z').getTime();

const leap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const daysIn = (year: number, month: number) =>
  month === 2 ? (leap(year) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;

const DATE_TIME_HINT = 'DateTime must be an RFC 3339 date-time, e.g. 2026-11-23T10:15:00Z';

function parseDateTime(value: unknown): Date {
  const m = typeof value === 'string' ? RFC3339.exec(value) : null;
  if (!m) throw badInput(DATE_TIME_HINT);
  const [year, month, day, hour, minute, second, , offH, offM] = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) =>
    Number(m[i] ?? 0),
  );
  // new Date() rolls 2026-02-31 over to March 3 and 24:00 to the next day: checked by hand.
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59)
    throw badInput(`${DATE_TIME_HINT}: no such date or time`);
  if (second > 59 || offH > 23 || offM > 59) throw badInput(`${DATE_TIME_HINT}: no such time or offset`);
  const d = new Date(value as string);
  if (Number.isNaN(d.getTime())) throw badInput(DATE_TIME_HINT);
  if (d.getTime() < MIN_MS || d.getTime() > MAX_MS)
    throw badInput('DateTime must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z');
  return d;
}

builder.scalarType('DateTime', {
  description:
    'An instant as an RFC 3339 date-time. Outputs are always UTC with milliseconds (2026-11-23T10:15:00.000Z); inputs need the offset (Z or ±hh:mm), are read to the millisecond, and lie in the years 0001 to 9999 (UTC).',
  specifiedByURL: 'https://datatracker.ietf.org/doc/html/rfc3339#section-5.6',
  serialize: (value) => (value instanceof Date ? value.toISOString() : new Date(value).toISOString()),
  parseValue: parseDateTime,
  parseLiteral: (ast) => parseDateTime(ast.kind === Kind.STRING ? ast.value : null),
});

builder.scalarType('JSON', {
  description:
    'Any JSON value (RFC 8259): object, array, string, number, boolean or null. Used where the shape varies; each JSON field has a typed sibling to read instead.',
  specifiedByURL: 'https://datatracker.ietf.org/doc/html/rfc8259',
  serialize: (value) => value,
  parseValue: (value) => value,
});

builder.scalarType('File', {
  description:
    'A file sent as a part of a multipart request (GraphQL multipart request spec); input only, never returned.',
  specifiedByURL: 'https://github.com/jaydenseric/graphql-multipart-request-spec',
  serialize: () => {
    throw new GraphQLError('File is an input-only scalar');
  },
  parseValue: (value) => {
    // yoga's File is a ponyfill, not always the global class: check the shape, not the prototype.
    if (typeof (value as Blob | null)?.stream !== 'function')
      throw new GraphQLError('File must be an uploaded file part');
    return value as File;
  },
});
