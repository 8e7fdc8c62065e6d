import { ConfigError, loadConfig } from './config.js';
import { resolveDatabase } from './db/database.js';
import { migrate, openOrm } from './db/orm.js';
import { seedDemoOwner } from './db/seed.js';
import { buildApp } from './server.js';
import { createLogger } from './shared/logger.js';
import { close as closeWorkers } from './workers/workers.js';

/** `npm start`: the database (embedded unless DATABASE_URL), migrations, demo seed, server. */
async function main() {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`Configuration error: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  const { url, embedded } = await resolveDatabase(config, logger);

  const setupOrm = await openOrm(url);
  await migrate(setupOrm);
  const demo = await seedDemoOwner(setupOrm, config.freeCredits);
  await setupOrm.close();

  const app = await buildApp(config, { databaseUrl: url, logger });
  const endpoint = await app.start();
  // One write, so whoever reads the output sees the URL and the credentials together.
  const lines = [`\nCible is serving ${endpoint} (GraphiQL in a browser, HTTP, SSE and graphql-ws)`];
  if (demo) {
    lines.push(
      '\nFirst start: a demo account was created. Its owner logs in with',
      `  email:    ${demo.email}`,
      `  password: ${demo.password}`,
      'This password is shown only once.\n',
    );
  }
  console.log(lines.join('\n'));

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      // A second Ctrl-C means "now": PostgreSQL is still stopped on the way out (fast mode).
      logger.warn(`${signal} again: stopping without waiting`);
      await embedded?.stop().catch(() => {});
      process.exit(1);
    }
    stopping = true;
    logger.info(`${signal}: stopping (in-flight requests and jobs get up to ${config.shutdownTimeoutMs} ms)`);
    // Requests and jobs each get the timeout; past twice that plus the database's own stop,
    // something is stuck and a supervisor waiting on us would rather see us exit.
    const stuck = setTimeout(
      () => {
        logger.error('shutdown did not finish in time: exiting');
        process.exit(1);
      },
      2 * config.shutdownTimeoutMs + 15_000,
    );
    stuck.unref();
    let code = 0;
    try {
      await app.stop();
      // The pools are the process's, not the app's (tests run several apps in one process):
      // closed here, once nothing can call them any more.
      await closeWorkers();
    } catch (err) {
      logger.error('error while stopping the server', err);
      code = 1;
    }
    try {
      await embedded?.stop();
    } catch (err) {
      logger.error('error while stopping the embedded database', err);
      code = 1;
    }
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGHUP', () => void shutdown('SIGHUP'));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
