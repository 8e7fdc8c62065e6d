import { ConfigError, loadConfig } from './config.js';
import { resolveDatabase } from './db/database.js';
import { migrate, openOrm } from './db/orm.js';
import { seedDemoOwner } from './db/seed.js';
import { buildApp } from './server.js';
import { createLogger } from './shared/logger.js';

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
  const demo = await seedDemoOwner(setupOrm);
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
    if (stopping) return;
    stopping = true;
    logger.info(`${signal}: stopping`);
    try {
      await app.stop();
      await embedded?.stop();
    } catch (err) {
      logger.error('error while stopping', err);
    }
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGHUP', () => void shutdown('SIGHUP'));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
