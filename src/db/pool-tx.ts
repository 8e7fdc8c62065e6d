import type pg from 'pg';

/**
 * `fn` in one transaction on a client of `pool` (set-based work that needs one session: advisory
 * locks, SET LOCAL, a claim then its update): committed when it returns, rolled back when it
 * throws, the client released either way.
 */
export async function inPoolTransaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const value = await fn(client);
    await client.query('commit');
    return value;
  } catch (err) {
    await client.query('rollback').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
