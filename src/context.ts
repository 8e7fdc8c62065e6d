import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type pg from 'pg';
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
  /** Sessions of bounded reads: segment counts and pages (src/db/bounded-read.ts). */
  reads: pg.Pool;
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
  /**
   * Aborts when the operation's client goes away: the HTTP request's (the response closed before
   * it was written) or, over graphql-ws, the operation's (completed by the client, or its socket
   * closed). Long reads are cancelled in PostgreSQL then (src/db/bounded-read.ts). Absent in jobs.
   */
  signal?: AbortSignal;
}

export type AuthedContext = Context & { viewer: Viewer };
