/** Worker entry: classifies one raw bounce (src/modules/bounces/classifier), off the event loop. */
import {
  type BounceClassification,
  classifyBounce,
  TooManyRecipients,
} from '../modules/bounces/classifier/classify.js';
import { serve } from './serve.js';

/** TooManyRecipients is an answer, not a failure: it comes back as data, the class does not cross threads. */
export type ClassifyReply = { results: BounceClassification[] } | { tooManyRecipients: string };

serve<string, ClassifyReply>(async (message) => {
  try {
    return { results: await classifyBounce(message) };
  } catch (err) {
    if (err instanceof TooManyRecipients) return { tooManyRecipients: err.message };
    throw err;
  }
});
