import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform } from 'node:stream';
import { Busboy, type BusboyFileStream } from '@fastify/busboy';
import type { YogaServerInstance } from 'graphql-yoga';
import { badInput } from '../../shared/errors.js';
import { StreamedFile } from './upload.file.js';

/** `operations` and `map` are JSON text; anything bigger is not a GraphQL request. */
const MAX_FIELD_BYTES = 8 * 1024 * 1024;

// biome-ignore lint/suspicious/noExplicitAny: yoga's instance type is parameterised by its contexts
type Yoga = YogaServerInstance<any, any>;

/**
 * GraphQL multipart requests (operations, map, then the files), streamed: yoga's own parser
 * (whatwg-node's formData) holds every file whole in memory before the operation starts, so a
 * 200 MB CSV import would cost 200 MB. Here the body is parsed as it arrives (busboy): once the
 * first file part begins, the operation runs through yoga as usual (same context, plugins,
 * scopes, errors) with each file as a File whose stream() reads the part straight from the
 * socket, with back-pressure: the import reads the next chunk only when it is ready for it.
 * The body limit is counted on the bytes themselves, so a chunked body with no Content-Length is
 * cut at `maxBytes` too. Files are read in the order they are sent; a part arriving while the
 * operation waits for a later one is kept in memory (never the case with one file).
 * Returns false for any other request.
 */
export function streamUpload(
  yoga: Yoga,
  req: IncomingMessage,
  res: ServerResponse,
  maxBytes: number,
): boolean {
  if (req.method !== 'POST' || !req.headers['content-type']?.toLowerCase().startsWith('multipart/form-data'))
    return false;
  if (new URL(req.url ?? '/', 'http://x').pathname !== yoga.graphqlEndpoint) return false;
  new MultipartUpload(yoga, req, res, maxBytes).run();
  return true;
}

class MultipartUpload {
  private fields = new Map<string, string>();
  private files = new Map<string, StreamedFile>();
  private started = false;
  private responded = false;
  private bodyDone = false;
  /** Why the body broke, for files the operation asks for afterwards. */
  private bodyError: Error | null = null;
  private abort = new AbortController();

  constructor(
    private yoga: Yoga,
    private req: IncomingMessage,
    private res: ServerResponse,
    private maxBytes: number,
  ) {}

  run(): void {
    const { req, res, maxBytes } = this;
    if (Number(req.headers['content-length'] ?? 0) > maxBytes) {
      this.fail(413, 'Request body too large');
      return;
    }
    let bb: InstanceType<typeof Busboy>;
    try {
      bb = new Busboy({
        headers: req.headers as { 'content-type': string },
        limits: { fieldSize: MAX_FIELD_BYTES, fields: 100, files: 100, parts: 200 },
        defCharset: 'utf-8',
      });
    } catch (err) {
      this.fail(400, `invalid multipart request: ${(err as Error).message}`);
      return;
    }
    let received = 0;
    const limiter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        received += chunk.length;
        if (received > maxBytes) done(badInput(`file: the upload is larger than ${maxBytes / 2 ** 20} MiB`));
        else done(null, chunk);
      },
    });
    const broken = (err: Error) => this.broken(err);
    limiter.on('error', broken);
    bb.on('error', broken);
    req.on('error', broken);
    // The client went away before the end of its body, or before our answer.
    const cut = () => broken(badInput('file: the upload was cut off before its end'));
    req.on('close', () => {
      if (!req.complete) cut();
    });
    res.on('close', () => {
      if (res.writableFinished) return;
      this.abort.abort();
      cut();
    });

    bb.on('field', (name, value, nameTruncated, valueTruncated) => {
      if (nameTruncated || valueTruncated) return broken(badInput(`multipart field ${name} is too large`));
      if (!this.started) this.fields.set(name, value);
    });
    bb.on('file', (name, stream: BusboyFileStream, filename, _encoding, mimeType) => {
      // Nothing reads the parts once the answer is out (or parts the operation never names).
      if (this.responded) return stream.resume();
      const file = this.fileFor(name);
      // An earlier part still unread, while the operation waits for this one: keep it in memory.
      const waiting = [...this.files.values()].some((f) => f !== file && f.opened && !f.attached);
      file.attach(stream, !file.opened && waiting, filename, mimeType);
      this.start();
    });
    bb.on('finish', () => {
      this.bodyDone = true;
      for (const f of this.files.values())
        f.missing(badInput('file: the multipart request ended before this file part'));
      this.start();
    });
    req.pipe(limiter).pipe(bb);
  }

  private fileFor(name: string): StreamedFile {
    let file = this.files.get(name);
    if (!file) {
      file = new StreamedFile(name, () => this.opened(file as StreamedFile));
      this.files.set(name, file);
      // yoga asks for the files only once its own request hooks have run: the body may have
      // broken or ended in between, and this part will never come.
      if (this.bodyError) file.fail(this.bodyError);
      else if (this.bodyDone)
        file.missing(badInput('file: the multipart request ended before this file part'));
    }
    return file;
  }

  /** A file is opened before its part has arrived: the part being received must not block it. */
  private opened(file: StreamedFile): void {
    if (file.attached) return;
    for (const f of this.files.values()) if (f !== file && f.attached && !f.opened) f.spool();
  }

  /** Runs the operation through yoga, with the fields received so far and the files as they come. */
  private start(): void {
    if (this.started) return;
    this.started = true;
    const { req, res } = this;
    const headers = new this.yoga.fetchAPI.Headers();
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const key = req.rawHeaders[i].toLowerCase();
      if (key !== 'content-length' && key !== 'transfer-encoding') headers.append(key, req.rawHeaders[i + 1]);
    }
    const request = new this.yoga.fetchAPI.Request(`http://${req.headers.host ?? 'localhost'}${req.url}`, {
      method: 'POST',
      headers,
      signal: this.abort.signal,
    });
    // yoga's multipart parser only calls formData().get(name): hand it the fields and the files.
    const form = {
      get: (name: string) =>
        this.fields.get(name) ?? (name === 'operations' || name === 'map' ? null : this.fileFor(name)),
    };
    Object.defineProperty(request, 'formData', { value: async () => form });
    (async () => {
      const response: Response = await this.yoga.fetch(request, { req, res });
      res.writeHead(response.status, Object.fromEntries(response.headers));
      if (response.body) {
        const reader = response.body.getReader();
        for (let r = await reader.read(); !r.done; r = await reader.read()) res.write(r.value);
      }
      res.end();
    })()
      .catch((err) => {
        if (!res.headersSent) this.fail(500, 'Unexpected error.');
        else res.destroy(err as Error);
      })
      .finally(() => this.drain());
  }

  /** After the answer, the rest of the body is read and dropped (still within the limit). */
  private drain(): void {
    this.responded = true;
    for (const f of this.files.values()) f.discard();
  }

  private broken(err: Error): void {
    if (this.bodyDone) return;
    this.bodyDone = true;
    this.bodyError = err;
    // A running operation reads the error from its file and answers; otherwise we answer here.
    for (const f of this.files.values()) f.fail(err);
    if (!this.started) {
      const tooLarge = /larger than/.test(err.message);
      this.fail(
        tooLarge ? 413 : 400,
        tooLarge ? 'Request body too large' : `invalid multipart request: ${err.message}`,
      );
    } else if (this.responded) this.req.destroy();
  }

  private fail(status: number, message: string): void {
    this.started = true;
    this.responded = true;
    if (this.res.headersSent) return;
    // The rest of a refused body is not read: the connection closes after the answer.
    this.res.writeHead(status, { 'content-type': 'application/json', connection: 'close' });
    this.res.end(JSON.stringify({ errors: [{ message, extensions: { code: 'BAD_USER_INPUT' } }] }), () =>
      this.req.destroy(),
    );
  }
}
