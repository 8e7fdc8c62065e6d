import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import type { GqlError } from './harness.js';

/** One message of a subscription: a result, or its end. */
export type Message =
  | { data?: Record<string, unknown> | null; errors?: GqlError[] }
  | 'complete'
  | 'error'
  /** SSE only: the response ended (after its complete event, or without one). */
  | 'closed';

/** A subscription held open, read message by message, over graphql-ws or SSE alike. */
export interface Stream {
  next(): Promise<Message>;
  close(): void;
}

/** Messages as they come, handed out in order to whoever waits for them. */
function queue() {
  const got: Message[] = [];
  const waiting: ((m: Message) => void)[] = [];
  return {
    push(m: Message) {
      const w = waiting.shift();
      if (w) w(m);
      else got.push(m);
    },
    next(): Promise<Message> {
      const m = got.shift();
      if (m !== undefined) return Promise.resolve(m);
      return new Promise((resolve) => waiting.push(resolve));
    },
  };
}

/** A subscription over graphql-ws, on its own connection. */
export function wsStream(httpUrl: string, token: string, query: string): Stream {
  const q = queue();
  const client = createClient({
    url: httpUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => {},
    connectionParams: { authorization: `Bearer ${token}` },
  });
  client.subscribe(
    { query },
    {
      next: (v) => q.push(v as Message),
      error: () => q.push('error'),
      complete: () => q.push('complete'),
    },
  );
  return { next: q.next, close: () => void client.dispose() };
}

/**
 * A subscription over server-sent events, as yoga serves them to a POST with
 * Accept: text/event-stream: `event: next` blocks carry results, `event: complete` the end.
 */
export function sseStream(httpUrl: string, token: string, query: string): Stream {
  const q = queue();
  const controller = new AbortController();
  (async () => {
    const res = await fetch(httpUrl, {
      method: 'POST',
      signal: controller.signal,
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${token}`,
      },
      body: JSON.stringify({ query }),
    });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf('\n\n');
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = block
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trimStart())
          .join('\n');
        if (event === 'next') q.push(JSON.parse(data) as Message);
        else if (event === 'complete') q.push('complete');
      }
    }
    q.push('closed');
  })().catch(() => q.push('error'));
  return { next: q.next, close: () => controller.abort() };
}

/** Reads until a message passes `test`, and returns it (earlier ones are dropped). */
export async function until(stream: Stream, test: (m: Message) => boolean): Promise<Message> {
  for (;;) {
    const m = await stream.next();
    if (test(m)) return m;
    if (typeof m === 'string') throw new Error(`the stream ended (${m}) before the message`);
  }
}

let seq = 0;

/**
 * A stream may not listen yet when it is opened: poke until something arrives, then poke once
 * more and read up to that last one, so nothing of the warm-up is left to read.
 */
export async function settle(
  stream: Stream,
  poke: (tag: string) => Promise<void>,
  isTag: (m: Message, tag: string) => boolean,
) {
  let first: Message | undefined;
  const got = stream.next().then((m) => {
    first = m;
  });
  while (first === undefined) {
    await poke(`warm${seq++}`);
    await Promise.race([got, new Promise((r) => setTimeout(r, 250))]);
  }
  if (typeof first === 'string') throw new Error(`the stream ended (${first}) while settling`);
  const last = `last${seq++}`;
  await poke(last);
  await until(stream, (m) => isTag(m, last));
}
