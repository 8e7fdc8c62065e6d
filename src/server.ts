import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EnvelopArmor } from '@escape.tech/graphql-armor';
import type { GraphQLError, ValidationContext } from 'graphql';
import { createYoga } from 'graphql-yoga';
import type { Config } from './config.js';
import type { AppServices, Context } from './context.js';
import { createReadPool } from './db/bounded-read.js';
import { openOrm } from './db/orm.js';
import { QueryStore, useAutomaticPersistedQueries } from './http/apq.js';
import { bodyLimitOf, useChunkedBodyLimit } from './http/body-limit.js';
import { clientIpResolver } from './http/client-ip.js';
import { createDrain } from './http/drain.js';
import { useErrorCodes } from './http/error-codes.js';
import { useInputGuard } from './http/input-guard.js';
import { useQueryJit } from './http/jit.js';
import { maskError } from './http/mask-error.js';
import { createMetrics } from './http/metrics.js';
import { playgroundLanding, playgroundOptions, renderPlayground } from './http/playground.js';
import { createProbes } from './http/probes.js';
import { requestIdOf } from './http/request-id.js';
import { createJobs } from './jobs/jobs.js';
import { bounceInbound } from './modules/bounces/bounce.inbound.js';
import { streamUpload } from './modules/contacts/upload.js';
import { createTracking } from './modules/events/tracking.js';
import { createFormExport } from './modules/forms/form.export.js';
import { formRoutes } from './modules/forms/form.http.js';
import { createInvoicePdfRoute } from './modules/invoices/invoice.route.js';
import { createMailer } from './modules/mail/mailer.js';
import { createSegmentExport } from './modules/segments/segment.export.js';
import { createSenderConfirm } from './modules/senders/sender.confirm.js';
import { smsInbound } from './modules/sms-replies/sms-inbound.js';
import { smsStatus } from './modules/sms-reports/sms-status.js';
import { closeTransports } from './modules/transport/transports.js';
import { unsubscribeLink } from './modules/unsubscribe/unsubscribe.js';
import { cachedViewer } from './modules/users/auth.service.js';
import { createAppPubSub } from './realtime/pubsub.js';
import { attachWebSockets } from './realtime/ws.js';
import { buildSchema } from './schema.js';
import { createLogger, type Logger, runWithRequestId } from './shared/logger.js';

/**
 * graphql-armor throws its refusals out of validation by default, so yoga answered them with
 * HTTP 200 and no code. Reported to the validation context instead, they are validation errors
 * like graphql-js's own: GRAPHQL_VALIDATION_FAILED and HTTP 400.
 */
const armorRefusals = {
  propagateOnRejection: false,
  onReject: [(ctx: ValidationContext | null, err: GraphQLError) => ctx?.reportError(err)],
};

export interface App {
  services: AppServices;
  server: Server;
  url: string;
  /** Automatic persisted queries by hash (bounded). */
  persistedQueries: QueryStore;
  start(): Promise<string>;
  /**
   * Graceful: stops accepting, closes WebSockets with 1001, lets in-flight requests and running
   * jobs finish (SHUTDOWN_TIMEOUT_MS each at most), then closes the pools. Idempotent.
   */
  stop(): Promise<void>;
}

function bearer(header: string | null | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(.+)$/i.exec(header.trim());
  return m ? m[1].trim() : null;
}

export async function buildApp(config: Config, opts: { databaseUrl: string; logger?: Logger }): Promise<App> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const ipOf = clientIpResolver(config.trustProxy);
  const metrics = createMetrics(config);
  const persistedQueries = new QueryStore();
  const orm = await openOrm(opts.databaseUrl);
  const services: AppServices = {
    config,
    orm,
    pubsub: createAppPubSub(config.redisUrl),
    // One SMTP exchange ends within half the queue's lease (mail.queue.ts).
    mailer: createMailer(config.smtpUrl, config.mail.leaseMs / 2),
    logger,
    jobs: createJobs(config, opts.databaseUrl, logger),
    reads: createReadPool(opts.databaseUrl, config.queryTimeoutMs, logger),
  };
  await services.jobs.start(services);
  metrics.watch(services);
  const armor = new EnvelopArmor({
    // Fragments flattened: a Relay or Apollo client's fragment spreads are not levels of data.
    maxDepth: { n: 10, ignoreIntrospection: true, flattenFragments: true, ...armorRefusals },
    costLimit: { maxCost: 5000, ignoreIntrospection: true, ...armorRefusals },
    // armor lets any number of `__typename` aliases through by default: 1,000 of them were
    // answered. Every alias counts.
    maxAliases: { n: 15, allowList: [], ...armorRefusals },
    maxDirectives: { n: 20, ...armorRefusals },
    maxTokens: { n: 4000 }, // refused while parsing: yoga gives it GRAPHQL_PARSE_FAILED and 400
    blockFieldSuggestion: { enabled: true },
  });

  const yoga = createYoga<
    {
      req?: IncomingMessage;
      connectionParams?: Record<string, unknown>;
      extra?: { token?: string; request?: IncomingMessage };
      /** graphql-ws: the operation's own (ws.ts); HTTP uses the Fetch request's. */
      signal?: AbortSignal;
    },
    Context
  >({
    schema: buildSchema(),
    graphqlEndpoint: '/graphql',
    // Multipart uploads never reach yoga's body reader (streamUpload parses them as they arrive,
    // with MAX_UPLOAD_BYTES). Other bodies: a declared Content-Length is checked in the node
    // handler below, a chunked body is counted as it is read (useChunkedBodyLimit).
    maxRequestBodySize: false,
    landingPage: playgroundLanding,
    maskedErrors: { maskError },
    // Bearer tokens, not cookies, carry auth: no browser sends them by itself, so a page of any
    // origin can only act with a token it already holds. `*` (without credentials) is therefore
    // safe and lets any front end call the API; CORS_ORIGINS narrows it. Preflights are cached a
    // day: without max-age browsers preflight every POST again. (yoga answers `*` by echoing the
    // request's origin, with Vary: Origin.)
    cors: {
      origin: config.corsOrigins.length === 1 && config.corsOrigins[0] === '*' ? '*' : config.corsOrigins,
      credentials: false,
      methods: ['GET', 'POST', 'OPTIONS'],
      allowedHeaders: ['authorization', 'content-type', 'accept', 'x-request-id', 'apollo-require-preflight'],
      exposedHeaders: ['x-request-id'],
      maxAge: 86400,
    },
    logging: {
      debug: (...a) => logger.debug(String(a[0]), a.slice(1)),
      info: (...a) => logger.info(String(a[0]), a.slice(1)),
      warn: (...a) => logger.warn(String(a[0]), a.slice(1)),
      // yoga hands over the Error it masked: keep its stack in the log line.
      error: (...a) =>
        a[0] instanceof Error ? logger.error(a[0].message, a[0]) : logger.error(String(a[0]), a.slice(1)),
    },
    graphiql: playgroundOptions,
    renderGraphiQL: renderPlayground,
    plugins: [
      useChunkedBodyLimit((request) => bodyLimitOf(request.headers.get('authorization'), false)),
      useAutomaticPersistedQueries(persistedQueries),
      ...armor.protect().plugins,
      useErrorCodes(), // a code on every refusal of a request (src/http/error-codes.ts)
      ...metrics.plugins,
      // NUL, lone surrogates, depth: refused before execution; after metrics, which then count
      // the refusal (the hooks of the plugins before it still see its result).
      useInputGuard(),
      useQueryJit(), // queries seen twice run compiled (src/http/jit.ts)
    ],
    context: async (initial) => {
      // Forked on first use: a fork costs ~20 µs (MikroORM rewrites its configuration twice) and
      // an authorised page read needs none. Not enumerable, so envelop's Object.assign onto this
      // same object keeps the getter instead of calling it.
      let em: ReturnType<typeof orm.em.fork> | undefined;
      const forked = () => {
        em ??= orm.em.fork();
        return em;
      };
      Object.defineProperty(initial, 'em', { configurable: true, enumerable: false, get: forked });
      const wsToken = initial.extra?.token;
      const token = wsToken ?? bearer(initial.request?.headers.get('authorization'));
      // HTTP: cached per token, revoked at once on any process (src/modules/users/viewer.cache.ts).
      // graphql-ws: looked up in the database per subscription, as ws.ts's tracking expects.
      const viewer = token ? await cachedViewer(services, token, forked, { cache: !initial.extra }) : null;
      const ip = ipOf(initial.req ?? initial.extra?.request);
      // HTTP: @whatwg-node aborts the request's signal when the response closes before it was
      // written, i.e. the client went away (tested in src/db/bounded-read.test.ts).
      const signal = initial.signal ?? initial.request?.signal;
      return { app: services, viewer, ip, token: token || null, signal } as Context;
    },
  });

  const tracking = createTracking(services, ipOf);
  const exportSegment = createSegmentExport(services, ipOf);
  const exportForm = createFormExport(services, ipOf);
  const invoicePdf = createInvoicePdfRoute(services);
  const confirmSender = createSenderConfirm(services, ipOf);
  const server = createServer();
  const drain = createDrain(server);
  const probes = createProbes({ orm, logger, stopping: () => drain.stopping });
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    if (probes(req, res)) return; // /health, /ready: load balancers
    if (metrics.handle(req, res)) return; // /metrics: Prometheus
    if (tracking(req, res)) return; // /t/...: open pixel and click redirects, plain HTTP
    if (exportSegment(req, res)) return; // /export/segments/<id>.csv: streamed CSV, bearer token
    if (exportForm(req, res)) return; // /export/forms/<id>/submissions.csv: streamed CSV, bearer token
    if (formRoutes(services, req, res, ipOf)) return; // /f/<publicId>, /f/confirm/<token>: public form pages
    if (invoicePdf(req, res)) return; // /invoices/<id>.pdf: streamed PDF, bearer token, INVOICES >= GUEST
    if (confirmSender(req, res)) return; // /senders/confirm/<token>: public HTML page and form
    if (unsubscribeLink(services, req, res, ipOf)) return; // /u/<token>: one-click unsubscribe (RFC 8058), public
    if (smsInbound(services, req, res, ipOf)) return; // /sms/inbound: signed STOP/START replies from the SMS gateway, public
    if (smsStatus(services, req, res)) return; // /sms/status: signed delivery reports from the SMS gateway, public
    if (bounceInbound(services, req, res, ipOf)) return; // /bounces/inbound: signed raw DSNs from the bounce domain's MTA, public
    const length = Number(req.headers['content-length'] ?? 0);
    const multipart = req.headers['content-type']?.startsWith('multipart/form-data') ?? false;
    if (length > bodyLimitOf(req.headers.authorization, multipart)) {
      res.writeHead(413, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          // yoga's own code for a body it cuts while reading (chunked): one code for both ways.
          errors: [{ message: 'Request body too large', extensions: { code: 'REQUEST_ENTITY_TOO_LARGE' } }],
        }),
      );
      req.resume();
      return;
    }
    if (streamUpload(yoga, req, res, bodyLimitOf(req.headers.authorization, true))) return; // multipart: files streamed, not buffered
    yoga(req, res);
  };
  // One line per request only at LOG_LEVEL=debug: at info a busy server would mostly log itself.
  const accessLog = config.logLevel === 'debug';
  server.on('request', (req, res) => {
    drain.track(req, res);
    const reqId = requestIdOf(req);
    res.setHeader('x-request-id', reqId);
    if (accessLog) {
      const t0 = performance.now();
      res.once('close', () =>
        runWithRequestId(reqId, () =>
          logger.debug('request', {
            method: req.method,
            path: (req.url ?? '').split('?', 1)[0], // a GET query string may hold variables
            status: res.statusCode,
            ms: Math.round(performance.now() - t0),
          }),
        ),
      );
    }
    runWithRequestId(reqId, () => {
      try {
        handle(req, res);
      } catch (err) {
        // A plain route that throws before its promise (a bug) must not take the process down.
        logger.error('request failed', err);
        if (res.headersSent) res.destroy();
        else {
          res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
          res.end(
            JSON.stringify({
              errors: [{ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }],
            }),
          );
        }
      }
    });
  });
  const ws = attachWebSockets(server, yoga, services);

  let stopped: Promise<void> | null = null;
  const app: App = {
    services,
    server,
    url: '',
    persistedQueries,
    async start() {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => resolve());
      });
      const { port } = server.address() as AddressInfo;
      const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
      app.url = `http://${host}:${port}/graphql`;
      return app.url;
    },
    stop() {
      stopped ??= (async () => {
        const draining = drain.close(config.shutdownTimeoutMs); // stops accepting at once
        await ws.close();
        const { unfinished } = await draining;
        if (unfinished) logger.warn('shutdown: requests cut at SHUTDOWN_TIMEOUT_MS', { unfinished });
        await services.jobs.stop();
        await services.reads.end();
        await tracking.close();
        await services.pubsub.close();
        services.mailer.close();
        closeTransports(config);
        await orm.close();
        metrics.close();
      })();
      return stopped;
    },
  };
  return app;
}
