/**
 * A table looked up by words from outside (a reply's code, a header's value, a field's name a
 * user gives): built without a prototype, so "constructor", "toString" or "__proto__" find
 * nothing in it, and a plain `table[key]` is safe.
 */
export function lookupTable<V>(entries: Record<string, V>): Readonly<Record<string, V>> {
  return Object.freeze(Object.assign(Object.create(null) as Record<string, V>, entries));
}
