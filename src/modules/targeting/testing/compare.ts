/** What the property test reports when the SQL and the oracle disagree on a tree. */
export interface Failure {
  seed: number;
  index: number;
  what: string;
  tree: string;
  expected: number;
  got: number | string;
  onlyOracle?: string[];
  onlySql?: string[];
}

/** null when the two agree, else what differs (the first few ids on each side). */
export function diff(what: string, expected: string[], got: string[] | number | Error) {
  if (got instanceof Error) return { what, expected: expected.length, got: got.message };
  if (typeof got === 'number')
    return got === expected.length ? null : { what, expected: expected.length, got };
  if (expected.length === got.length && expected.every((x, i) => x === got[i])) return null;
  const e = new Set(expected);
  const g = new Set(got);
  return {
    what,
    expected: expected.length,
    got: got.length,
    onlyOracle: expected.filter((x) => !g.has(x)).slice(0, 5),
    onlySql: got.filter((x) => !e.has(x)).slice(0, 5),
  };
}
