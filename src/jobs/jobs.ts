import { EventEmitter } from 'node:events';
import { MongoBackend } from '@agendajs/mongo-backend';
import { PostgresBackend } from '@agendajs/postgres-backend';
import { Agenda } from 'agenda';
import pg from 'pg';
import type { Config } from '../config.js';
import type { AppServices } from '../context.js';
import { defineImportJobs } from '../modules/contacts/import.recovery.js';
import { startMailQueue } from '../modules/mail/mail.queue.js';
import { defineScoreJobs } from '../modules/scores/score.jobs.js';
import { defineSendingJobs, scheduleDispatch } from '../modules/sending/sending.jobs.js';
import {
  closeWebhookPoster,
  defineWebhookJobs,
  startWebhookDispatch,
} from '../modules/webhooks/webhook.jobs.js';
import type { Logger } from '../shared/logger.js';

/**
 * Background work: Agenda (jobs that survive restarts, locked so one process runs each) and a
 * pg pool of our own for set-based work that needs one session (advisory locks, SET LOCAL).
 */
export interface Jobs {
  /** Our own pool (Agenda's too on PostgreSQL); ended on stop. */
  pool: pg.Pool;
  agenda: Agenda;
  /** Keeps a background task so `stop` waits for it instead of cutting its connection. */
  track(task: Promise<unknown>): void;
  start(services: AppServices): Promise<void>;
  stop(): Promise<void>;
}

export function createJobs(config: Config, databaseUrl: string, logger: Logger): Jobs {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 6 });
  // An idle client cut by the server (restart, shutdown) is replaced by the pool on next use.
  pool.on('error', (err) => logger.debug(`idle pg client closed: ${err.message}`));
  // The job table comes from a migration (ensureSchema: false): two processes creating it at
  // the same moment collide. With AGENDA_MONGO_URL the jobs live in MongoDB instead.
  const backend = config.agendaMongoUrl
    ? new MongoBackend({ address: config.agendaMongoUrl, collection: 'agendaJobs' })
    : new PostgresBackend({ pool, ensureSchema: false });
  // Agenda's LISTEN connection re-emits its errors on the notification channel, where nobody
  // listens: a database restart or failover would crash the process. The channel reconnects by
  // itself; we only log.
  const channel = backend.notificationChannel;
  if (channel instanceof EventEmitter) {
    channel.on('error', (err: Error) => logger.warn(`agenda notification channel: ${err.message}`));
  }
  const agenda = new Agenda({
    backend,
    name: `cible-${process.pid}`,
    processEvery: '3 seconds',
    defaultLockLifetime: 10 * 60_000,
  });
  agenda.on('error', (err) => logger.error('agenda error', err));
  const tasks = new Set<Promise<unknown>>();
  let started = false;
  let app: AppServices | null = null;
  let stopWebhookDispatch: (() => Promise<void>) | null = null;
  let stopMailQueue: (() => Promise<void>) | null = null;
  return {
    pool,
    agenda,
    track(task) {
      const t = task.catch(() => {}).finally(() => tasks.delete(t));
      tasks.add(t);
    },
    async start(services) {
      app = services;
      defineScoreJobs(agenda, services);
      await defineSendingJobs(agenda, services);
      defineWebhookJobs(agenda, services);
      await agenda.start();
      started = true;
      await defineImportJobs(agenda, services);
      await scheduleDispatch(agenda, services);
      stopWebhookDispatch = await startWebhookDispatch(agenda, services);
      stopMailQueue = startMailQueue(services);
    },
    async stop() {
      // drain, not stop: running jobs finish (bounded by SHUTDOWN_TIMEOUT_MS) instead of being
      // unlocked mid-way; what is left is unlocked when its lock lifetime ends.
      await stopWebhookDispatch?.();
      await stopMailQueue?.();
      if (started) {
        const r = await agenda.drain({ timeout: config.shutdownTimeoutMs });
        if (r.timedOut)
          logger.warn('shutdown: jobs still running at SHUTDOWN_TIMEOUT_MS', { running: r.running });
        // drain leaves the jobs this process had locked for a later run (the next dispatcher
        // tick) locked until their lifetime ends: other processes would wait that long to run
        // them. stop() unlocks them, and by now nothing of ours runs that it could cut.
        await agenda.stop(false).catch((err: Error) => logger.warn(`agenda stop: ${err.message}`));
      }
      await Promise.all([...tasks]);
      if (app) await closeWebhookPoster(app);
      await pool.end();
    },
  };
}
