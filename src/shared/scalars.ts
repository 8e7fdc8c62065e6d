import { GraphQLError, Kind } from 'graphql';
import { builder } from '../builder.js';

/**
 * RFC 3339 section 5.6 `date-time`: a full date, `T`, a time with optional fractions, and a
 * mandatory offset. `new Date()` alone would also take "2026-01-01" or "Jan 1 2026" and read a
 * missing offset as the server's local time.
 */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function parseDateTime(value: unknown): Date {
  const d = typeof value === 'string' && RFC3339.test(value) ? new Date(value) : null;
  if (!d || Number.isNaN(d.getTime()))
    throw new GraphQLError('DateTime must be an RFC 3339 date-time, e.g. 2026-11-23T10:15:00Z');
  return d;
}

builder.scalarType('DateTime', {
  description:
    'An instant as an RFC 3339 date-time. Outputs are always UTC with milliseconds (2026-11-23T10:15:00.000Z); inputs need the offset (Z or ±hh:mm) and are read to the millisecond.',
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
