import type { Server } from 'node:http';
import { type ExecutionArgs, GraphQLError, getOperationAST } from 'graphql';
import type { SubscribePayload } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { type WebSocket, WebSocketServer } from 'ws';
import type { AppServices } from '../context.js';
import { MAX_BODY_BYTES } from '../http/body-limit.js';
import { viewerFromToken } from '../modules/users/auth.service.js';
import { AppError, unauthenticated } from '../shared/errors.js';

type Enveloped = {
  execute: (a: ExecutionArgs) => OperationResult;
  subscribe: (a: ExecutionArgs) => OperationResult;
};
type OperationResult = ReturnType<NonNullable<Parameters<typeof useServer>[0]['execute']>>;

interface SocketOwner {
  userId: string;
  sessionId: string;
}

/** Subscriptions one graphql-ws connection may run at once; past it, RATE_LIMITED. */
export const MAX_SUBSCRIPTIONS_PER_SOCKET = 100;

/** graphql-ws close code for a connection whose session ended (graphql-ws's own "Forbidden"). */
export const CLOSE_REVOKED = 4403;

/** The owner key of a socket authenticated at connection_init (subscription ids are the others). */
const CONNECTION = Symbol('connection');

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A header by its name in any case, as HTTP reads it. */
function header(headers: unknown, name: string): unknown {
  if (!isRecord(headers)) return undefined;
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}

/**
 * The session token in a credential, with or without its "Bearer " scheme; '' (never valid) for
 * anything else, so a credential that was sent but cannot be read is refused, not ignored.
 */
function tokenOf(raw: unknown): string {
  if (typeof raw !== 'string') return '';
  const token = raw.trim().replace(/^Bearer\s+/i, '');
  return /\s/.test(token) ? '' : token;
}

/**
 * The token of connection_init, in every shape other clients' documentation uses:
 * `{ authorization }` or `{ Authorization }` (Apollo, urql), `{ headers: { Authorization } }`
 * (graphql-request style, Hasura), `{ authToken }` (Apollo's older docs). undefined: none sent.
 */
export function connectionToken(params: Readonly<Record<string, unknown>> | undefined): string | undefined {
  const raw =
    header(params, 'authorization') ?? header(params?.headers, 'authorization') ?? params?.authToken;
  return raw === undefined || raw === null ? undefined : tokenOf(raw);
}

/**
 * The token of one subscribe message: GraphiQL (yoga's, through @graphql-tools/executor-graphql-ws)
 * sends an empty connection_init and the Headers tab as `payload.extensions.headers`.
 */
export function subscribeToken(payload: SubscribePayload): string | undefined {
  const raw = header(payload.extensions?.headers, 'authorization');
  return raw === undefined || raw === null ? undefined : tokenOf(raw);
}

/** The payload without its headers: the token goes no further than the context's lookup. */
function withoutHeaders(payload: SubscribePayload): SubscribePayload {
  if (!isRecord(payload.extensions) || !('headers' in payload.extensions)) return payload;
  const { headers: _h, ...extensions } = payload.extensions;
  return { ...payload, extensions };
}

/**
 * graphql-ws on the same port and path as HTTP. Operations go through yoga's envelop, so a
 * subscription gets the same context, scopes and error masking as an HTTP request.
 *
 * A token may come once per connection (connectionParams) or with each subscribe message
 * (extensions.headers); the latter wins for its subscription, as a header does for one HTTP
 * request. Every session a socket acts for is tracked, so revoking any of them closes it.
 */
export function attachWebSockets(
  server: Server,
  // biome-ignore lint/suspicious/noExplicitAny: yoga's instance type is parameterised by its contexts
  yoga: YogaServerInstance<any, any>,
  app: AppServices,
): { close(): Promise<void> } {
  // A message is held whole before it is parsed: the same 8 MiB as an HTTP body (ws's default is
  // 100 MiB); a larger frame closes the socket with 1009 (message too big) before it is read.
  const wss = new WebSocketServer({ server, path: '/graphql', maxPayload: MAX_BODY_BYTES });
  const owners = new Map<WebSocket, Map<string | typeof CONNECTION, SocketOwner>>();
  // The subscriptions running on each socket: each holds a re-check per event and memory, and a
  // red-team socket opened 20,000 of them (1.5 s of event loop, then 2 s per event's fan-out).
  const running = new Map<WebSocket, Set<string>>();
  // One AbortController per operation (Context.signal): aborted when the client completes it or
  // its socket closes, so a long read it started is cancelled in PostgreSQL.
  const signals = new Map<WebSocket, Map<string, AbortController>>();
  const abort = (socket: WebSocket, id: string) => {
    signals.get(socket)?.get(id)?.abort();
    signals.get(socket)?.delete(id);
  };
  // graphql-ws calls onComplete for a query only once it has executed: a client's `complete`
  // while a query runs reaches no hook, so it is read here. Complete messages are tiny: larger
  // ones (documents, variables) are not parsed twice.
  wss.on('connection', (socket) => {
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary || data.length > 300 || !data.includes('"complete"')) return;
      try {
        const m = JSON.parse(data.toString('utf8')) as { type?: unknown; id?: unknown };
        if (m.type === 'complete' && typeof m.id === 'string') abort(socket, m.id);
      } catch {} // graphql-ws itself closes the socket on a message it cannot read
    });
  });
  const track = (socket: WebSocket, key: string | typeof CONNECTION, owner: SocketOwner) => {
    const mine = owners.get(socket) ?? new Map();
    mine.set(key, owner);
    owners.set(socket, mine);
  };

  const revocations = app.pubsub.subscribe('sessionsRevoked');
  (async () => {
    for await (const r of revocations) {
      for (const [socket, mine] of owners) {
        for (const owner of mine.values()) {
          if (owner.userId === r.userId || r.sessionIds?.includes(owner.sessionId)) {
            socket.close(CLOSE_REVOKED, 'Session ended');
            owners.delete(socket);
            break;
          }
        }
      }
    }
  })().catch((err) => app.logger.error('session revocation listener stopped', err));

  const disposable = useServer(
    {
      onConnect: async (ctx) => {
        const token = connectionToken(ctx.connectionParams);
        if (token === undefined) return true; // anonymous, unless a subscribe message brings a token
        const viewer = await viewerFromToken(app.orm.em.fork(), token);
        if (!viewer) return false; // closes with 4403
        track(ctx.extra.socket, CONNECTION, { userId: viewer.userId, sessionId: viewer.sessionId });
        (ctx.extra as { token?: string }).token = token;
        return true;
      },
      onClose: (ctx) => {
        owners.delete(ctx.extra.socket);
        running.delete(ctx.extra.socket);
        for (const c of signals.get(ctx.extra.socket)?.values() ?? []) c.abort();
        signals.delete(ctx.extra.socket);
      },
      onComplete: (ctx, id) => {
        owners.get(ctx.extra.socket)?.delete(id);
        running.get(ctx.extra.socket)?.delete(id);
        abort(ctx.extra.socket, id);
      },
      // yoga's enveloped execute/subscribe travel in rootValue (yoga's documented graphql-ws recipe).
      execute: (args) => (args.rootValue as Enveloped).execute(args),
      subscribe: (args) => (args.rootValue as Enveloped).subscribe(args),
      onSubscribe: async (ctx, id, payload) => {
        let token = (ctx.extra as { token?: string }).token;
        const own = subscribeToken(payload);
        if (own !== undefined) {
          const viewer = await viewerFromToken(app.orm.em.fork(), own);
          if (!viewer) {
            return [
              unauthenticated(
                'The Authorization header of this subscription (extensions.headers) holds no valid session: the token is mistyped, expired or its session ended. Log in again and put the new token there.',
              ),
            ];
          }
          // Tracked before the context looks the token up again: a revocation published from
          // now on closes the socket, and one committed earlier makes that lookup fail.
          track(ctx.extra.socket, id, { userId: viewer.userId, sessionId: viewer.sessionId });
          token = own;
        }
        const params = withoutHeaders(payload);
        const controller = new AbortController();
        const ops = signals.get(ctx.extra.socket) ?? new Map<string, AbortController>();
        ops.set(id, controller);
        signals.set(ctx.extra.socket, ops);
        // A refused operation gets no onComplete: forget it here.
        const refuse = <E>(errors: E): E => {
          owners.get(ctx.extra.socket)?.delete(id);
          ops.delete(id);
          return errors;
        };
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          extra: { ...ctx.extra, token },
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
          signal: controller.signal,
        });
        let document: ReturnType<typeof parse>;
        try {
          document = parse(params.query);
        } catch (err) {
          // A syntax error answers this subscription, as over HTTP, instead of closing the socket.
          if (!(err instanceof GraphQLError)) throw err;
          return refuse([err]);
        }
        const args = {
          schema,
          operationName: params.operationName,
          document,
          variableValues: params.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
        const errors = validate(args.schema, args.document);
        if (errors.length) {
          return refuse(errors);
        }
        // graphql-ws answers an unknown or missing operation name itself, without a code: the
        // code yoga gives it over HTTP.
        if (!getOperationAST(document, params.operationName)) {
          return refuse([
            new GraphQLError(
              params.operationName
                ? `Unknown operation named "${params.operationName}".`
                : 'Must provide operation name if query contains multiple operations.',
              { extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } },
            ),
          ]);
        }
        const mine = running.get(ctx.extra.socket) ?? new Set<string>();
        if (mine.size >= MAX_SUBSCRIPTIONS_PER_SOCKET) {
          return refuse([
            new AppError(
              'RATE_LIMITED',
              `At most ${MAX_SUBSCRIPTIONS_PER_SOCKET} subscriptions run at once on one connection: complete one first`,
            ),
          ]);
        }
        mine.add(id);
        running.set(ctx.extra.socket, mine);
        return args;
      },
    },
    wss,
  );

  return {
    async close() {
      await revocations.return?.();
      // graphql-ws's dispose closes every socket with 1001 (going away), so clients reconnect
      // elsewhere; a peer that does not answer the close handshake within a second is cut.
      const disposed = disposable.dispose();
      await Promise.race([disposed, new Promise((r) => setTimeout(r, 1000).unref())]);
      for (const socket of wss.clients) socket.terminate();
      await disposed;
    },
  };
}
