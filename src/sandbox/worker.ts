// Runs one app's component inside a worker thread: instantiates it with the host factors'
// imports, handles one request at a time, and reports traps, typed errors and malformed results
// as failures of that request only. A trapped instance is replaced before the next request.

import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { FACTORS, type GuestContext } from './factors/index.js';
import { capGuestText, type AppResponse, type FailureInfo, type FromWorker, type ToWorker, type WorkerInit } from './protocol.js';

const init = workerData as WorkerInit;
const flag = new Int32Array(init.flag);
const post = (m: FromWorker, transfer: ArrayBuffer[] = []) => parentPort!.postMessage(m, transfer);

/** The last error the guest logged (AssemblyScript aborts log their message before trapping). */
let lastGuestError = '';
/** Log lines one request may send: a component logging in a loop must not flood the node. */
const LOG_LINES_PER_REQUEST = 100;
let logLines = 0;

const ctx: GuestContext = {
  app: init.app,
  grants: init.grants,
  call(op, payload, transfer = []) {
    Atomics.store(flag, 0, 0);
    init.port.postMessage({ op, payload }, transfer);
    for (;;) {
      Atomics.wait(flag, 0, 0, 1000);
      const answer = receiveMessageOnPort(init.port);
      if (answer !== undefined) return answer.message;
    }
  },
  log(level, text) {
    const message = capGuestText(text);
    if (level === 'error') lastGuestError = message;
    logLines++;
    if (logLines <= LOG_LINES_PER_REQUEST) post({ type: 'log', level, message });
    else if (logLines === LOG_LINES_PER_REQUEST + 1) post({ type: 'log', level: 'warn', message: `more than ${LOG_LINES_PER_REQUEST} log lines in one request: the rest are dropped` });
  },
};

const imports: Record<string, Record<string, unknown>> = {};
for (const factor of FACTORS) imports[factor.interface] = factor.guest(ctx);

interface Handler {
  handle(req: unknown): { status: number; headers: Array<[string, string]>; body: Uint8Array };
}
type Instantiate = (getCoreModule: (name: string) => WebAssembly.Module, imports: unknown, instantiateCore?: unknown) => Record<string, unknown>;

const { instantiate } = (await import(init.moduleUrl)) as { instantiate: Instantiate };
const memories: WebAssembly.Memory[] = [];

function newInstance(): Handler {
  memories.length = 0;
  const exports = instantiate(
    (name) => init.modules[name]!,
    imports,
    (module: WebAssembly.Module, importObject: WebAssembly.Imports) => {
      const instance = new WebAssembly.Instance(module, importObject);
      for (const v of Object.values(instance.exports)) if (v instanceof WebAssembly.Memory) memories.push(v);
      return instance;
    },
  );
  const handler = (exports['weft:app/handler@0.1.0'] ?? exports.handler) as Handler | undefined;
  if (handler === undefined || typeof handler.handle !== 'function') throw new Error('the component does not export weft:app/handler@0.1.0');
  return handler;
}

let instance: Handler | undefined;
// From here the component's own code runs (its start function): the host starts its deadline.
post({ type: 'booted' });
try {
  const started = performance.now();
  instance = newInstance();
  const instantiateMs = performance.now() - started;
  if (init.perRequest) instance = undefined;
  post({ type: 'ready', instantiateMs });
} catch (err) {
  post({ type: 'failed', error: { code: 'COMPONENT_REFUSED', message: `the component failed to start: ${(err as Error).message}` } });
}

const KINDS: Record<string, string> = {
  'bad-request': 'APP_BAD_REQUEST',
  'not-found': 'APP_PATH_NOT_FOUND',
  unprocessable: 'APP_UNPROCESSABLE',
  unavailable: 'APP_UNAVAILABLE',
  internal: 'APP_FAILED',
};

/** Whether the trapped instance had no room left: 2 MiB more would not fit under its cap. */
function nearMemoryLimit(): boolean {
  // The instance is thrown away after a trap, so growing its memory to probe costs nothing.
  return memories.some((m) => {
    try {
      m.grow(32);
      return false;
    } catch {
      return true;
    }
  });
}

function classify(err: unknown): FailureInfo {
  // jco throws a handler's typed error as the plain `app-error` record (or wrapped, as `payload`).
  type AppError = { kind?: unknown; message?: unknown };
  const payload = err instanceof Error ? (err as { payload?: AppError }).payload : (err as AppError | null);
  if (payload !== undefined && payload !== null && typeof payload.kind === 'string' && KINDS[payload.kind] !== undefined) {
    return { code: KINDS[payload.kind as string]!, message: capGuestText(String(payload.message ?? '')) };
  }
  const why = lastGuestError ? `: ${lastGuestError}` : '';
  // V8 reports a Wasm stack overflow as a RangeError, not a RuntimeError: it is a trap all the same.
  if (err instanceof RangeError && /call stack size/i.test(err.message)) {
    return { code: 'COMPONENT_TRAPPED', message: `the component trapped (stack overflow: recursion too deep)${why}` };
  }
  if (err instanceof WebAssembly.RuntimeError) {
    const memory = nearMemoryLimit() ? ` (its memory reached the limit of ${init.memoryBytes} bytes: component.limits.memory)` : '';
    return { code: 'COMPONENT_TRAPPED', message: `the component trapped (${err.message})${memory}${why}` };
  }
  return { code: 'COMPONENT_INVALID_RESPONSE', message: capGuestText(`the component returned malformed data: ${(err as Error).message}`) };
}

/** Bytes the instance's memories hold (the pool decides whether a worker that big is kept). */
function memoryBytes(): number {
  return memories.reduce((n, memory) => n + memory.buffer.byteLength, 0);
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

function checkResponse(r: Awaited<ReturnType<Handler['handle']>>): AppResponse {
  if (!Number.isInteger(r.status) || r.status < 200 || r.status > 599) throw new Error(`status ${r.status} is not an HTTP status from 200 to 599`);
  for (const [name, value] of r.headers) {
    if (!HEADER_NAME.test(name)) throw new Error(`header name ${JSON.stringify(name)} is not a valid token`);
    if (!HEADER_VALUE.test(value)) throw new Error(`header '${name}' has a value with control characters`);
  }
  // A copy that this thread owns, so it can be handed to the main thread without another.
  return { status: r.status, headers: r.headers.map(([k, v]) => [k, v]), body: new Uint8Array(r.body) };
}

parentPort!.on('message', (m: ToWorker) => {
  if (m.type !== 'handle') return;
  lastGuestError = '';
  logLines = 0;
  try {
    const handler = (instance ??= newInstance());
    if (init.perRequest) instance = undefined;
    const response = checkResponse(handler.handle(m.request));
    post({ type: 'result', id: m.id, response, memoryBytes: memoryBytes() }, [response.body.buffer as ArrayBuffer]);
  } catch (err) {
    // The instance may hold broken state after any failure: the next request gets a new one.
    instance = undefined;
    post({ type: 'error', id: m.id, error: classify(err), memoryBytes: memoryBytes() });
  }
});
