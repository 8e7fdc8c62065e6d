import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Account } from '../account/account.entity.js';

/**
 * A segment: a saved criterion of the targeting language. Membership is never stored: it is the
 * criterion evaluated over the live tables when asked (src/modules/targeting). Names are unique
 * per account without regard to case (index in the migration).
 */
export const Segment = defineEntity({
  name: 'Segment',
  tableName: 'segment',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    account: () => p.manyToOne(Account).deleteRule('cascade'),
    name: p.string().length(200),
    description: p.text().default(''),
    criterion: p.json<unknown>(),
    createdBy: p.uuid().nullable(),
    updatedBy: p.uuid().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
    updatedAt: p.datetime().defaultRaw('now()'),
  },
  indexes: [
    {
      name: 'segment_account_name_unique',
      expression: 'create unique index segment_account_name_unique on segment (account_id, lower(name))',
    },
  ],
});

export type SegmentRow = InferEntity<typeof Segment>;
