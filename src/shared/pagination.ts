import type { ObjectRef } from '@pothos/core';
import { type BuilderTypes, builder } from '../builder.js';
import { badInput } from './errors.js';

export const MAX_PAGE = 200;
export const DEFAULT_PAGE = 50;

export interface Page<T> {
  nodes: T[];
  hasNextPage: boolean;
  endCursor: string | null;
}

export const encodeCursor = (key: string) => Buffer.from(`c:${key}`, 'utf8').toString('base64url');

export function decodeCursor(cursor: string | null | undefined): string | null {
  if (!cursor) return null;
  const raw = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!raw.startsWith('c:')) throw badInput('after: not a cursor returned by this API');
  return raw.slice(2);
}

export function pageSize(first: number | null | undefined): number {
  const n = first ?? DEFAULT_PAGE;
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE)
    throw badInput(`first must be between 1 and ${MAX_PAGE}`);
  return n;
}

/** Turns `size + 1` rows fetched in order into a page, the extra row telling there is more. */
export function toPage<T>(rows: T[], size: number, keyOf: (row: T) => string): Page<T> {
  const nodes = rows.slice(0, size);
  const last = nodes.at(-1);
  return { nodes, hasNextPage: rows.length > size, endCursor: last ? encodeCursor(keyOf(last)) : null };
}

export const PageInfo = builder
  .objectRef<{ hasNextPage: boolean; endCursor: string | null }>('PageInfo')
  .implement({
    description: 'Where a page ends; pass `endCursor` as `after` to get the next one.',
    fields: (t) => ({
      hasNextPage: t.exposeBoolean('hasNextPage'),
      endCursor: t.exposeString('endCursor', { nullable: true }),
    }),
  });

/** A connection type `<Name>Connection { nodes pageInfo }` for a node type. */
export function connection<T>(name: string, nodeRef: ObjectRef<BuilderTypes, T>) {
  return builder.objectRef<Page<T>>(`${name}Connection`).implement({
    description: `A page of ${name} items, newest or first in order; at most ${MAX_PAGE} per page.`,
    fields: (t) => ({
      nodes: t.field({ type: [nodeRef], resolve: (p) => p.nodes }),
      pageInfo: t.field({ type: PageInfo, resolve: (p) => p }),
    }),
  });
}
