import type { Agenda } from 'agenda';
import type { AppServices } from '../../context.js';
import { AppError } from '../../shared/errors.js';
import { DEFAULT_SETTINGS } from '../account/account.entity.js';
import { startScoreRun } from './score.runner.js';

/** One job per account (unique on data.accountId), rescheduled by each run. */
export const SCORE_JOB = 'scores:compute';

interface ScoreJobData {
  accountId: string;
}

async function intervalHours(app: AppServices, accountId: string): Promise<number> {
  const { rows } = await app.jobs.pool.query<{ h: number | null }>(
    `select (settings->>'scoreIntervalHours')::int as h from account where id = $1`,
    [accountId],
  );
  return rows[0]?.h ?? DEFAULT_SETTINGS.scoreIntervalHours;
}

async function setNextRunAt(app: AppServices, accountId: string, at: Date) {
  await app.jobs.pool.query('update score set next_run_at = $2 where account_id = $1', [accountId, at]);
}

/** After a manual run at `from`: the automatic runs restart `scoreIntervalHours` after it. */
export async function scheduleScoreRun(app: AppServices, accountId: string, from: Date): Promise<Date> {
  const at = new Date(from.getTime() + (await intervalHours(app, accountId)) * 3_600_000);
  await app.jobs.agenda
    .create<ScoreJobData>(SCORE_JOB, { accountId })
    .unique({ 'data.accountId': accountId })
    .schedule(at)
    .save();
  await setNextRunAt(app, accountId, at);
  return at;
}

export function defineScoreJobs(agenda: Agenda, app: AppServices): void {
  agenda.define<ScoreJobData>(
    SCORE_JOB,
    async (job) => {
      const { accountId } = job.attrs.data;
      const startedAt = new Date();
      // The next run is counted from this one and saved with the job when it completes.
      const next = new Date(startedAt.getTime() + (await intervalHours(app, accountId)) * 3_600_000);
      job.schedule(next);
      await setNextRunAt(app, accountId, next);
      try {
        const { done } = await startScoreRun(
          { pool: app.jobs.pool, pubsub: app.pubsub, logger: app.logger },
          accountId,
          null,
          'SCHEDULED',
        );
        const run = await done;
        if (run.status === 'FAILED') throw new Error(run.error ?? 'score run failed');
      } catch (err) {
        // Another process (or a manual run) is computing this account right now: nothing to do.
        if (err instanceof AppError && err.extensions.code === 'CONFLICT') {
          app.logger.info(`scheduled score run for ${accountId} skipped: one is already running`);
          return;
        }
        throw err;
      }
    },
    { concurrency: 2, lockLifetime: 30 * 60_000 },
  );
}
