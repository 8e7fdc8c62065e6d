import type { ObjectRef } from '@pothos/core';
import { type BuilderTypes, builder } from '../builder.js';
import { badInput } from './errors.js';

export const MAX_PAGE = 200;
export const DEFAULT_PAGE = 50;

export interface Page<T> {
  nodes: T[];
  hasNextPage: boolean;
  endCursor: string | null;
  /**
   * The cursor of the node at this index of the page (toPage sets it; an empty page may leave it
   * out). A function, so a page read through `nodes` alone encodes no cursor but the last.
   */
  cursorAt?: (index: number) => string;
}

/** Longer than any cursor this API writes (a contact's sort value is at most 1000 characters). */
export const MAX_CURSOR_LENGTH = 4096;

/**
 * A cursor is `c:<key>`, or `o:<order>:<key>` when the field has several orders: a cursor read
 * in another order than its page's compared the wrong columns (a created_at with an id: a masked
 * database error), and a client does that whenever it changes the sort.
 */
export const encodeCursor = (key: string, order?: string) =>
  Buffer.from(order ? `o:${order}:${key}` : `c:${key}`, 'utf8').toString('base64url');

const notACursor = () => badInput('after: not a cursor returned by this API');

export function decodeCursor(cursor: string | null | undefined, order?: string): string | null {
  if (!cursor) return null;
  if (cursor.length > MAX_CURSOR_LENGTH) throw notACursor();
  const raw = Buffer.from(cursor, 'base64url').toString('utf8');
  // The key goes to SQL as a parameter: PostgreSQL refuses NUL in text.
  if (raw.includes('\u0000')) throw notACursor();
  if (order) {
    if (raw.startsWith(`o:${order}:`)) return raw.slice(order.length + 3);
    if (raw.startsWith('o:') || raw.startsWith('c:'))
      throw badInput(
        `after: this cursor belongs to another order than ${order}: when the order changes, start again without after`,
        { reason: 'CURSOR_ORDER' },
      );
    throw notACursor();
  }
  if (!raw.startsWith('c:')) throw notACursor();
  return raw.slice(2);
}

/**
 * For a service that pages with plain cursors: checks that `after` belongs to `order` and
 * returns it as the plain cursor the service reads (null without one).
 */
export function afterInOrder(after: string | null | undefined, order: string): string | null {
  const key = decodeCursor(after, order);
  return key === null ? null : encodeCursor(key);
}

/** The same page with its cursors naming `order` (the inverse of afterInOrder). */
export function pageInOrder<T>(page: Page<T>, order: string): Page<T> {
  const plain = page.cursorAt;
  if (!plain) return page;
  const cursorAt = (i: number) => encodeCursor(decodeCursor(plain(i)) as string, order);
  return { ...page, cursorAt, endCursor: page.nodes.length ? cursorAt(page.nodes.length - 1) : null };
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
  const cursorAt = (i: number) => encodeCursor(keyOf(nodes[i]));
  return {
    nodes,
    cursorAt,
    hasNextPage: rows.length > size,
    endCursor: nodes.length ? cursorAt(nodes.length - 1) : null,
  };
}

function cursorsOf<T>(page: Page<T>): (index: number) => string {
  if (page.cursorAt) return page.cursorAt;
  // A page built by hand with nodes but no cursors is a bug in its service, not bad input.
  return () => {
    throw new Error('a connection page has nodes without cursors: build it with toPage');
  };
}

/** Pages go forward only (first/after), so there is no `last`/`before` and no previous page. */
export const PageInfo = builder.objectRef<Page<unknown>>('PageInfo').implement({
  description:
    'Where a page starts and ends, in the shape Relay expects. Pages go forward only: pass `endCursor` as `after` to get the next one. An embedded value of its connection, so it has no id.',
  fields: (t) => ({
    hasNextPage: t.exposeBoolean('hasNextPage', {
      description: 'true when at least one more item follows this page',
    }),
    hasPreviousPage: t.boolean({
      description:
        'Always false: pagination is forward only (first/after, no last/before), which the Relay specification allows',
      resolve: () => false,
    }),
    startCursor: t.string({
      nullable: true,
      description: 'The cursor of the first item of this page; null when the page is empty',
      resolve: (p) => (p.nodes.length ? cursorsOf(p)(0) : null),
    }),
    endCursor: t.exposeString('endCursor', {
      nullable: true,
      description:
        'The cursor of the last item of this page, to pass as `after`; null when the page is empty',
    }),
  }),
});

/**
 * A Relay connection `<Name>Connection { edges { cursor node } nodes pageInfo }` for a node type.
 * `nodes` stays beside `edges` for clients that need no per-item cursor.
 */
export function connection<T>(name: string, nodeRef: ObjectRef<BuilderTypes, T>) {
  const edge = builder.objectRef<{ cursor: string; node: T }>(`${name}Edge`).implement({
    description: `One ${name} of a page with its cursor. An embedded value of its connection, so it has no id (the ${name} node has its own identity).`,
    fields: (t) => ({
      cursor: t.exposeString('cursor', {
        description: 'Opaque; pass it as `after` to get the items that follow this one',
      }),
      node: t.expose('node', { type: nodeRef, description: `The ${name} itself` }),
    }),
  });
  return builder.objectRef<Page<T>>(`${name}Connection`).implement({
    description: `A page of ${name} items in the order asked for; at most ${MAX_PAGE} per page. An embedded value of the field that returns it, so it has no id.`,
    fields: (t) => ({
      edges: t.field({
        type: [edge],
        description: 'The items of this page, each with its cursor (the Relay connection shape)',
        resolve: (p) => {
          const cursorAt = cursorsOf(p);
          return p.nodes.map((node, i) => ({ cursor: cursorAt(i), node }));
        },
      }),
      nodes: t.field({
        type: [nodeRef],
        description: 'The same items as edges, without cursors',
        resolve: (p) => p.nodes,
      }),
      pageInfo: t.field({
        type: PageInfo,
        description: 'Whether more items follow, and the cursors where this page starts and ends',
        resolve: (p) => p as Page<unknown>,
      }),
    }),
  });
}
