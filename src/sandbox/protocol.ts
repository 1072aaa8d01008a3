// Messages between the main thread and a component worker, and the wire shape of one app
// request and response. Kept apart so both sides share them (types, and the cap on guest text).

import type { MessagePort } from 'node:worker_threads';
import type { Grants } from './factors/index.js';

export interface AppRequest {
  method: string;
  /** The path after /apps/{app}, "/" when empty. */
  path: string;
  /** Query string without "?". */
  query: string;
  headers: Array<[string, string]>;
  body: Uint8Array;
}

export interface AppResponse {
  status: number;
  headers: Array<[string, string]>;
  body: Uint8Array;
}

export interface WorkerInit {
  app: string;
  grants: Grants;
  /** file: URL of the transpiled component's JS. */
  moduleUrl: string;
  /** Compiled core modules by file name, memories already capped. */
  modules: Record<string, WebAssembly.Module>;
  /** Fresh instance for every request instead of one reused instance. */
  perRequest: boolean;
  memoryBytes: number;
  /** Int32 flag the main thread sets when a bridge answer is posted. */
  flag: SharedArrayBuffer;
  /** Bridge port: requests to the main thread's host operations and their answers. */
  port: MessagePort;
}

/** Longest guest text (an error message, a log line) the node passes on: a guest controls its size. */
export const GUEST_TEXT_CAP = 2048;

/** `text` cut to GUEST_TEXT_CAP characters, saying how much was dropped. */
export function capGuestText(text: string): string {
  return text.length <= GUEST_TEXT_CAP ? text : `${text.slice(0, GUEST_TEXT_CAP)}… (${text.length - GUEST_TEXT_CAP} more characters)`;
}

export type ToWorker = { type: 'handle'; id: number; request: AppRequest };

export interface FailureInfo {
  /** An ErrorCode value. */
  code: string;
  message: string;
}

export type FromWorker =
  /** The worker has loaded the component's glue and is about to instantiate it. */
  | { type: 'booted' }
  | { type: 'ready'; instantiateMs: number }
  | { type: 'failed'; error: FailureInfo }
  | { type: 'log'; level: string; message: string }
  /** `memoryBytes`: the instance's linear memory after the request (it never shrinks). */
  | { type: 'result'; id: number; response: AppResponse; memoryBytes: number }
  | { type: 'error'; id: number; error: FailureInfo; memoryBytes: number };

export interface BridgeRequest {
  op: string;
  payload: unknown;
}
