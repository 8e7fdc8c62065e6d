import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

/** The tenant: every row of every table belongs to one account. */
export interface AccountSettings {
  uniqueKey: string;
  rejectDuplicates: boolean;
  scoreIntervalHours: number;
  /** IANA name: "today" and day boundaries of relative dates in criteria. */
  timeZone: string;
  /**
   * Four-eyes validation of operations: nobody validates an operation they created, last edited
   * or submitted, the owner included. Needs at least two active users to turn on.
   */
  fourEyes: boolean;
  /**
   * At most `messages` marketing messages of a channel (email, SMS) per contact within `days`:
   * a contact who reached it is EXCLUDED as FREQUENCY_CAP when an operation's audience is frozen
   * (sending/sending.freeze.ts). Null: no cap.
   */
  frequencyCap: FrequencyCap | null;
  /**
   * At most this many messages a minute for all the account's sends together, every process
   * alike (sending/sending.rate.ts: a token bucket in PostgreSQL sizes each claim). Null: no limit.
   */
  sendRatePerMinute: number | null;
}

export interface FrequencyCap {
  messages: number;
  days: number;
}

export const DEFAULT_SETTINGS: AccountSettings = {
  uniqueKey: 'email',
  rejectDuplicates: false,
  scoreIntervalHours: 24,
  timeZone: 'Europe/Paris',
  fourEyes: false,
  frequencyCap: null,
  sendRatePerMinute: null,
};

export const Account = defineEntity({
  name: 'Account',
  tableName: 'account',
  properties: {
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    name: p.string().length(200),
    settings: p.json<AccountSettings>(),
    createdAt: p.datetime().defaultRaw('now()'),
  },
});

export type AccountRow = InferEntity<typeof Account>;
