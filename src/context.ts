import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Config } from './config.js';
import type { Jobs } from './jobs/jobs.js';
import type { Rights } from './modules/access/access.js';
import type { Mailer } from './modules/mail/mailer.js';
import type { PubSub } from './realtime/pubsub.js';
import type { Logger } from './shared/logger.js';

/** Who is calling: loaded once per operation from the bearer token. */
export interface Viewer {
  userId: string;
  accountId: string;
  email: string;
  isOwner: boolean;
  rights: Rights;
  sessionId: string;
}

/** Long-lived parts of the running app, shared by every operation. */
export interface AppServices {
  config: Config;
  orm: MikroORM;
  pubsub: PubSub;
  mailer: Mailer;
  logger: Logger;
  /** Agenda and the pg pool of background work (score runs). */
  jobs: Jobs;
}

export interface Context {
  app: AppServices;
  /** A fork of the identity map for this operation only, made on first read (see server.ts). */
  em: EntityManager;
  viewer: Viewer | null;
  ip: string | null;
  /**
   * The session token the viewer came from (HTTP's bearer header, graphql-ws's connection or
   * subscribe message), so an open subscription can load its viewer again (src/realtime/live.ts).
   * Absent where a context is made outside a request (jobs, test fixtures): no token then.
   */
  token?: string | null;
}

export type AuthedContext = Context & { viewer: Viewer };
