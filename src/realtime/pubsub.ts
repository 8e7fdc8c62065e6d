import { setMaxListeners } from 'node:events';
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { createPubSub } from 'graphql-yoga';
import { Redis } from 'ioredis';
import type { AuditEntryEvent } from '../modules/audit/audit.service.js';
import type { BounceEvent } from '../modules/bounces/bounce.repository.js';
import type { ImportView } from '../modules/contacts/import.repository.js';
import type { SubmissionView } from '../modules/forms/form.submissions.js';
import type { ScoreRunProgressEvent, ScoreUpdateBatch } from '../modules/scores/score.events.js';
import type { DeliveryFailedEvent } from '../modules/webhooks/webhook.view.js';

/**
 * Every topic and its payload, in one typed map. Account-scoped topics take the account id as
 * their key, so an event published for one account can never reach another's subscribers.
 * Payloads are plain JSON: with REDIS_URL they cross processes.
 */
export type Topics = {
  audit: [accountId: string, entry: AuditEntryEvent];
  /** Score changes of a run, in batches (see score.events.ts). */
  scoreUpdated: [accountId: string, batch: ScoreUpdateBatch];
  scoreRunProgress: [accountId: string, progress: ScoreRunProgressEvent];
  /** A contact import's counters, after each committed batch and when it ends. */
  importProgress: [accountId: string, progress: ImportView];
  bounces: [accountId: string, bounce: BounceEvent];
  /** A webhook delivery attempt that failed (src/modules/webhooks). */
  webhookDeliveryFailed: [accountId: string, failure: DeliveryFailedEvent];
  /** A form or survey got a submission (src/modules/forms). */
  formSubmitted: [accountId: string, submission: SubmissionView];
  /** Sessions ended (logout, user deleted or disabled): open sockets of these close at once. */
  sessionsRevoked: [{ userId?: string; sessionIds?: string[] }];
  /**
   * Cached viewers to drop (a session ended, a user's rights, status or details changed), and
   * each process's beats to itself: see src/modules/users/viewer.cache.ts.
   */
  viewerChanged: [change: ViewerChange & { origin: string; seq: number }];
};

/** Whose cached viewers must go: a user's, or some sessions'. */
export interface ViewerChange {
  userId?: string;
  sessionIds?: string[];
}

export type PubSub = ReturnType<typeof createPubSub<Topics>> & { close(): Promise<void> };

export function createAppPubSub(redisUrl: string | null): PubSub {
  if (!redisUrl) {
    // One listener per open subscription of a topic: more than Node's default 10 is normal, not a
    // leak (it printed MaxListenersExceededWarning).
    const eventTarget = new EventTarget();
    setMaxListeners(0, eventTarget);
    return Object.assign(createPubSub<Topics>({ eventTarget }), { close: async () => {} });
  }
  const publishClient = new Redis(redisUrl, { lazyConnect: false, maxRetriesPerRequest: 3 });
  const subscribeClient = new Redis(redisUrl, { lazyConnect: false, maxRetriesPerRequest: 3 });
  // The event target does not wait for PUBLISH, so a failed one (Redis unreachable past
  // maxRetriesPerRequest) was an unhandled rejection, which ends the process. A message lost
  // this way is noticed where it matters: the viewer cache stops trusting itself without beats.
  const publisher = {
    publish: (channel: string, message: string) => publishClient.publish(channel, message).catch(() => 0),
  } as unknown as Redis;
  const pubsub = createPubSub<Topics>({
    eventTarget: createRedisEventTarget({ publishClient: publisher, subscribeClient }),
  });
  return Object.assign(pubsub, {
    close: async () => {
      publishClient.disconnect();
      subscribeClient.disconnect();
    },
  });
}
