/**
 * Pothos enum values with a description each, in the order of `values`. The descriptions are a
 * full record, so a value added to the list without one fails to compile.
 */
export function describedValues<const V extends string>(
  values: readonly V[],
  descriptions: Record<V, string>,
): Record<V, { description: string }> {
  return Object.fromEntries(values.map((v) => [v, { description: descriptions[v] }])) as Record<
    V,
    { description: string }
  >;
}
