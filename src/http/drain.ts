import type { IncomingMessage, Server, ServerResponse } from 'node:http';

export interface Drain {
  /** Called for every HTTP request the server takes. */
  track(req: IncomingMessage, res: ServerResponse): void;
  readonly stopping: boolean;
  /**
   * Stops accepting, cuts the SSE streams (they never end by themselves; clients reconnect
   * elsewhere), lets the other requests finish for at most `timeoutMs`, then closes every
   * connection. Resolves with how many requests were still running at the deadline.
   */
  close(timeoutMs: number): Promise<{ unfinished: number }>;
}

/**
 * In-flight HTTP requests of one server, for a graceful shutdown. `server.close()` alone waits
 * for every keep-alive connection to go away, which a client holding one open never does, and
 * `closeAllConnections()` alone cuts requests half-way.
 */
export function createDrain(server: Server): Drain {
  const active = new Set<ServerResponse>();
  const streams = new Set<ServerResponse>();
  let stopping = false;
  let onIdle: (() => void) | null = null;

  const finished = (res: ServerResponse) => {
    active.delete(res);
    streams.delete(res);
    if (!stopping) return;
    // The connection of a finished response turns idle on the next turn: close it then.
    setImmediate(() => server.closeIdleConnections());
    if (active.size === 0) onIdle?.();
  };

  return {
    track(req, res) {
      active.add(res);
      if (req.headers.accept?.includes('text/event-stream')) streams.add(res);
      // A request that slipped in on a kept-alive connection is served, then its connection ends.
      if (stopping) res.setHeader('connection', 'close');
      res.once('close', () => finished(res));
    },
    get stopping() {
      return stopping;
    },
    async close(timeoutMs) {
      stopping = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      for (const res of streams) res.destroy();
      for (const res of active) if (!res.headersSent) res.setHeader('connection', 'close');
      let timer: NodeJS.Timeout | undefined;
      if (active.size > 0) {
        await new Promise<void>((resolve) => {
          onIdle = resolve;
          timer = setTimeout(resolve, timeoutMs);
        });
      }
      clearTimeout(timer);
      const unfinished = active.size;
      server.closeAllConnections();
      await closed;
      return { unfinished };
    },
  };
}
