import { request } from 'node:http';

/**
 * A client for tests and benches: a GraphQL multipart request (operations, map, then one CSV
 * file) generated as it is sent, chunked (no Content-Length), honouring back-pressure, so the
 * client never holds the file. node:http rather than fetch: undici keeps the chunks of a
 * streamed request body alive until the response, which would hide the server's own memory.
 */
export function streamedCsvUpload(opts: {
  url: string;
  token: string;
  query: string;
  rows: number;
  /** The CSV text: its header line, then one line per row (each ending with \n). */
  header: string;
  line: (i: number) => string;
  variables?: Record<string, unknown>;
  /** Cut the connection after this many rows, as a client that dies half-way. */
  cutAfter?: number;
}) {
  const boundary = `----cible${Date.now().toString(36)}`;
  const operations = JSON.stringify({
    query: opts.query,
    variables: { input: { ...opts.variables, file: null } },
  });
  const head =
    `--${boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${operations}\r\n` +
    `--${boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{"0":["variables.input.file"]}\r\n` +
    `--${boundary}\r\nContent-Disposition: form-data; name="0"; filename="contacts.csv"\r\n` +
    `Content-Type: text/csv\r\n\r\n${opts.header}`;
  let sent = 0;
  return {
    /** Bytes of the body sent so far. */
    sent: () => sent,
    post(): Promise<{ status: number; body: { data?: unknown; errors?: { message: string }[] } }> {
      return new Promise((resolve, reject) => {
        const req = request(opts.url, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${opts.token}`,
            accept: 'application/graphql-response+json',
            'content-type': `multipart/form-data; boundary=${boundary}`,
          },
        });
        req.on('error', reject);
        req.on('response', (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            text += d;
          });
          res.on('end', () => {
            try {
              resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
            } catch (err) {
              reject(err);
            }
          });
        });
        const write = (s: string) => {
          const b = Buffer.from(s);
          sent += b.length;
          return req.write(b);
        };
        (async () => {
          write(head);
          for (let i = 0; i < opts.rows; ) {
            let chunk = '';
            for (let n = 0; n < 64 && i < opts.rows; n++, i++) chunk += opts.line(i);
            // The server may answer before the end (a refused file): stop sending then.
            if (req.destroyed || req.writableEnded) return;
            if (opts.cutAfter !== undefined && i >= opts.cutAfter) {
              req.destroy();
              return reject(new Error('cut'));
            }
            if (!write(chunk)) await new Promise((ok) => req.once('drain', ok));
          }
          write(`\r\n--${boundary}--\r\n`);
          req.end();
        })().catch(reject);
      });
    },
  };
}
