import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import type { AppError } from '../shared/errors.js';
import { maskError } from './mask-error.js';

/** An error as resolvers throw it, wrapped by graphql-js as it reaches the response. */
const thrown = (err: Error) => new GraphQLError(err.message, { originalError: err, path: ['deleteWebhook'] });

describe('maskError', () => {
  it('answers a deadlock or a serialization failure as CONFLICT (CONCURRENT_CHANGE), to retry', () => {
    for (const code of ['40P01', '40001']) {
      // The driver's error, and one wrapped with the SQLSTATE only on its cause (MikroORM's
      // DriverException copies it onto itself too).
      const driver = Object.assign(new Error('deadlock detected'), { code });
      const wrapped = Object.assign(new Error('DeadlockException'), { cause: driver });
      for (const e of [driver, wrapped]) {
        const masked = maskError(thrown(e), 'Unexpected error.');
        expect((masked as AppError).extensions).toMatchObject({
          code: 'CONFLICT',
          reason: 'CONCURRENT_CHANGE',
        });
      }
    }
  });

  it('masks any other failure as yoga does, without its message', () => {
    const masked = maskError(
      thrown(Object.assign(new Error('disk full at /var/lib'), { code: '53100' })),
      'Unexpected error.',
    );
    expect(masked.message).toBe('Unexpected error.');
    expect(JSON.stringify(masked)).not.toContain('disk full');
  });
});
