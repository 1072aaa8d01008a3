// A forwarded request replayed into this node's handler: its whole body is already in memory.
// A web Request made with that body wraps it in a ReadableStream that the route then reads back
// through (in Node 20 each stream is also made transferable, which is costly): in CPU profiles of
// a node serving small forwards, undici and web streams took about a fifth of each request. The
// same trick as @hono/node-server's requests from a socket: the body is handed out as bytes, and
// a stream is made only for a reader that asks for `body`.

const utf8Decoder = new TextDecoder();

export class ReplayedRequest extends Request {
  private used = false;
  private stream: ReadableStream<Uint8Array<ArrayBuffer>> | null | undefined;

  /** The caller's signal as is: handed to Request, it would be followed by a second one. */
  private readonly abortSignal: AbortSignal | undefined;

  constructor(
    url: string,
    init: Omit<RequestInit, 'body'>,
    private readonly content: Uint8Array<ArrayBuffer> | null,
  ) {
    const { signal, ...rest } = init;
    super(url, rest);
    this.abortSignal = signal ?? undefined;
  }

  override get signal(): AbortSignal {
    return this.abortSignal ?? super.signal;
  }

  private take(): Uint8Array<ArrayBuffer> {
    if (this.used) throw new TypeError('Body is unusable: the body has already been read');
    this.used = true;
    return this.content ?? new Uint8Array(0);
  }

  override get bodyUsed(): boolean {
    return this.used;
  }

  override get body(): ReadableStream<Uint8Array<ArrayBuffer>> | null {
    if (this.stream !== undefined) return this.stream;
    if (this.content === null) return (this.stream = null);
    // Read already as bytes: a stream that fails when read, as a used Request's would, rather
    // than a getter that throws.
    const bytes = this.used ? undefined : this.take();
    return (this.stream = new ReadableStream({
      start(controller) {
        if (bytes === undefined) return controller.error(new TypeError('Body is unusable: the body has already been read'));
        controller.enqueue(bytes);
        controller.close();
      },
    }));
  }

  override clone(): ReplayedRequest {
    if (this.used) throw new TypeError('Body is unusable: the body has already been read');
    // A copy, so that neither reader's bytes are the other's.
    return new ReplayedRequest(this.url, { method: this.method, headers: this.headers, signal: this.signal }, this.content?.slice() ?? null);
  }

  override async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = this.take();
    // A body that fills its buffer (one gathered from chunks) is handed over without a copy; a
    // view into a larger one (a NATS message) is copied out.
    if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes.buffer;
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  }

  override async bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return new Uint8Array(await this.arrayBuffer());
  }

  override async text(): Promise<string> {
    return utf8Decoder.decode(this.take());
  }

  override async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  override async blob(): Promise<Blob> {
    return new Blob([await this.arrayBuffer()], { type: this.headers.get('content-type') ?? '' });
  }
}
