import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Account } from '../account/account.entity.js';

export const SCORE_MODES = ['FIXED', 'FIXED_PER_EVENT', 'FIELD_VALUE'] as const;
export type ScoreMode = (typeof SCORE_MODES)[number];
export const RUN_TRIGGERS = ['MANUAL', 'SCHEDULED'] as const;
export type RunTrigger = (typeof RUN_TRIGGERS)[number];
export const RUN_STATUSES = ['RUNNING', 'DONE', 'FAILED'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** A lead score: a name, a description, and conditions (score_condition). */
export const Score = defineEntity({
  name: 'Score',
  tableName: 'score',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    account: () => p.manyToOne(Account).deleteRule('cascade'),
    name: p.string().length(200),
    description: p.text().default(''),
    lastRunAt: p.datetime().nullable(),
    nextRunAt: p.datetime().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
    updatedAt: p.datetime().defaultRaw('now()'),
  },
});

/** One condition of a score, in order: a criterion (JSON tree), a mode, an exact value. */
export const ScoreCondition = defineEntity({
  name: 'ScoreCondition',
  tableName: 'score_condition',
  properties: {
    score: () => p.manyToOne(Score).primary().deleteRule('cascade'),
    position: p.smallint().primary(),
    criterion: p.json<unknown>(),
    mode: p.enum([...SCORE_MODES]),
    value: p.decimal('string').precision(20).scale(6),
    coefficient: p.decimal('string').precision(20).scale(6).default('1'),
  },
});

/**
 * A contact's value for a score. `state_value` (FIXED, FIELD_VALUE) is recomputed at every run,
 * `event_value` (FIXED_PER_EVENT) accumulates, `value` is their sum. fillfactor 70 (set in the
 * migration). One index on (score, value) since segments (migration Segments): a count over a
 * score reads it alone; a changed value is then no longer a HOT update.
 * Contacts whose score is 0 and that never had one have no row. Reads by contact go through the
 * primary key (score ids of the account x contact ids).
 */
export const ContactScore = defineEntity({
  name: 'ContactScore',
  tableName: 'contact_score',
  properties: {
    scoreId: p.uuid().primary(),
    contactId: p.bigint('string').primary(),
    accountId: p.uuid(),
    stateValue: p.decimal('string').columnType('numeric').default('0'),
    eventValue: p.decimal('string').columnType('numeric').default('0'),
    value: p.decimal('string').columnType('numeric'),
  },
  indexes: [
    {
      // Segment counts over a score (src/modules/targeting/criterion.compile.ts, set mode).
      name: 'contact_score_value',
      expression: 'create index contact_score_value on contact_score (score_id, value) include (contact_id)',
    },
  ],
});

/** One computation of all the scores of an account. */
export const ScoreRun = defineEntity({
  name: 'ScoreRun',
  tableName: 'score_run',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    accountId: p.uuid(),
    userId: p.uuid().nullable(),
    trigger: p.enum([...RUN_TRIGGERS]),
    status: p.enum([...RUN_STATUSES]),
    contactsChanged: p.integer().default(0),
    startedAt: p.datetime().defaultRaw('now()'),
    finishedAt: p.datetime().nullable(),
    durationMs: p.integer().nullable(),
    error: p.text().nullable(),
  },
  indexes: [
    { properties: ['accountId', 'startedAt'] },
    {
      name: 'score_run_one_running',
      expression:
        "create unique index score_run_one_running on score_run (account_id) where status = 'RUNNING'",
    },
  ],
});

/**
 * Per account: the id of the last event counted by FIXED_PER_EVENT conditions. Written in the
 * same transaction as the scores, so each event counts exactly once.
 */
export const ScoreState = defineEntity({
  name: 'ScoreState',
  tableName: 'score_state',
  properties: {
    account: () => p.oneToOne(Account).primary().deleteRule('cascade'),
    eventWatermark: p.bigint('string').default('0'),
  },
});

export type ScoreRow = InferEntity<typeof Score>;
export type ScoreRunRow = InferEntity<typeof ScoreRun>;
