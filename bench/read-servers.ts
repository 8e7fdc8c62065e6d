/**
 * The two servers `bench/read.ts` compares, each run in a child process of its own so neither
 * shares an event loop with the load generator or with the other:
 *
 * - `--role cible`: the real server (`buildApp`, as `npm start` builds it) on the bench database;
 * - `--role bare --account <id>`: a bare graphql-yoga with the same page type, answering
 *   `contacts(first)` with one SQL statement on a `pg` pool of the same size, no authentication.
 *
 * Each prints `URL <url>` on stdout once it listens and stops on SIGTERM.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSchema, createYoga } from 'graphql-yoga';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { buildApp } from '../src/server.js';
import { createLogger } from '../src/shared/logger.js';
import { arg } from './lib.js';

const role = arg('role', '');
const databaseUrl = arg('database-url', '');
const dataDir = arg('data-dir', '');

async function cible(): Promise<{ url: string; stop(): Promise<void> }> {
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    DATA_DIR: dataDir,
    TRACKING_SECRET: 'bench-secret-bench-secret-bench-secret',
    ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
  });
  const app = await buildApp(config, { databaseUrl, logger: createLogger('warn') });
  return { url: await app.start(), stop: () => app.stop() };
}

async function bare(): Promise<{ url: string; stop(): Promise<void> }> {
  const accountId = arg('account', '');
  // The size of MikroORM's pool in src/db/orm.ts.
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
  const yoga = createYoga({
    landingPage: false,
    graphiql: false,
    schema: createSchema({
      typeDefs: /* GraphQL */ `
        type Query { contacts(first: Int): ContactConnection! }
        type ContactConnection { nodes: [Contact!]! pageInfo: PageInfo! }
        type PageInfo { hasNextPage: Boolean! endCursor: String }
        type Contact { id: ID! email: String firstName: String lastName: String }
      `,
      resolvers: {
        Query: {
          contacts: async (_: unknown, args: { first?: number | null }) => {
            const size = args.first ?? 50;
            const { rows } = await pool.query(
              `select id::text, email, first_name as "firstName", last_name as "lastName"
                 from contact c where account_id = $1 order by c.id limit $2`,
              [accountId, size + 1],
            );
            const nodes = rows.slice(0, size);
            return {
              nodes,
              pageInfo: { hasNextPage: rows.length > size, endCursor: nodes.at(-1)?.id ?? null },
            };
          },
        },
      },
    }),
  });
  const server = createServer(yoga);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool.end();
    },
  };
}

if (role !== 'cible' && role !== 'bare') throw new Error('--role cible|bare');
const running = role === 'cible' ? await cible() : await bare();
process.stdout.write(`URL ${running.url}\n`);
process.once('SIGTERM', () => {
  running
    .stop()
    .catch((err) => console.error(err))
    .finally(() => process.exit(0));
});
