// Proves the generated test models are real ONNX: onnxruntime loads each one, reports the
// signature the rest of the suite relies on, and computes what the kit's constants predict.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import {
  AFFINE_B,
  AFFINE_B_V2,
  AFFINE_W,
  BIG_ADDENDS,
  BIG_N,
  IDENTITY_DATATYPES,
  SLOW_CONFIG,
  SLOW_DEPTH,
  SLOW_SCALE,
  SLOW_WIDTH,
  writeTestModels,
  type IdentityDatatype,
  type TestModels,
} from './models.js';

type Signature = { name: string; type: string; shape: (number | string)[] }[];

/** One batch of four values per datatype, picked to hit the edges of each type's range. */
function identitySample(datatype: IdentityDatatype): Tensor {
  const dims = [1, 4];
  switch (datatype) {
    case 'bool': return new ort.Tensor('bool', new Uint8Array([1, 0, 1, 1]), dims);
    case 'uint8': return new ort.Tensor('uint8', new Uint8Array([0, 1, 200, 255]), dims);
    case 'uint16': return new ort.Tensor('uint16', new Uint16Array([0, 1, 40_000, 65_535]), dims);
    case 'uint32': return new ort.Tensor('uint32', new Uint32Array([0, 1, 3e9, 2 ** 32 - 1]), dims);
    case 'uint64': return new ort.Tensor('uint64', new BigUint64Array([0n, 1n, 2n ** 63n, 2n ** 64n - 1n]), dims);
    case 'int8': return new ort.Tensor('int8', new Int8Array([-128, -1, 0, 127]), dims);
    case 'int16': return new ort.Tensor('int16', new Int16Array([-32_768, -1, 0, 32_767]), dims);
    case 'int32': return new ort.Tensor('int32', new Int32Array([-(2 ** 31), -1, 0, 2 ** 31 - 1]), dims);
    case 'int64': return new ort.Tensor('int64', new BigInt64Array([-(2n ** 63n), -1n, 0n, 2n ** 63n - 1n]), dims);
    // Half floats travel as their bit patterns: 1.0, -2.0, the largest finite, the smallest subnormal.
    case 'fp16': return new ort.Tensor('float16', new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001]), dims);
    case 'fp32': return new ort.Tensor('float32', new Float32Array([1.5, -2.25, 1e30, 1e-45]), dims);
    case 'fp64': return new ort.Tensor('float64', new Float64Array([Math.PI, -1e300, 5e-324, 0]), dims);
    case 'bytes': return new ort.Tensor('string', ['', 'a', 'héllo', 'x'.repeat(100)], dims);
  }
}

function signature(metadata: readonly InferenceSession.ValueMetadata[]): Signature {
  return metadata.map((m) => {
    assert.ok(m.isTensor, `${m.name} should be a tensor`);
    return { name: m.name, type: m.type, shape: [...m.shape] };
  });
}

function assertClose(actual: Tensor, expected: number[], tolerance: number): void {
  const values = Array.from(actual.data as Float32Array);
  assert.equal(values.length, expected.length);
  values.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) <= tolerance, `[${i}]: ${v} vs ${expected[i]}`));
}

function affineExpected(x: number[][], bias: readonly number[]): number[] {
  return x.flatMap((row) => bias.map((b, j) => row.reduce((acc, v, i) => acc + v * AFFINE_W[i]![j]!, b)));
}

describe('test models', () => {
  let models: TestModels;
  const sessions: InferenceSession[] = [];

  before(async () => {
    models = await writeTestModels(await mkdtemp(join(tmpdir(), 'weft-models-')));
  });
  after(async () => {
    await Promise.all(sessions.map((s) => s.release()));
    await rm(models.root, { recursive: true, force: true });
  });

  async function open(name: string, version = 1): Promise<InferenceSession> {
    const session = await ort.InferenceSession.create(join(models.root, name, String(version), 'model.onnx'));
    sessions.push(session);
    return session;
  }

  it('lays out a Triton-style repository', async () => {
    const identities = IDENTITY_DATATYPES.map((d) => `identity_${d}`);
    const expected = [...identities, 'affine', 'sum_two', 'fixed_shape', 'slow', 'big_a', 'big_b', 'big_c'];
    assert.deepEqual([...models.names].sort(), expected.sort());
    for (const name of models.names) await stat(join(models.root, name, '1', 'model.onnx'));
    await stat(join(models.root, 'affine', '2', 'model.onnx'));
    assert.deepEqual(JSON.parse(await readFile(join(models.root, 'slow', 'config.json'), 'utf8')), SLOW_CONFIG);
    await assert.rejects(stat(join(models.root, 'affine', 'config.json')));
  });

  it('is deterministic', async () => {
    const again = await writeTestModels(await mkdtemp(join(tmpdir(), 'weft-models-')));
    try {
      for (const path of ['affine/2/model.onnx', 'slow/1/model.onnx', 'identity_bytes/1/model.onnx']) {
        assert.deepEqual(await readFile(join(again.root, path)), await readFile(join(models.root, path)), path);
      }
    } finally {
      await rm(again.root, { recursive: true, force: true });
    }
  });

  for (const datatype of IDENTITY_DATATYPES) {
    it(`identity_${datatype} returns its input`, async () => {
      const session = await open(`identity_${datatype}`);
      const input = identitySample(datatype);
      const io = [{ name: 'INPUT0', type: input.type, shape: ['batch', 4] }];
      assert.deepEqual(signature(session.inputMetadata), io);
      assert.deepEqual(signature(session.outputMetadata), [{ ...io[0]!, name: 'OUTPUT0' }]);
      const { OUTPUT0 } = await session.run({ INPUT0: input });
      assert.equal(OUTPUT0!.type, input.type);
      assert.deepEqual(OUTPUT0!.dims, [1, 4]);
      assert.deepEqual(Array.from(OUTPUT0!.data as ArrayLike<unknown>), Array.from(input.data as ArrayLike<unknown>));
    });
  }

  it('affine computes x·W + b, and version 2 has the larger bias', async () => {
    const x = [[1, 2, 3, 4], [-0.5, 0, 0.25, 8]];
    const feed = { x: new ort.Tensor('float32', Float32Array.from(x.flat()), [2, 4]) };
    for (const [version, bias] of [[1, AFFINE_B], [2, AFFINE_B_V2]] as const) {
      const session = await open('affine', version);
      assert.deepEqual(signature(session.inputMetadata), [{ name: 'x', type: 'float32', shape: ['batch', 4] }]);
      assert.deepEqual(signature(session.outputMetadata), [{ name: 'y', type: 'float32', shape: ['batch', 3] }]);
      const { y } = await session.run(feed);
      assert.deepEqual(y!.dims, [2, 3]);
      assertClose(y!, affineExpected(x, bias), 1e-5);
    }
  });

  it('sum_two adds and subtracts', async () => {
    const session = await open('sum_two');
    const int2 = (name: string) => ({ name, type: 'int32', shape: ['batch', 2] });
    assert.deepEqual(signature(session.inputMetadata), [int2('a'), int2('b')]);
    assert.deepEqual(signature(session.outputMetadata), [int2('sum'), int2('diff')]);
    const a = new ort.Tensor('int32', new Int32Array([1, 2, 3, -4]), [2, 2]);
    const b = new ort.Tensor('int32', new Int32Array([10, 20, -30, 40]), [2, 2]);
    const { sum, diff } = await session.run({ a, b });
    assert.deepEqual(Array.from(sum!.data as Int32Array), [11, 22, -27, 36]);
    assert.deepEqual(Array.from(diff!.data as Int32Array), [-9, -18, 33, -44]);
  });

  it('fixed_shape has no dynamic dimension and applies relu', async () => {
    const session = await open('fixed_shape');
    assert.deepEqual(signature(session.inputMetadata), [{ name: 'x', type: 'float32', shape: [1, 3] }]);
    assert.deepEqual(signature(session.outputMetadata), [{ name: 'y', type: 'float32', shape: [1, 3] }]);
    const { y } = await session.run({ x: new ort.Tensor('float32', new Float32Array([-1, 0, 2.5]), [1, 3]) });
    assert.deepEqual(Array.from(y!.data as Float32Array), [0, 0, 2.5]);
  });

  it('slow scales its input by SLOW_SCALE^SLOW_DEPTH', async () => {
    const session = await open('slow');
    const io = (name: string) => [{ name, type: 'float32', shape: ['batch', SLOW_WIDTH] }];
    assert.deepEqual(signature(session.inputMetadata), io('x'));
    assert.deepEqual(signature(session.outputMetadata), io('y'));
    const x = Float32Array.from({ length: 2 * SLOW_WIDTH }, (_, i) => (i % 7) - 3);
    const { y } = await session.run({ x: new ort.Tensor('float32', x, [2, SLOW_WIDTH]) });
    assertClose(y!, Array.from(x, (v) => v * SLOW_SCALE ** SLOW_DEPTH), 1e-4);
  });

  for (const [name, addend] of Object.entries(BIG_ADDENDS)) {
    it(`${name} adds ${addend} through a ${BIG_N}-float initializer`, async () => {
      const session = await open(name);
      assert.deepEqual(signature(session.inputMetadata), [{ name: 'x', type: 'float32', shape: ['batch', BIG_N] }]);
      const x = new Float32Array(BIG_N).map((_, i) => i % 5);
      const { y } = await session.run({ x: new ort.Tensor('float32', x, [1, BIG_N]) });
      const out = y!.data as Float32Array;
      for (const i of [0, 1, 4, BIG_N - 1]) assert.equal(out[i], x[i]! + addend, `y[${i}]`);
    });
  }
});
