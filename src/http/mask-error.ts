import { GraphQLError } from 'graphql';
import { maskError as yogaMask } from 'graphql-yoga';
import { concurrentChange, isRetryable } from '../db/retry.js';

/**
 * yoga's masking, except for a deadlock or serialization failure that no rerun absorbed (the
 * services that expect them rerun themselves, retryTransaction): the call was rolled back as a
 * whole because of another transaction, so the client gets a typed CONFLICT to retry, not an
 * INTERNAL_SERVER_ERROR. A webhook deleted while its batch was recorded answered the latter.
 */
export function maskError(error: unknown, message: string, isDev?: boolean): Error {
  const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  if (!isRetryable(original)) return yogaMask(error, message, isDev);
  const typed = concurrentChange();
  if (!(error instanceof GraphQLError)) return typed;
  // Where it happened, as yoga's masking keeps it: a client that sent several fields knows which.
  return new GraphQLError(typed.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions: typed.extensions,
  });
}
