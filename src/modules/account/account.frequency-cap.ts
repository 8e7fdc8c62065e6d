import { builder } from '../../builder.js';
import { badInput } from '../../shared/errors.js';
import type { FrequencyCap } from './account.entity.js';

/** Bounds of the cap: a window past 90 days is a different question (a suppression list). */
export const MAX_CAP_MESSAGES = 1000;
export const MAX_CAP_DAYS = 90;
export const DEFAULT_CAP_DAYS = 7;

export const FrequencyCapRef = builder.objectRef<FrequencyCap>('FrequencyCap').implement({
  description:
    "The account's frequency cap: at most `messages` marketing messages of one channel (emails count against emails, SMS against SMS) per contact within `days`. Part of the settings, so it has no id.",
  fields: (t) => ({
    messages: t.exposeInt('messages', {
      description: `Messages of the channel a contact may get within the window, 1 to ${MAX_CAP_MESSAGES}`,
    }),
    days: t.exposeInt('days', {
      description: `The window, in days up to the freeze, 1 to ${MAX_CAP_DAYS} (default ${DEFAULT_CAP_DAYS})`,
    }),
  }),
});

export const FrequencyCapInput = builder.inputType('FrequencyCapInput', {
  description:
    'A frequency cap. A contact who already got `messages` messages of the channel within `days` (sent, or being sent by another operation) is EXCLUDED as FREQUENCY_CAP when an operation starts sending.',
  fields: (t) => ({
    messages: t.int({
      required: true,
      description: `1 to ${MAX_CAP_MESSAGES}; 0 removes the cap`,
    }),
    days: t.int({
      required: false,
      description: `1 to ${MAX_CAP_DAYS}, default ${DEFAULT_CAP_DAYS}`,
    }),
  }),
});

/** The cap to store (null: none) from the input; BAD_USER_INPUT outside the bounds. */
export function checkFrequencyCap(input: { messages: number; days?: number | null }): FrequencyCap | null {
  const { messages } = input;
  const days = input.days ?? DEFAULT_CAP_DAYS;
  if (!Number.isInteger(messages) || messages < 0 || messages > MAX_CAP_MESSAGES)
    throw badInput(`frequencyCap.messages must be between 0 (no cap) and ${MAX_CAP_MESSAGES}`);
  if (!Number.isInteger(days) || days < 1 || days > MAX_CAP_DAYS)
    throw badInput(`frequencyCap.days must be between 1 and ${MAX_CAP_DAYS}`);
  return messages === 0 ? null : { messages, days };
}
