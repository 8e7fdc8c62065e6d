import { GraphQLError } from 'graphql';

/** The error codes of the API contract (DESIGN.md); clients switch on `extensions.code`. */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'RATE_LIMITED'
  /** A bounded read (segment count or page) ran past QUERY_TIMEOUT_MS and was stopped. */
  | 'TIMEOUT';

/**
 * An expected failure: a GraphQLError, so yoga shows its message and code to the client, while
 * anything else is masked as "Unexpected error." without a stack trace.
 */
export class AppError extends GraphQLError {
  constructor(code: ErrorCode, message: string, extra: Record<string, unknown> = {}) {
    super(message, { extensions: { code, ...extra } });
  }
}

export const badInput = (message: string, extra?: Record<string, unknown>) =>
  new AppError('BAD_USER_INPUT', message, extra);
export const notFound = (what: string) => new AppError('NOT_FOUND', `${what} not found`);
export const conflict = (message: string, extra?: Record<string, unknown>) =>
  new AppError('CONFLICT', message, extra);
export const forbidden = (message = 'You do not have the rights for this action') =>
  new AppError('FORBIDDEN', message);
/**
 * True whether no token came or a wrong one did, and names every place a token is read, so whoever
 * sent it where it is not read learns where it goes.
 */
export const unauthenticated = (
  message = 'Log in first: no valid session token came with this request. Send the header Authorization: Bearer <token> (the token of login); over graphql-ws, put it in connectionParams ({ "authorization": "Bearer <token>" }) or in the subscribe message\'s extensions.headers (as GraphiQL sends its Headers tab)',
) => new AppError('UNAUTHENTICATED', message);

/** PostgreSQL's unique_violation, as thrown by pg or wrapped by MikroORM. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; name?: string };
  return e?.code === '23505' || e?.name === 'UniqueConstraintViolationException';
}
