// Tests for the datatype table, half-precision conversion and JSON element conversion.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, WeftError } from '../../errors.js';
import { Datatypes, storageMatches, type Datatype, type TensorData } from '../../backends/index.js';
import { floatToHalf, fromJsonValues, halfToFloat, toJsonValues } from './datatypes.js';

const site = { input: 'x', field: 'inputs[2].data' };

test('halfToFloat decodes normals, subnormals, zeros, infinities and NaN', () => {
  assert.equal(halfToFloat(0x3c00), 1);
  assert.equal(halfToFloat(0xc000), -2);
  assert.equal(halfToFloat(0x3555), 0.333251953125);
  assert.equal(halfToFloat(0x7bff), 65504);
  assert.equal(halfToFloat(0x0400), 2 ** -14);
  assert.equal(halfToFloat(0x0001), 2 ** -24);
  assert.equal(halfToFloat(0x03ff), 1023 * 2 ** -24);
  assert.equal(halfToFloat(0x8001), -(2 ** -24));
  assert.ok(Object.is(halfToFloat(0x0000), 0));
  assert.ok(Object.is(halfToFloat(0x8000), -0));
  assert.equal(halfToFloat(0x7c00), Infinity);
  assert.equal(halfToFloat(0xfc00), -Infinity);
  assert.ok(Number.isNaN(halfToFloat(0x7e00)));
  assert.ok(Number.isNaN(halfToFloat(0xfc01)));
});

test('floatToHalf rounds to nearest, ties to even, with overflow and subnormals', () => {
  assert.equal(floatToHalf(1), 0x3c00);
  assert.equal(floatToHalf(-2), 0xc000);
  assert.equal(floatToHalf(0.1), 0x2e66);
  assert.equal(floatToHalf(65504), 0x7bff);
  assert.equal(floatToHalf(65519.99), 0x7bff);
  assert.equal(floatToHalf(65520), 0x7c00, 'the tie above the largest half goes to infinity');
  assert.equal(floatToHalf(1e9), 0x7c00);
  assert.equal(floatToHalf(-1e9), 0xfc00);
  assert.equal(floatToHalf(Infinity), 0x7c00);
  assert.equal(floatToHalf(-Infinity), 0xfc00);
  assert.equal(floatToHalf(NaN), 0x7e00);
  assert.equal(floatToHalf(0), 0x0000);
  assert.equal(floatToHalf(-0), 0x8000);
  // Ties: 1 + 2^-11 lies halfway between 0x3c00 and 0x3c01 and goes to the even one.
  assert.equal(floatToHalf(1 + 2 ** -11), 0x3c00);
  assert.equal(floatToHalf(1 + 3 * 2 ** -11), 0x3c02);
  // Just above the tie: rounding through float32 first would land on the tie and give 0x3c00.
  assert.equal(floatToHalf(1 + 2 ** -11 + 2 ** -30), 0x3c01);
  // Subnormals, their ties, and the carry into the smallest normal.
  assert.equal(floatToHalf(2 ** -24), 0x0001);
  assert.equal(floatToHalf(2 ** -25), 0x0000);
  assert.equal(floatToHalf(3 * 2 ** -25), 0x0002);
  assert.equal(floatToHalf(2 ** -25 + 2 ** -40), 0x0001);
  assert.equal(floatToHalf(1023.5 * 2 ** -24), 0x0400);
  assert.equal(floatToHalf(-(2 ** -14)), 0x8400);
  assert.equal(floatToHalf(1e-10), 0x0000);
  // Largest mantissa carrying into the next exponent.
  assert.equal(floatToHalf(2 - 2 ** -12), 0x4000);
});

test('every half bit pattern survives halfToFloat then floatToHalf', () => {
  for (let bits = 0; bits < 0x10000; bits++) {
    const value = halfToFloat(bits);
    if (Number.isNaN(value)) continue;
    assert.equal(floatToHalf(value), bits, `0x${bits.toString(16)}`);
  }
});

const roundTrips: { datatype: Datatype; json: unknown[]; data: TensorData; back: unknown[] }[] = [
  { datatype: 'BOOL', json: [true, false, 1, 0], data: Uint8Array.of(1, 0, 1, 0), back: [true, false, true, false] },
  { datatype: 'UINT8', json: [0, 7, 255], data: Uint8Array.of(0, 7, 255), back: [0, 7, 255] },
  { datatype: 'UINT16', json: [0, 65535], data: Uint16Array.of(0, 65535), back: [0, 65535] },
  { datatype: 'UINT32', json: [0, 4294967295], data: Uint32Array.of(0, 4294967295), back: [0, 4294967295] },
  {
    datatype: 'UINT64',
    json: [0, '18446744073709551615', 9007199254740991],
    data: BigUint64Array.of(0n, 18446744073709551615n, 9007199254740991n),
    back: [0, '18446744073709551615', 9007199254740991],
  },
  { datatype: 'INT8', json: [-128, 127], data: Int8Array.of(-128, 127), back: [-128, 127] },
  { datatype: 'INT16', json: [-32768, 32767], data: Int16Array.of(-32768, 32767), back: [-32768, 32767] },
  { datatype: 'INT32', json: [-2147483648, 2147483647], data: Int32Array.of(-2147483648, 2147483647), back: [-2147483648, 2147483647] },
  {
    datatype: 'INT64',
    json: [-5, '-9223372036854775808', '9223372036854775807', '12', 9007199254740992],
    data: BigInt64Array.of(-5n, -9223372036854775808n, 9223372036854775807n, 12n, 9007199254740992n),
    back: [-5, '-9223372036854775808', '9223372036854775807', 12, '9007199254740992'],
  },
  { datatype: 'FP16', json: [1, -2, 0.5, 65504, 0.1], data: Uint16Array.of(0x3c00, 0xc000, 0x3800, 0x7bff, 0x2e66), back: [1, -2, 0.5, 65504, 0.0999755859375] },
  { datatype: 'FP32', json: [0.5, -1.25, 3, 0.1], data: Float32Array.of(0.5, -1.25, 3, 0.1), back: [0.5, -1.25, 3, Math.fround(0.1)] },
  { datatype: 'FP64', json: [0.1, -1e300, 5e-324], data: Float64Array.of(0.1, -1e300, 5e-324), back: [0.1, -1e300, 5e-324] },
  {
    datatype: 'BYTES',
    json: ['héllo', '', '😀'],
    data: [Uint8Array.of(0x68, 0xc3, 0xa9, 0x6c, 0x6c, 0x6f), new Uint8Array(0), Uint8Array.of(0xf0, 0x9f, 0x98, 0x80)],
    back: ['héllo', '', '😀'],
  },
];

test('every datatype converts from JSON elements and back', () => {
  assert.equal(roundTrips.length, Datatypes.length);
  for (const { datatype, json, data, back } of roundTrips) {
    const converted = fromJsonValues(datatype, json, site);
    assert.deepEqual(converted, data, datatype);
    assert.ok(storageMatches(datatype, converted), datatype);
    assert.deepEqual(toJsonValues(datatype, converted), back, datatype);
  }
});

test('toJsonValues keeps NaN and infinities as numbers (JSON.stringify later writes null)', () => {
  const values = toJsonValues('FP32', Float32Array.of(NaN, Infinity, -Infinity));
  assert.ok(Number.isNaN(values[0]));
  assert.deepEqual(values.slice(1), [Infinity, -Infinity]);
  assert.deepEqual(toJsonValues('FP16', Uint16Array.of(0x7c00, 0x8000)), [Infinity, -0]);
});

const rejected: { datatype: Datatype; value: unknown; says: string }[] = [
  { datatype: 'FP32', value: 'abc', says: 'element 1 of its FP32 data is the string "abc"; expected a finite number' },
  { datatype: 'FP32', value: null, says: 'is null; expected a finite number' },
  // What JSON.parse makes of 1e400: JSON has no Infinity.
  { datatype: 'FP32', value: Infinity, says: 'expected a finite number' },
  { datatype: 'FP64', value: -Infinity, says: 'expected a finite number' },
  { datatype: 'FP64', value: [1], says: 'is an array' },
  { datatype: 'FP16', value: true, says: 'is true; expected a finite number' },
  { datatype: 'FP16', value: Infinity, says: 'expected a finite number' },
  { datatype: 'UINT8', value: 300, says: 'is 300; expected an integer in [0, 255]' },
  { datatype: 'UINT8', value: -1, says: 'is -1' },
  { datatype: 'INT8', value: 128, says: 'expected an integer in [-128, 127]' },
  { datatype: 'INT32', value: 1.5, says: 'is 1.5; expected an integer' },
  { datatype: 'INT32', value: '3', says: 'the string "3"' },
  { datatype: 'UINT32', value: 4294967296, says: 'is 4294967296' },
  { datatype: 'INT64', value: 1.5, says: 'is 1.5' },
  { datatype: 'INT64', value: '9223372036854775808', says: 'expected an integer in [-9223372036854775808, 9223372036854775807]' },
  { datatype: 'INT64', value: '1e3', says: 'the string "1e3"' },
  { datatype: 'UINT64', value: -1, says: 'is -1; expected an integer in [0, 18446744073709551615]' },
  { datatype: 'BOOL', value: 2, says: 'is 2; expected true, false, 0 or 1' },
  { datatype: 'BOOL', value: 'true', says: 'the string "true"' },
  { datatype: 'BYTES', value: 5, says: 'is 5; expected a string' },
  { datatype: 'BYTES', value: { a: 1 }, says: 'is an object' },
];

test('elements of the wrong type or range are rejected with InvalidTensor and the field', () => {
  for (const { datatype, value, says } of rejected) {
    const good = datatype === 'BYTES' ? 'ok' : datatype === 'BOOL' ? true : 1;
    assert.throws(
      () => fromJsonValues(datatype, [good, value], site),
      (err: unknown) => {
        assert.ok(err instanceof WeftError);
        assert.equal(err.code, ErrorCode.InvalidTensor);
        assert.equal(err.field, 'inputs[2].data');
        assert.match(err.message, /^input 'x': element 1 of its /);
        assert.ok(err.message.includes(says), `${datatype} ${String(value)}: ${err.message}`);
        return true;
      },
    );
  }
});

test('floatToHalf picks the nearest half for random values across the whole range', () => {
  let seed = 12345;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let k = 0; k < 20000; k++) {
    const x = (random() - 0.5) * 2 ** Math.floor(random() * 44 - 28);
    const bits = floatToHalf(x);
    const error = Math.abs(x - halfToFloat(bits));
    // Neighbours one step up and down in magnitude must not be closer.
    for (const neighbour of [bits + 1, bits - 1]) {
      if ((neighbour & 0x7fff) > 0x7bff || (neighbour & 0x8000) !== (bits & 0x8000)) continue;
      assert.ok(Math.abs(x - halfToFloat(neighbour)) >= error, `${x}: 0x${bits.toString(16)}`);
    }
  }
});
