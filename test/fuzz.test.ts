// Property-based fuzzing (fast-check) of every decoder that reads what a caller or another node
// sends: the KServe v2 JSON and binary request decoder, the OpenAI request parser, the app
// manifest parser, the fleet's stored-record decoder and its forwarding frames. Each run feeds
// thousands of malformed inputs — random bytes, random JSON, and valid requests with one part
// replaced by something random — and asserts that each is accepted or refused with a typed 4xx
// error: never a TypeError, RangeError or stack overflow, which the node would answer with 500.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { z } from 'zod';
import { decodeInferRequest } from '../src/api/kserve/decode.js';
import { chatRequest, completionRequest, embeddingRequest, parseBody } from '../src/api/openai/wire.js';
import { httpStatus } from '../src/api/http-errors.js';
import { parseManifest } from '../src/bundle/manifest.js';
import { WeftError } from '../src/errors.js';
import { appSpecSchema, decode, leaseSchema, nodeRecordSchema, placementSchema } from '../src/fleet/messages.js';
import { FrameError, frame, openSchema, streamSchema, unframe } from '../src/fleet/router/wire.js';

const RUNS = 2000;
const utf8 = new TextEncoder();

/** Runs `f`; passes when it returns or throws a WeftError whose HTTP status is 4xx. */
function refusedCleanly(f: () => unknown): boolean {
  try {
    f();
    return true;
  } catch (err) {
    if (!(err instanceof WeftError)) throw new Error(`not a typed error: ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
    const status = httpStatus(err.code);
    if (status < 400 || status > 499) throw new Error(`${err.code} is HTTP ${status}, not a 4xx`);
    return true;
  }
}

/** `valid` with the value at one path replaced by `value` (a path that does not exist is created). */
function withReplaced(valid: unknown, path: readonly (string | number)[], value: unknown): unknown {
  const copy = structuredClone(valid) as Record<string | number, unknown>;
  let node: Record<string | number, unknown> = copy;
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string | number, unknown>;
  }
  node[path.at(-1)!] = value;
  return copy;
}

/** Arbitrary JSON values, deep and odd ones included. */
const anyJson = fc.oneof(fc.jsonValue({ maxDepth: 6 }), fc.constantFrom(-1, 0, 1e308, -0, 2 ** 53, '', [], {}, [[[[]]]], null, true, 'FP32', 'BYTES'));

const VALID_INFER = { id: 'a', inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4], parameters: {} }], outputs: [{ name: 'y', parameters: { binary_data: true } }], parameters: { binary_data_output: false } };
const INFER_PATHS: (string | number)[][] = [
  ['id'], ['inputs'], ['inputs', 0], ['inputs', 0, 'name'], ['inputs', 0, 'shape'], ['inputs', 0, 'shape', 0], ['inputs', 0, 'datatype'],
  ['inputs', 0, 'data'], ['inputs', 0, 'data', 2], ['inputs', 0, 'parameters'], ['inputs', 0, 'parameters', 'binary_data_size'],
  ['outputs'], ['outputs', 0, 'name'], ['outputs', 0, 'parameters'], ['parameters'], ['parameters', 'binary_data_output'], ['parameters', 'priority'], ['parameters', 'timeout'],
];

describe('fuzzing the decoders', () => {
  it('KServe v2: random bytes, random JSON and mutated requests are decoded or refused with a 4xx', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), fc.option(fc.nat({ max: 600 })), (bytes, header) => refusedCleanly(() => decodeInferRequest(bytes, header ?? undefined))), { numRuns: RUNS });
    fc.assert(fc.property(anyJson, (json) => refusedCleanly(() => decodeInferRequest(utf8.encode(JSON.stringify(json)), undefined))), { numRuns: RUNS });
    fc.assert(
      fc.property(fc.constantFrom(...INFER_PATHS), anyJson, (path, value) => refusedCleanly(() => decodeInferRequest(utf8.encode(JSON.stringify(withReplaced(VALID_INFER, path, value))), undefined))),
      { numRuns: RUNS },
    );
  });

  it('KServe v2 binary: a header and tensor bytes of any sizes are decoded or refused with a 4xx', () => {
    const binaryRequest = fc.record({
      shape: fc.array(fc.integer({ min: -2, max: 9 }), { maxLength: 4 }),
      datatype: fc.constantFrom('FP32', 'INT64', 'BYTES', 'BOOL', 'FP16', 'UINT8', 'X'),
      declared: fc.integer({ min: -4, max: 200 }),
      tensor: fc.uint8Array({ maxLength: 200 }),
      trailing: fc.uint8Array({ maxLength: 8 }),
    });
    fc.assert(
      fc.property(binaryRequest, ({ shape, datatype, declared, tensor, trailing }) => {
        const header = utf8.encode(JSON.stringify({ inputs: [{ name: 'x', shape, datatype, parameters: { binary_data_size: declared } }] }));
        const body = Buffer.concat([header, tensor, trailing]);
        return refusedCleanly(() => decodeInferRequest(body, header.byteLength));
      }),
      { numRuns: RUNS },
    );
  });

  it('OpenAI: any JSON, and valid requests with one field replaced, are parsed or refused with a 4xx', () => {
    const valid = { model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4, stream: false };
    const paths: (string | number)[][] = [['model'], ['messages'], ['messages', 0], ['messages', 0, 'role'], ['messages', 0, 'content'], ['max_tokens'], ['temperature'], ['stop'], ['response_format'], ['tools'], ['stream'], ['stream_options'], ['keep_alive'], ['seed']];
    for (const schema of [chatRequest, completionRequest, embeddingRequest] as z.ZodType<unknown>[]) {
      fc.assert(fc.property(anyJson, (json) => refusedCleanly(() => parseBody(schema, json))), { numRuns: RUNS / 2 });
    }
    fc.assert(fc.property(fc.constantFrom(...paths), anyJson, (path, value) => refusedCleanly(() => parseBody(chatRequest, withReplaced(valid, path, value)))), { numRuns: RUNS });
  });

  it('weft.json: any JSON, and a valid manifest with one field replaced, is parsed or refused with a 4xx', () => {
    const valid = { name: 'ocr', version: '1.0.0', component: { file: 'app.wasm', grants: { models: ['m'], config: { a: 'b' } }, limits: { memory: '64MiB', timeout: '5s' } }, models: [{ name: 'm', file: 'm.onnx' }] };
    const paths: (string | number)[][] = [['name'], ['version'], ['component'], ['component', 'file'], ['component', 'grants'], ['component', 'grants', 'models'], ['component', 'grants', 'config'], ['component', 'limits'], ['component', 'limits', 'memory'], ['models'], ['models', 0], ['models', 0, 'name'], ['models', 0, 'file'], ['models', 0, 'format']];
    fc.assert(fc.property(anyJson, (json) => refusedCleanly(() => parseManifest(json))), { numRuns: RUNS });
    fc.assert(fc.property(fc.constantFrom(...paths), anyJson, (path, value) => refusedCleanly(() => parseManifest(withReplaced(valid, path, value)))), { numRuns: RUNS });
  });

  it("the fleet's stored records: any bytes or JSON decode to a record or are dropped with a warning, never thrown", () => {
    let warnings = 0;
    const log = { warn: () => void warnings++ };
    const schemas = [nodeRecordSchema, appSpecSchema, placementSchema, leaseSchema] as const;
    fc.assert(
      fc.property(fc.constantFrom(...schemas), fc.oneof(fc.uint8Array({ maxLength: 256 }), anyJson.map((j) => utf8.encode(JSON.stringify(j) ?? ''))), (schema, data) => {
        decode(schema as never, data, 'fuzz', log);
        return true;
      }),
      { numRuns: RUNS },
    );
    assert.ok(warnings > RUNS / 2, `${warnings} malformed records were warned about`);
  });

  it('forwarding frames: any bytes, and frames with random meta, are split or refused with a FrameError naming the field', () => {
    const onlyFrameErrors = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        if (!(err instanceof FrameError)) throw err;
        assert.ok(err.field.length > 0);
      }
      return true;
    };
    fc.assert(fc.property(fc.constantFrom(openSchema, streamSchema), fc.uint8Array({ maxLength: 256 }), (schema, data) => onlyFrameErrors(() => unframe(schema as never, data))), { numRuns: RUNS });
    fc.assert(
      fc.property(fc.constantFrom(openSchema, streamSchema), anyJson, fc.uint8Array({ maxLength: 64 }), (schema, meta, payload) => onlyFrameErrors(() => unframe(schema as never, frame(meta as object, payload)))),
      { numRuns: RUNS },
    );
  });
});
