/**
 * A small DataLoader-like batcher for computed per-row fields (a contact's last bounce, its
 * bounces): sibling resolvers of one list ask for their key, and the keys asked during one turn
 * of the event loop are loaded by one call, so a page of N contacts costs one query, not N.
 *
 * Batches are scoped to the operation (its forked EntityManager, held weakly) and to a name
 * (which should include any argument that changes the query). Nothing is cached once a batch has
 * run: a subscription keeps its context for hours and must never serve rows read earlier.
 */
type Load<V> = (keys: string[]) => Promise<Map<string, V>>;

interface Pending {
  keys: Set<string>;
  done: Promise<Map<string, unknown>>;
}

const pendingByScope = new WeakMap<object, Map<string, Pending>>();

export function batched<V>(scope: object, name: string, key: string, load: Load<V>): Promise<V | undefined> {
  let byName = pendingByScope.get(scope);
  if (!byName) {
    byName = new Map();
    pendingByScope.set(scope, byName);
  }
  let pending = byName.get(name);
  if (!pending) {
    const keys = new Set<string>();
    const open = byName;
    // setImmediate rather than a microtask: graphql-js resolves list items through promise chains
    // (scope checks, async parents), which all settle before the next macrotask.
    const done = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      open.delete(name);
      return load([...keys]) as Promise<Map<string, unknown>>;
    });
    pending = { keys, done };
    byName.set(name, pending);
  }
  pending.keys.add(key);
  return pending.done.then((found) => found.get(key) as V | undefined);
}
