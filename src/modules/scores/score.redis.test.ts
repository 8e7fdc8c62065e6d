import { print } from 'graphql';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  CreateScoreDocument,
  RunScoreComputationDocument,
  ScoreUpdatedDocument,
} from '../../../test/generated/graphql.js';
import { type Actor, ok, signUpOwner, startTestApp, type TestApp } from '../../../test/harness.js';
import { startRedis } from '../../../test/redis.js';
import { loadConfig } from '../../config.js';
import { type App, buildApp } from '../../server.js';
import { createLogger } from '../../shared/logger.js';
import { contact } from './testing/helpers.js';

const redis = await startRedis();

let t: TestApp;
let second: App;
let owner: Actor;

/** Two server processes sharing one database and a real Redis (Debian's redis-server). */
describe.skipIf(!redis)('score updates across processes through Redis', () => {
  beforeAll(async () => {
    const REDIS_URL = redis!.url;
    t = await startTestApp({ REDIS_URL });
    const url = (t.sql as unknown as { options: { connectionString: string } }).options.connectionString;
    second = await buildApp(loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', REDIS_URL }), {
      databaseUrl: url,
      logger: createLogger('silent'),
    });
    await second.start();
    owner = await signUpOwner(t);
    await contact(t, owner, { email: 'r@x.test', city: 'Paris' });
    ok(
      await t.gql(
        CreateScoreDocument,
        {
          input: {
            name: 'R',
            conditions: [
              { criterion: { field: { name: 'city', op: 'EQ', value: 'Paris' } }, mode: 'FIXED', value: '3' },
            ],
          },
        },
        owner.token,
      ),
    );
  });
  afterAll(async () => {
    await second?.stop();
    await t?.close();
    await redis?.stop();
  });

  it('a run on one process reaches a subscriber connected to the other', async () => {
    const client = createClient({
      url: second.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${owner.token}` },
    });
    try {
      const got = new Promise<unknown>((resolve, reject) => {
        client.subscribe(
          { query: print(ScoreUpdatedDocument), variables: {} },
          { next: resolve, error: reject, complete: () => {} },
        );
      });
      await new Promise((r) => setTimeout(r, 500));
      const run = ok(await t.gql(RunScoreComputationDocument, {}, owner.token)).runScoreComputation;
      const msg = (await got) as {
        data: { scoreUpdated: { runId: string; changes: { newValue: string }[] } };
      };
      expect(msg.data.scoreUpdated.runId).toBe(run.id);
      expect(msg.data.scoreUpdated.changes.map((c) => c.newValue)).toEqual(['3']);
    } finally {
      await client.dispose();
    }
  });
});
