import { describe, expect, it } from 'vitest';
import type { Context } from '../../context.js';
import { AppError } from '../../shared/errors.js';
import { mutate } from './audit.service.js';

/** A context whose transaction fails as PostgreSQL would fail it, before anything commits. */
const failingWith = (err: unknown) =>
  ({
    em: {
      transactional: async () => {
        throw err;
      },
    },
  }) as unknown as Context;

describe('mutate', () => {
  it('answers a deadlock or a serialization failure as a typed CONFLICT to retry', async () => {
    for (const code of ['40P01', '40001']) {
      const err = await mutate(failingWith(Object.assign(new Error('lost'), { code })), async () => 1).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).extensions).toMatchObject({ code: 'CONFLICT', reason: 'CONCURRENT_CHANGE' });
    }
  });

  it('passes other failures on unchanged', async () => {
    const boom = Object.assign(new Error('disk full'), { code: '53100' });
    await expect(mutate(failingWith(boom), async () => 1)).rejects.toBe(boom);
  });
});
