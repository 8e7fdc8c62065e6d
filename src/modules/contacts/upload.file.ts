import type { Readable } from 'node:stream';

/**
 * One file part of a multipart request, as the File the operation receives: stream() reads the
 * part from the socket as the reader asks for more (a ReadableStream with no queue of its own),
 * so memory holds one chunk, not the file. It can be read once. The part may not have arrived
 * yet when the operation starts: reading then waits for it.
 */
export class StreamedFile {
  name: string;
  type = 'application/octet-stream';
  opened = false;
  attached = false;
  private source: Readable | null = null;
  /** Chunks kept in memory instead of waiting for the reader (see MultipartUpload.opened). */
  private spooled: Buffer[] | null = null;
  private ended = false;
  private discarded = false;
  private error: Error | null = null;
  private wake: (() => void) | null = null;

  constructor(
    readonly field: string,
    private onOpen: () => void,
  ) {
    this.name = field;
  }

  attach(source: Readable, spool: boolean, filename?: string, mimeType?: string): void {
    this.attached = true;
    this.source = source;
    if (filename) this.name = filename;
    if (mimeType) this.type = mimeType;
    source.on('end', () => {
      this.ended = true;
      this.poke();
    });
    source.on('error', (err) => this.fail(err));
    if (this.discarded) source.resume();
    else if (spool) this.spool();
    else source.on('readable', () => this.poke());
  }

  spool(): void {
    const { source } = this;
    if (!source || this.spooled || this.discarded) return;
    this.spooled = [];
    source.removeAllListeners('readable');
    source.on('data', (chunk: Buffer) => {
      this.spooled?.push(chunk);
      this.poke();
    });
    source.resume();
  }

  /** Nobody will read it: let the parser move past it. */
  discard(): void {
    if (this.discarded) return;
    this.discarded = true;
    this.spooled = null;
    if (this.source) {
      this.source.removeAllListeners('readable');
      this.source.removeAllListeners('data');
      this.source.resume();
    }
  }

  fail(err: Error): void {
    if (this.ended || this.error) return;
    this.error = err;
    this.poke();
  }

  /** The body ended and this part never came. */
  missing(err: Error): void {
    if (!this.attached) this.fail(err);
  }

  stream(): ReadableStream<Uint8Array> {
    if (this.opened) throw new Error('an uploaded file can be read once');
    this.opened = true;
    this.onOpen();
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          const chunk = await this.next();
          if (chunk) controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
          else controller.close();
        },
        cancel: () => this.discard(),
      },
      { highWaterMark: 0 },
    );
  }

  private async next(): Promise<Buffer | null> {
    for (;;) {
      if (this.error) throw this.error;
      if (this.source) {
        const chunk = this.spooled ? this.spooled.shift() : this.source.read();
        if (chunk) return chunk;
        if (this.ended) return null;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}
