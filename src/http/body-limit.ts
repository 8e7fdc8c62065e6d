import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * Request bodies (and graphql-ws messages) above this are refused with 413 before parsing;
 * uploads get more room.
 */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;
export const MAX_UPLOAD_BYTES = 256 * 1024 * 1024;
/**
 * A request without a token can only call the public fields (login, signUp, acceptInvitation,
 * a few bytes each), yet its variables are parsed, checked and coerced before rights are: 8 MiB of
 * nested variables held the event loop for seconds, for anyone. Without an Authorization header a
 * body gets this much, and slow bodies held open by anonymous sockets stay small.
 */
export const MAX_ANONYMOUS_BODY_BYTES = 64 * 1024;

/** The body limit of a request: anonymous ones get MAX_ANONYMOUS_BODY_BYTES. */
export function bodyLimitOf(authorization: string | null | undefined, multipart: boolean): number {
  if (!authorization?.trim()) return MAX_ANONYMOUS_BODY_BYTES;
  return multipart ? MAX_UPLOAD_BYTES : MAX_BODY_BYTES;
}

/**
 * The request body limit for bodies without a Content-Length (chunked): their bytes are counted as
 * yoga's parser reads them, and the body is cut at `limit` with 413 REQUEST_ENTITY_TOO_LARGE.
 *
 * yoga's own `maxRequestBodySize` does the same for every body, piping each one through a
 * TransformStream and a new Request (an AbortController and a DOMException per request: about
 * 2% of the read path's CPU). A body with a Content-Length needs none of that: the node handler
 * refuses a declared length over the limit before yoga (src/server.ts), and Node's HTTP parser
 * never delivers more bytes than the length declared.
 */
export function useChunkedBodyLimit(limitOf: (request: Request) => number): Plugin {
  const tooLarge = () =>
    new GraphQLError('Request body too large', {
      extensions: { http: { status: 413 }, code: 'REQUEST_ENTITY_TOO_LARGE' },
    });
  return {
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
      if (request.headers.get('content-length') != null) return;
      if (requestParser == null || request.body == null) return;
      const parse = requestParser;
      const limit = limitOf(request);
      setRequestParser((req) => {
        const body = req.body;
        if (!body) return parse(req);
        let bytes = 0;
        // A native body needs the native TransformStream (graphql-yoga#4583), as yoga does.
        const Transform =
          body instanceof ReadableStream ? globalThis.TransformStream : fetchAPI.TransformStream;
        const limited = body.pipeThrough(
          new Transform({
            transform(chunk: Uint8Array, controller: TransformStreamDefaultController<Uint8Array>) {
              bytes += chunk.byteLength;
              if (bytes > limit) controller.error(tooLarge());
              else controller.enqueue(chunk);
            },
          }),
        );
        return parse(
          new fetchAPI.Request(req.url, {
            method: req.method,
            headers: req.headers,
            signal: req.signal,
            body: limited,
            // @ts-expect-error duplex is in the fetch spec, not yet in TypeScript's RequestInit
            duplex: 'half',
          }),
        );
      });
    },
  };
}
