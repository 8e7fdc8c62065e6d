/**
 * A statement written with PostgreSQL's `$n` placeholders (the targeting compiler's, which the
 * pg pools run as is), turned into the `?` form MikroORM's `em.execute` binds, so it can run
 * inside an ORM transaction: each `$n` becomes `?` and its value is pushed in order of use (a
 * value used twice is bound twice). The compiled SQL never holds a `?` of its own: values are
 * always parameters, and jsonb's `?` operators are written as jsonb_exists_any.
 */
export function toOrmBindings(sql: string, params: readonly unknown[]): { sql: string; bindings: unknown[] } {
  if (sql.includes('?')) throw new Error('a $n statement holds a "?": it cannot be bound by the ORM');
  const bindings: unknown[] = [];
  const out = sql.replace(/\$(\d+)/g, (_m, n: string) => {
    const i = Number(n) - 1;
    if (i < 0 || i >= params.length) throw new Error(`$${n} has no value`);
    bindings.push(params[i]);
    return '?';
  });
  return { sql: out, bindings };
}
