import type { Server } from 'node:http';
import type { ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { type WebSocket, WebSocketServer } from 'ws';
import type { AppServices } from '../context.js';
import { viewerFromToken } from '../modules/users/auth.service.js';

type Enveloped = {
  execute: (a: ExecutionArgs) => OperationResult;
  subscribe: (a: ExecutionArgs) => OperationResult;
};
type OperationResult = ReturnType<NonNullable<Parameters<typeof useServer>[0]['execute']>>;

interface SocketOwner {
  userId: string;
  sessionId: string;
}

/** graphql-ws close code for a connection whose session ended (graphql-ws's own "Forbidden"). */
export const CLOSE_REVOKED = 4403;

/**
 * graphql-ws on the same port and path as HTTP. Operations go through yoga's envelop, so a
 * subscription gets the same context, scopes and error masking as an HTTP request.
 */
export function attachWebSockets(
  server: Server,
  // biome-ignore lint/suspicious/noExplicitAny: yoga's instance type is parameterised by its contexts
  yoga: YogaServerInstance<any, any>,
  app: AppServices,
): { close(): Promise<void> } {
  const wss = new WebSocketServer({ server, path: '/graphql' });
  const owners = new Map<WebSocket, SocketOwner>();

  const revocations = app.pubsub.subscribe('sessionsRevoked');
  (async () => {
    for await (const r of revocations) {
      for (const [socket, owner] of owners) {
        if (owner.userId === r.userId || r.sessionIds?.includes(owner.sessionId)) {
          socket.close(CLOSE_REVOKED, 'Session ended');
          owners.delete(socket);
        }
      }
    }
  })().catch((err) => app.logger.error('session revocation listener stopped', err));

  const disposable = useServer(
    {
      onConnect: async (ctx) => {
        const raw = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        if (raw === undefined) return true; // anonymous: every subscription answers UNAUTHENTICATED
        const token = typeof raw === 'string' ? raw.replace(/^Bearer\s+/i, '') : '';
        const viewer = await viewerFromToken(app.orm.em.fork(), token);
        if (!viewer) return false; // closes with 4403
        owners.set(ctx.extra.socket, { userId: viewer.userId, sessionId: viewer.sessionId });
        (ctx.extra as { token?: string }).token = token;
        return true;
      },
      onClose: (ctx) => {
        owners.delete(ctx.extra.socket);
      },
      // yoga's enveloped execute/subscribe travel in rootValue (yoga's documented graphql-ws recipe).
      execute: (args) => (args.rootValue as Enveloped).execute(args),
      subscribe: (args) => (args.rootValue as Enveloped).subscribe(args),
      onSubscribe: async (ctx, _id, params) => {
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
        });
        const args = {
          schema,
          operationName: params.operationName,
          document: parse(params.query),
          variableValues: params.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
        const errors = validate(args.schema, args.document);
        if (errors.length) return errors;
        return args;
      },
    },
    wss,
  );

  return {
    async close() {
      await revocations.return?.();
      for (const socket of wss.clients) socket.terminate();
      await disposable.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
