import type { EntityManager } from '@mikro-orm/postgresql';
import type pg from 'pg';
import { toOrmBindings } from './positional.js';

/**
 * SQL with $n placeholders on whichever connection the caller's transaction holds: the ORM's
 * (resolvers, jobs on the ORM) or a pg client's (a send batch's outcomes), so one function serves
 * both.
 */
export type Exec = <T = Record<string, unknown>>(sql: string, params: unknown[]) => Promise<T[]>;

export const ormExec =
  (em: EntityManager): Exec =>
  (sql, params) => {
    const b = toOrmBindings(sql, params);
    return em.execute(b.sql, b.bindings);
  };

export const pgExec =
  (client: pg.PoolClient): Exec =>
  async <T>(sql: string, params: unknown[]) =>
    (await client.query(sql, params)).rows as T[];
