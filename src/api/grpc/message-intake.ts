// What a gRPC server call reads before grpc-js hands its message to a method. grpc-js reads each
// request message whole (up to --max-body-size) and only then calls the method, so a flood of
// large calls was held in full whatever --max-body-memory said, and a message over the limit got
// grpc-js's own RESOURCE_EXHAUSTED without our code. Each call's DATA frames are therefore counted
// against its server's body budget as they arrive, as an HTTP body's bytes are (from the
// LARGE_BODY_BYTES-th, given back when the call's stream closes); a call refused — over the
// budget, or a message over the limit — is answered with our status (UNAVAILABLE
// SERVER_OVERLOADED with Retry-After, RESOURCE_EXHAUSTED BODY_TOO_LARGE) and what else it sends
// is dropped. Each call's stream is also watched for an answer its client does not take
// (--send-timeout, api/stalled-answers.ts). grpc-js (1.14, pinned) has no hook for either: its
// server call's handleDataFrame is wrapped, once its shape is the one this was written against.

import { createRequire } from 'node:module';
import http2, { type ServerHttp2Stream } from 'node:http2';
import type { StatusObject } from '@grpc/grpc-js';
import { arrivalMeter, type ArrivalMeter, type BodyBudget } from '../../http/index.js';
import { ErrorCode, WeftError } from '../../errors.js';
import { serviceError } from './status.js';
import type { StallWatch } from '../stalled-answers.js';

/** The parts of grpc-js's BaseServerInterceptingCall used here. */
interface ServerCall {
  stream?: ServerHttp2Stream;
  decoder?: { write(data: Buffer): Buffer[]; readPartialSize?: Buffer };
  handler?: { deserialize?: unknown };
  maxReceiveMessageSize: number;
  handleDataFrame(data: Buffer): void;
  sendStatus(status: StatusObject): void;
}

interface Intake {
  meter?: ArrivalMeter;
  seen: number;
  /** Why the call is refused, found while decoding. */
  refusal?: WeftError;
  /** The call has its answer: what else it sends is dropped. */
  answered: boolean;
}

/** What a server's calls are held to: the body budget, and the watch on answers not taken. */
export interface CallLimits {
  budget?: BodyBudget | undefined;
  stalls?: StallWatch | undefined;
}

/** Each method's request deserializer → its server's limits. */
const limitsByMethod = new WeakMap<object, CallLimits>();
const intakes = new WeakMap<ServerCall, Intake>();
const WRAPPED = Symbol('weft.intake');

/** Calls of the method that decodes requests with `deserialize` are held to `limits`. */
export function holdCallsTo(deserialize: object, limits: CallLimits): void {
  limitsByMethod.set(deserialize, limits);
}

/** Wraps grpc-js's server call reading; returns why not when its shape is not the one known. */
export function meterIncomingMessages(): string | undefined {
  const require = createRequire(import.meta.url);
  let calls: { BaseServerInterceptingCall?: { prototype: Partial<ServerCall> & { [WRAPPED]?: true } } };
  try {
    calls = require('@grpc/grpc-js/build/src/server-interceptors.js') as typeof calls;
  } catch (err) {
    return `grpc-js's server call was not found (${(err as Error).message})`;
  }
  const proto = calls.BaseServerInterceptingCall?.prototype;
  if (proto === undefined || typeof proto.handleDataFrame !== 'function' || typeof proto.sendStatus !== 'function') return "grpc-js's server call has another shape";
  if (proto[WRAPPED]) return undefined;
  const original = proto.handleDataFrame;
  proto.handleDataFrame = function (this: ServerCall, data: Buffer): void {
    const intake = intakes.get(this) ?? open(this);
    if (intake.answered) return;
    try {
      intake.meter?.seen((intake.seen += data.length));
    } catch (err) {
      return refuse(this, intake, err);
    }
    original.call(this, data);
    if (intake.refusal !== undefined) refuse(this, intake, intake.refusal);
  };
  proto[WRAPPED] = true;
  return undefined;
}

function open(call: ServerCall): Intake {
  const intake: Intake = { seen: 0, answered: false };
  intakes.set(call, intake);
  const { stream, decoder } = call;
  // A call of another shape is read as grpc-js reads it.
  if (stream === undefined || typeof stream.once !== 'function' || decoder === undefined || typeof decoder.write !== 'function') return intake;
  const limits = call.handler?.deserialize === undefined ? undefined : limitsByMethod.get(call.handler.deserialize as object);
  // A stalled call is reset as cancelled; its connection carries the others on.
  limits?.stalls?.watch(stream, () => stream.close(http2.constants.NGHTTP2_CANCEL));
  const budget = limits?.budget;
  if (budget !== undefined && budget.limit > 0) {
    const meter = arrivalMeter(budget);
    intake.meter = meter;
    stream.once('close', meter.release);
  }
  // The decoder throws on a message over the limit; grpc-js would answer that without our code.
  const write = decoder.write;
  decoder.write = (data) => {
    try {
      return write.call(decoder, data);
    } catch {
      const size = decoder.readPartialSize?.readUInt32BE(0);
      intake.refusal = new WeftError(ErrorCode.BodyTooLarge, `the request message${size === undefined ? '' : ` of ${size} bytes`} exceeds the limit of ${call.maxReceiveMessageSize} bytes (--max-body-size)`);
      return [];
    }
  };
  return intake;
}

function refuse(call: ServerCall, intake: Intake, err: unknown): void {
  intake.answered = true;
  intake.meter?.release();
  const { code, details, metadata } = serviceError(err);
  call.sendStatus({ code, details, metadata });
}
