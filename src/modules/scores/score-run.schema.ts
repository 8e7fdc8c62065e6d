import { pipe, Repeater } from 'graphql-yoga';
import { builder, need } from '../../builder.js';
import { describedValues } from '../../shared/enum-values.js';
import { notFound } from '../../shared/errors.js';
import { RUN_STATUSES, RUN_TRIGGERS } from './score.entity.js';
import type { ScoreChange, ScoreRunProgressEvent, ScoreUpdateBatch } from './score.events.js';
import type { RunView } from './score.runner.js';
import { findRun, listRuns, runScoreComputation } from './score.service.js';

const RunTriggerEnum = builder.enumType('ScoreRunTrigger', {
  description: 'What started a computation.',
  values: describedValues(RUN_TRIGGERS, {
    MANUAL: 'runScoreComputation',
    SCHEDULED: 'The automatic run, every settings.scoreIntervalHours',
  }),
});
const RunStatusEnum = builder.enumType('ScoreRunStatus', {
  description: 'Where a computation is.',
  values: describedValues(RUN_STATUSES, {
    RUNNING: 'In progress; its changes are published once they commit',
    DONE: 'Finished: the changed values are stored and published',
    FAILED: 'Stopped with an error (see error)',
  }),
});

export const ScoreRunRef = builder.objectRef<RunView>('ScoreRun').implement({
  description: 'One computation of every score of the account.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identity, also for client caches' }),
    userId: t.exposeID('userId', { nullable: true, description: 'Who launched it; null when scheduled' }),
    trigger: t.field({ type: RunTriggerEnum, description: 'What started it', resolve: (r) => r.trigger }),
    status: t.field({ type: RunStatusEnum, description: 'Where it is', resolve: (r) => r.status }),
    contactsChanged: t.exposeInt('contactsChanged', {
      description: 'Contact score values that changed (one per contact and score)',
    }),
    startedAt: t.field({ type: 'DateTime', description: 'When it started', resolve: (r) => r.startedAt }),
    finishedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When it became DONE or FAILED; null while RUNNING',
      resolve: (r) => r.finishedAt,
    }),
    durationMs: t.exposeInt('durationMs', {
      nullable: true,
      description: 'How long it took, in milliseconds; null while RUNNING',
    }),
    error: t.exposeString('error', { nullable: true, description: 'Why it FAILED; null otherwise' }),
  }),
});

builder.mutationField('runScoreComputation', (t) =>
  t.withAuth(need('CONTACTS', 'APPROVER')).field({
    type: ScoreRunRef,
    description:
      'Computes every score of the account now, in the background: returns the RUNNING run at once (follow it with scoreRunProgress). CONFLICT while another run of the account is in progress. Automatic runs then follow every settings.scoreIntervalHours after this one. Score.lastRunAt, Score.nextRunAt and Contact.scores change when it ends: refetch them once scoreRunProgress says DONE.',
    resolve: (_r, _a, ctx) => runScoreComputation(ctx),
  }),
);

builder.queryField('scoreRuns', (t) =>
  t.withAuth(need('CONTACTS', 'GUEST')).field({
    type: [ScoreRunRef],
    description: 'The latest computations, newest first; at most 200.',
    args: {
      first: t.arg.int({
        required: false,
        description: 'How many, 1 to 200, default 50 (values outside are clamped)',
      }),
    },
    resolve: (_r, args, ctx) =>
      listRuns(ctx.em, ctx.viewer.accountId, Math.min(Math.max(args.first ?? 50, 1), 200)),
  }),
);

builder.queryField('scoreRun', (t) =>
  t.withAuth(need('CONTACTS', 'GUEST')).field({
    type: ScoreRunRef,
    nullable: true,
    description: "One computation of the account; null for unknown ids, including other accounts'.",
    args: { id: t.arg.id({ required: true, description: 'The run' }) },
    resolve: (_r, args, ctx) => findRun(ctx.em, ctx.viewer.accountId, String(args.id)),
  }),
);

// Subscription messages (ScoreChange, ScoreUpdates) are events, not objects: nothing reads them
// again, so they have no id. A client updates the Contact it caches from them, or refetches.
const ScoreChangeRef = builder.objectRef<ScoreChange & { runId: string }>('ScoreChange').implement({
  description:
    "A change of one contact's value for one score. A message of scoreUpdated, not a stored object, so it has no id.",
  fields: (t) => ({
    contactId: t.exposeID('contactId', { description: 'The contact' }),
    scoreId: t.exposeID('scoreId', { description: 'The score' }),
    runId: t.exposeID('runId', { description: 'The computation that changed it' }),
    oldValue: t.field({
      type: 'Decimal',
      nullable: true,
      description: 'null: no value before (0)',
      resolve: (c) => c.oldValue,
    }),
    newValue: t.field({ type: 'Decimal', description: 'The value now', resolve: (c) => c.newValue }),
  }),
});

const ScoreUpdatesRef = builder.objectRef<ScoreUpdateBatch>('ScoreUpdates').implement({
  description:
    'A batch of score changes of one run (at most 500 per message, 10,000 per run). truncated: the run changed more than that; refetch instead. A message, so it has no id.',
  fields: (t) => ({
    runId: t.exposeID('runId', { description: 'The computation' }),
    changes: t.field({
      type: [ScoreChangeRef],
      description: 'The changes of this batch that match the subscription, at most 500',
      resolve: (b) => b.changes.map((c) => ({ ...c, runId: b.runId })),
    }),
    truncated: t.exposeBoolean('truncated', {
      description: 'true: the run changed more than 10,000 values and this message carries none; refetch',
    }),
    totalChanged: t.exposeInt('totalChanged', { description: 'Every change of the run, shown or not' }),
  }),
});

builder.subscriptionField('scoreUpdated', (t) =>
  t.withAuth(need('CONTACTS', 'GUEST')).field({
    type: ScoreUpdatesRef,
    description:
      'Score changes of your account, after each computation commits, in batches (see ScoreUpdates). Optionally only one score and/or one contact.',
    args: {
      scoreId: t.arg.id({ required: false, description: 'Only changes of this score' }),
      contactId: t.arg.id({ required: false, description: 'Only changes of this contact' }),
    },
    subscribe: (_r, args, ctx) => {
      const scoreId = args.scoreId ? String(args.scoreId) : null;
      const contactId = args.contactId ? String(args.contactId) : null;
      const keep = (c: ScoreChange) =>
        (!scoreId || c.scoreId === scoreId) && (!contactId || c.contactId === contactId);
      return pipe(
        ctx.app.pubsub.subscribe('scoreUpdated', ctx.viewer.accountId),
        (source) =>
          new Repeater<ScoreUpdateBatch>(async (push, stop) => {
            stop.then(() => source.return?.());
            for await (const b of source) {
              const changes = b.changes.filter(keep);
              if (changes.length || b.truncated) await push({ ...b, changes });
            }
            stop();
          }),
      );
    },
    resolve: (b) => b,
  }),
);

// One progress object per run, updated by each message: its id is the run's.
const RunProgressRef = builder.objectRef<ScoreRunProgressEvent>('ScoreRunProgress').implement({
  description:
    "Where one computation is. Identified by its run's id, so a client cache keeps one progress per run, updated by each message.",
  fields: (t) => ({
    id: t.exposeID('runId', { description: "Stable identity for client caches: the run's id" }),
    runId: t.exposeID('runId', { description: 'The computation' }),
    status: t.field({ type: RunStatusEnum, description: 'Where it is', resolve: (p) => p.status }),
    scoresDone: t.exposeInt('scoresDone', { description: 'Scores computed so far' }),
    scoresTotal: t.exposeInt('scoresTotal', {
      description: 'Scores to compute; 0 in the first message, before the run has counted them',
    }),
    contactsChanged: t.exposeInt('contactsChanged', {
      description: 'Contact score values changed so far (one per contact and score)',
    }),
    error: t.exposeString('error', { nullable: true, description: 'Why it FAILED; null otherwise' }),
  }),
});

builder.subscriptionField('scoreRunProgress', (t) =>
  t.withAuth(need('CONTACTS', 'GUEST')).field({
    type: RunProgressRef,
    description:
      'The progress of one run: its current state first, then one message per score computed, then DONE or FAILED, after which the stream ends.',
    args: { runId: t.arg.id({ required: true, description: 'The run, as runScoreComputation returned it' }) },
    subscribe: (_r, args, ctx) => {
      const runId = String(args.runId);
      return new Repeater<ScoreRunProgressEvent>(async (push, stop) => {
        const events = ctx.app.pubsub.subscribe('scoreRunProgress', ctx.viewer.accountId);
        const stopped = stop.then(() => ({ done: true, value: undefined }) as const);
        // The subscription listens from its first pull: start it before reading the run, so an
        // end published in between is not lost (as importProgress does).
        let next = events.next();
        try {
          const run = await findRun(ctx.em, ctx.viewer.accountId, runId);
          if (!run) {
            stop(notFound('Score run'));
            return;
          }
          await push({
            runId,
            status: run.status,
            scoresDone: 0,
            scoresTotal: 0,
            contactsChanged: run.contactsChanged,
            error: run.error,
          });
          if (run.status !== 'RUNNING') return;
          for (;;) {
            const { value, done } = await Promise.race([next, stopped]);
            if (done) return;
            next = events.next();
            if (value.runId !== runId) continue;
            await push(value);
            if (value.status !== 'RUNNING') return;
          }
        } finally {
          stop();
          await events.return?.();
        }
      });
    },
    resolve: (p) => p,
  }),
);
