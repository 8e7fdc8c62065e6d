/** Payloads of the score topics: plain JSON so they can cross processes through Redis. */

export interface ScoreChange {
  contactId: string;
  scoreId: string;
  /** null: the contact had no value for this score yet (0). */
  oldValue: string | null;
  newValue: string;
}

/**
 * Changes of one run, published after its commit in batches of at most PUBLISH_BATCH, and at most
 * PUBLISH_MAX changes per run: past that one batch says `truncated` with the total.
 */
export interface ScoreUpdateBatch {
  runId: string;
  changes: ScoreChange[];
  truncated: boolean;
  totalChanged: number;
}

export interface ScoreRunProgressEvent {
  runId: string;
  status: 'RUNNING' | 'DONE' | 'FAILED';
  scoresDone: number;
  scoresTotal: number;
  contactsChanged: number;
  error: string | null;
}

export const PUBLISH_BATCH = 500;
export const PUBLISH_MAX = 10_000;
