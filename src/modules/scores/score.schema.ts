import { pipe, Repeater } from 'graphql-yoga';
import { builder, need } from '../../builder.js';
import { notFound } from '../../shared/errors.js';
import { ContactRef } from '../contacts/contact.schema.js';
import { contactScores } from './contact-scores.js';
import { CriterionInput } from './criterion/criterion.schema.js';
import { RUN_STATUSES, RUN_TRIGGERS, SCORE_MODES } from './score.entity.js';
import type { ScoreChange, ScoreRunProgressEvent, ScoreUpdateBatch } from './score.events.js';
import type { RunView } from './score.runner.js';
import {
  type ConditionView,
  createScore,
  deleteScores,
  findRun,
  findScore,
  listRuns,
  listScores,
  MAX_CONDITIONS,
  MAX_DELETE_SCORES,
  runScoreComputation,
  type ScoreView,
  updateScore,
} from './score.service.js';

export const ScoreModeEnum = builder.enumType('ScoreMode', {
  description:
    'FIXED: the value once if the contact matches. FIXED_PER_EVENT: the value once per matching event recorded since the previous computation (accumulates). FIELD_VALUE: the NUMBER field of the criterion at computation time times the coefficient.',
  values: SCORE_MODES,
});
const RunTriggerEnum = builder.enumType('ScoreRunTrigger', { values: RUN_TRIGGERS });
const RunStatusEnum = builder.enumType('ScoreRunStatus', { values: RUN_STATUSES });

const ConditionRef = builder.objectRef<ConditionView>('ScoreCondition').implement({
  fields: (t) => ({
    criterion: t.expose('criterion', {
      type: 'JSON',
      description: 'The Criterion tree as given (canonical form)',
    }),
    mode: t.field({ type: ScoreModeEnum, resolve: (c) => c.mode }),
    value: t.field({ type: 'Decimal', resolve: (c) => c.value, description: 'Not used by FIELD_VALUE (0)' }),
    coefficient: t.field({
      type: 'Decimal',
      resolve: (c) => c.coefficient,
      description: 'FIELD_VALUE only (1 otherwise)',
    }),
  }),
});

export const ScoreRef = builder.objectRef<ScoreView>('Score').implement({
  description: 'A lead score: conditions whose values add up per contact.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name', { description: 'Prefixed "[SCORE] " unless given with a [prefix]' }),
    description: t.exposeString('description'),
    conditions: t.field({ type: [ConditionRef], resolve: (s) => s.conditions }),
    lastRunAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.lastRunAt }),
    nextRunAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'Next automatic computation (scoreIntervalHours after the last manual one)',
      resolve: (s) => s.nextRunAt,
    }),
  }),
});

export const ScoreRunRef = builder.objectRef<RunView>('ScoreRun').implement({
  description: 'One computation of every score of the account.',
  fields: (t) => ({
    id: t.exposeID('id'),
    userId: t.exposeID('userId', { nullable: true, description: 'Who launched it; null when scheduled' }),
    trigger: t.field({ type: RunTriggerEnum, resolve: (r) => r.trigger }),
    status: t.field({ type: RunStatusEnum, resolve: (r) => r.status }),
    contactsChanged: t.exposeInt('contactsChanged', { description: 'Contact scores whose value changed' }),
    startedAt: t.field({ type: 'DateTime', resolve: (r) => r.startedAt }),
    finishedAt: t.field({ type: 'DateTime', nullable: true, resolve: (r) => r.finishedAt }),
    durationMs: t.exposeInt('durationMs', { nullable: true }),
    error: t.exposeString('error', { nullable: true }),
  }),
});

const ConditionInput = builder.inputType('ScoreConditionInput', {
  fields: (t) => ({
    criterion: t.field({ type: CriterionInput, required: true }),
    mode: t.field({ type: ScoreModeEnum, required: true }),
    value: t.field({
      type: 'Decimal',
      required: false,
      description: 'Required for FIXED and FIXED_PER_EVENT',
    }),
    coefficient: t.field({ type: 'Decimal', required: false, description: 'FIELD_VALUE only; default 1' }),
  }),
});

const CreateScoreInput = builder.inputType('CreateScoreInput', {
  fields: (t) => ({
    name: t.string({ required: true, description: '1 to 200 characters with the prefix' }),
    description: t.string({ required: false, description: 'At most 2000 characters' }),
    conditions: t.field({ type: [ConditionInput], required: true, description: `1 to ${MAX_CONDITIONS}` }),
  }),
});

const UpdateScoreInput = builder.inputType('UpdateScoreInput', {
  description: 'Only what is given changes; conditions are replaced as a whole.',
  fields: (t) => ({
    id: t.id({ required: true }),
    name: t.string({ required: false }),
    description: t.string({ required: false }),
    conditions: t.field({ type: [ConditionInput], required: false }),
  }),
});

const conditionsOf = (
  list: readonly {
    criterion: unknown;
    mode: ConditionView['mode'];
    value?: string | null;
    coefficient?: string | null;
  }[],
) => list.map((c) => ({ criterion: c.criterion, mode: c.mode, value: c.value, coefficient: c.coefficient }));

builder.queryField('scores', (t) =>
  t.withAuth(need('CONTACTS', 'GUEST')).field({
    type: [ScoreRef],
    description: 'Every score of the account, by name.',
    resolve: (_r, _a, ctx) => listScores(ctx.em, ctx.viewer.accountId),
  }),
);

builder.queryField('score', (t) =>
  t.withAuth(need('CONTACTS', 'GUEST')).field({
    type: ScoreRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, args, ctx) => findScore(ctx.em, ctx.viewer.accountId, String(args.id)),
  }),
);

builder.mutationField('createScore', (t) =>
  t.withAuth(need('CONTACTS', 'EDITOR')).field({
    type: ScoreRef,
    args: { input: t.arg({ type: CreateScoreInput, required: true }) },
    resolve: (_r, { input }, ctx) =>
      createScore(ctx, {
        name: input.name,
        description: input.description,
        conditions: conditionsOf(input.conditions),
      }),
  }),
);

builder.mutationField('updateScore', (t) =>
  t.withAuth(need('CONTACTS', 'EDITOR')).field({
    type: ScoreRef,
    args: { input: t.arg({ type: UpdateScoreInput, required: true }) },
    resolve: (_r, { input }, ctx) =>
      updateScore(ctx, String(input.id), {
        name: input.name,
        description: input.description,
        conditions: input.conditions ? conditionsOf(input.conditions) : null,
      }),
  }),
);

builder.mutationField('deleteScores', (t) =>
  t.withAuth(need('CONTACTS', 'EDITOR')).idList({
    description: `Deletes scores and their values; returns the ids deleted (unknown ids are skipped). At most ${MAX_DELETE_SCORES}. CONFLICT when another score's criterion reads one of them.`,
    args: { ids: t.arg.idList({ required: true }) },
    resolve: (_r, args, ctx) => deleteScores(ctx, args.ids.map(String)),
  }),
);

builder.mutationField('runScoreComputation', (t) =>
  t.withAuth(need('CONTACTS', 'APPROVER')).field({
    type: ScoreRunRef,
    description:
      'Computes every score of the account now, in the background: returns the RUNNING run at once (follow it with scoreRunProgress). CONFLICT while another run of the account is in progress. Automatic runs then follow every settings.scoreIntervalHours after this one.',
    resolve: (_r, _a, ctx) => runScoreComputation(ctx),
  }),
);

builder.queryField('scoreRuns', (t) =>
  t.withAuth(need('CONTACTS', 'GUEST')).field({
    type: [ScoreRunRef],
    description: 'The latest computations, newest first; at most 200.',
    args: { first: t.arg.int({ required: false, description: '1 to 200, default 50' }) },
    resolve: (_r, args, ctx) =>
      listRuns(ctx.em, ctx.viewer.accountId, Math.min(Math.max(args.first ?? 50, 1), 200)),
  }),
);

builder.queryField('scoreRun', (t) =>
  t.withAuth(need('CONTACTS', 'GUEST')).field({
    type: ScoreRunRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, args, ctx) => findRun(ctx.em, ctx.viewer.accountId, String(args.id)),
  }),
);

const ContactScoreRef = builder
  .objectRef<{ scoreId: string; name: string; value: string }>('ContactScore')
  .implement({
    fields: (t) => ({
      scoreId: t.exposeID('scoreId'),
      name: t.exposeString('name'),
      value: t.field({ type: 'Decimal', resolve: (s) => s.value }),
    }),
  });

builder.objectField(ContactRef, 'scores', (t) =>
  t.field({
    type: [ContactScoreRef],
    authScopes: need('CONTACTS', 'GUEST'),
    description:
      "The contact's value for every score of the account (0 until it has one), as of the last computation.",
    resolve: (c, _a, ctx) => contactScores(ctx, c.id),
  }),
);

const ScoreChangeRef = builder.objectRef<ScoreChange & { runId: string }>('ScoreChange').implement({
  fields: (t) => ({
    contactId: t.exposeID('contactId'),
    scoreId: t.exposeID('scoreId'),
    runId: t.exposeID('runId'),
    oldValue: t.field({
      type: 'Decimal',
      nullable: true,
      description: 'null: no value before (0)',
      resolve: (c) => c.oldValue,
    }),
    newValue: t.field({ type: 'Decimal', resolve: (c) => c.newValue }),
  }),
});

const ScoreUpdatesRef = builder.objectRef<ScoreUpdateBatch>('ScoreUpdates').implement({
  description:
    'A batch of score changes of one run (at most 500 per message, 10,000 per run). truncated: the run changed more than that; refetch instead.',
  fields: (t) => ({
    runId: t.exposeID('runId'),
    changes: t.field({
      type: [ScoreChangeRef],
      resolve: (b) => b.changes.map((c) => ({ ...c, runId: b.runId })),
    }),
    truncated: t.exposeBoolean('truncated'),
    totalChanged: t.exposeInt('totalChanged', { description: 'Every change of the run, shown or not' }),
  }),
});

builder.subscriptionField('scoreUpdated', (t) =>
  t.withAuth(need('CONTACTS', 'GUEST')).field({
    type: ScoreUpdatesRef,
    description:
      'Score changes of your account, after each computation commits, in batches (see ScoreUpdates). Optionally only one score and/or one contact.',
    args: { scoreId: t.arg.id({ required: false }), contactId: t.arg.id({ required: false }) },
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

const RunProgressRef = builder.objectRef<ScoreRunProgressEvent>('ScoreRunProgress').implement({
  fields: (t) => ({
    runId: t.exposeID('runId'),
    status: t.field({ type: RunStatusEnum, resolve: (p) => p.status }),
    scoresDone: t.exposeInt('scoresDone'),
    scoresTotal: t.exposeInt('scoresTotal'),
    contactsChanged: t.exposeInt('contactsChanged'),
    error: t.exposeString('error', { nullable: true }),
  }),
});

builder.subscriptionField('scoreRunProgress', (t) =>
  t.withAuth(need('CONTACTS', 'GUEST')).field({
    type: RunProgressRef,
    description:
      'The progress of one run: its current state first, then one message per score computed, then DONE or FAILED, after which the stream ends.',
    args: { runId: t.arg.id({ required: true }) },
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
