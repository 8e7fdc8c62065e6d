import { createHash } from 'node:crypto';
import { createGraphQLError, type Plugin } from 'graphql-yoga';

/** Defaults: a few hundred distinct operations is what one front end sends; room to spare. */
export const APQ_MAX_ENTRIES = 1000;
export const APQ_MAX_BYTES = 4 * 1024 * 1024;

/**
 * Least recently used queries by hash, bounded in count and in total bytes: anyone can register
 * a query (that is the protocol), so the store must not grow with what clients send. A Map keeps
 * insertion order; a hit moves the entry to the end, eviction takes from the front.
 */
export class QueryStore {
  private entries = new Map<string, string>();
  private bytes = 0;

  constructor(
    readonly maxEntries = APQ_MAX_ENTRIES,
    readonly maxBytes = APQ_MAX_BYTES,
  ) {}

  get size() {
    return this.entries.size;
  }

  get totalBytes() {
    return this.bytes;
  }

  get(hash: string): string | undefined {
    const query = this.entries.get(hash);
    if (query !== undefined) {
      this.entries.delete(hash);
      this.entries.set(hash, query);
    }
    return query;
  }

  set(hash: string, query: string): void {
    const cost = costOf(hash, query);
    if (cost > this.maxBytes) return; // would evict everything else and still not fit
    this.delete(hash);
    this.entries.set(hash, query);
    this.bytes += cost;
    for (const [oldest, q] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= costOf(oldest, q);
    }
  }

  private delete(hash: string) {
    const q = this.entries.get(hash);
    if (q === undefined) return;
    this.entries.delete(hash);
    this.bytes -= costOf(hash, q);
  }
}

const costOf = (hash: string, query: string) => hash.length + Buffer.byteLength(query);

interface PersistedQueryExtension {
  version?: unknown;
  sha256Hash?: unknown;
}

const fail = (message: string, code: string, status: number) =>
  createGraphQLError(message, { extensions: { code, http: { status } } });

/**
 * Automatic persisted queries as Apollo's `createPersistedQueryLink` speaks them: the client
 * sends `extensions.persistedQuery { version: 1, sha256Hash }` without the query; an unknown hash
 * answers PersistedQueryNotFound, and the client sends query and hash once, which we verify
 * before storing. Written here rather than @graphql-yoga/plugin-apq, whose 3.x line still
 * requires @graphql-tools/utils 10 beside yoga's 11 (npm refuses the tree).
 */
export function useAutomaticPersistedQueries(store: QueryStore): Plugin {
  return {
    onParams({ params, setParams }) {
      const pq = (params.extensions as { persistedQuery?: PersistedQueryExtension } | undefined)
        ?.persistedQuery;
      if (pq == null) return;
      if (pq.version !== 1) {
        throw fail('Unsupported persisted query version: only version 1 is known', 'BAD_USER_INPUT', 400);
      }
      const hash = typeof pq.sha256Hash === 'string' ? pq.sha256Hash.toLowerCase() : '';
      if (!/^[0-9a-f]{64}$/.test(hash)) {
        throw fail('persistedQuery.sha256Hash must be 64 hexadecimal characters', 'BAD_USER_INPUT', 400);
      }
      if (params.query == null) {
        const query = store.get(hash);
        // Apollo's link recognises this message and code, then retries with the full query.
        if (query === undefined) throw fail('PersistedQueryNotFound', 'PERSISTED_QUERY_NOT_FOUND', 200);
        setParams({ ...params, query });
        return;
      }
      if (createHash('sha256').update(params.query).digest('hex') !== hash) {
        throw fail('persistedQuery.sha256Hash does not match the query', 'BAD_USER_INPUT', 400);
      }
      store.set(hash, params.query);
    },
  };
}
