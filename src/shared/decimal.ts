import { GraphQLError, Kind } from 'graphql';
import { builder } from '../builder.js';

/** Up to 14 integer digits and 6 decimals: fits numeric(20,6) exactly. */
const DECIMAL = /^-?\d{1,14}(\.\d{1,6})?$/;

/** Canonical text of an exact decimal ("-015.50" -> "-15.5"); throws on anything else. */
export function parseDecimal(raw: unknown, what = 'Decimal'): string {
  const v = typeof raw === 'string' ? raw.trim() : typeof raw === 'number' ? String(raw) : null;
  if (v === null || !DECIMAL.test(v))
    throw new GraphQLError(
      `${what} must be a decimal written as text, e.g. "1.25" or "-15" (up to 6 decimals)`,
      {
        extensions: { code: 'BAD_USER_INPUT' },
      },
    );
  return normaliseDecimal(v);
}

/** Drops leading zeros, trailing fractional zeros and "-0": pure text, no float involved. */
export function normaliseDecimal(v: string): string {
  let [int, frac = ''] = v.split('.');
  const neg = int.startsWith('-');
  if (neg) int = int.slice(1);
  int = int.replace(/^0+(?=\d)/, '');
  frac = frac.replace(/0+$/, '');
  const abs = frac ? `${int}.${frac}` : int;
  return neg && /[1-9]/.test(abs) ? `-${abs}` : abs;
}

builder.scalarType('Decimal', {
  description:
    'An exact decimal number written as a string ("1.25", "-15"); never a binary float. Inputs take an optional minus sign, 1 to 14 digits before the point and up to 6 after (no exponent); outputs drop leading and trailing zeros.',
  // The lexical form of XML Schema's decimal, restricted as above (no "+", no bare ".5").
  specifiedByURL: 'https://www.w3.org/TR/xmlschema11-2/#decimal',
  serialize: (value) => normaliseDecimal(String(value)),
  parseValue: (value) => {
    if (typeof value !== 'string') throw new GraphQLError('Decimal must be given as a string, e.g. "1.25"');
    return parseDecimal(value);
  },
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw new GraphQLError('Decimal must be given as a string, e.g. "1.25"');
    return parseDecimal(ast.value);
  },
});
