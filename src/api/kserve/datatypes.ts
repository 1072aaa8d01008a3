// Conversions between JSON element values and `TensorData` for each KServe v2 datatype,
// including IEEE-754 half precision. Shared by the request decoder and the response encoder;
// element storage itself is backends/tensor-bytes.ts.

import { ErrorCode, WeftError } from '../../errors.js';
import type { Datatype, TensorData } from '../../backends/index.js';
import { arrayTypeOf, type FixedData } from '../../backends/index.js';
import type { WireElement } from './wire.js';

/** Where an element came from, for error messages: the input's name and its field path. */
export interface ElementSite {
  input: string;
  field: string;
}

/** Decodes IEEE-754 half-precision bits into a number (subnormals, ±Infinity and NaN included). */
export function halfToFloat(bits: number): number {
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  const sign = bits & 0x8000 ? -1 : 1;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mantissa) * 2 ** (exponent - 25);
}

/**
 * Encodes a number as IEEE-754 half-precision bits, rounding to nearest, ties to even, straight
 * from the double (going through float32 first would round twice). Too large → ±Infinity.
 */
export function floatToHalf(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  // 65520 lies halfway between 65504 (the largest half) and 2^16; ties-to-even rounds it up.
  if (a >= 65520) return sign | 0x7c00;
  // Subnormal: a multiple of 2^-24. A result of 1024 is the smallest normal's bit pattern.
  if (a < 2 ** -14) return sign | roundHalfEven(a * 2 ** 24);
  // Math.log2 may be off by one next to a power of two; the two checks settle the exponent.
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e -= 1;
  else if (2 ** (e + 1) <= a) e += 1;
  // Both steps are exact in doubles. A mantissa of 1024 carries into the exponent, as it should.
  const mantissa = roundHalfEven((a / 2 ** e - 1) * 1024);
  return sign | (((e + 15) << 10) + mantissa);
}

function roundHalfEven(v: number): number {
  const floor = Math.floor(v);
  const rest = v - floor;
  return rest > 0.5 || (rest === 0.5 && floor % 2 === 1) ? floor + 1 : floor;
}

const INTEGER_RANGES = {
  UINT8: [0, 0xff],
  UINT16: [0, 0xffff],
  UINT32: [0, 0xffffffff],
  INT8: [-0x80, 0x7f],
  INT16: [-0x8000, 0x7fff],
  INT32: [-0x80000000, 0x7fffffff],
} as const;

const BIGINT_RANGES = {
  INT64: [-(2n ** 63n), 2n ** 63n - 1n],
  UINT64: [0n, 2n ** 64n - 1n],
} as const;

const utf8Encoder = new TextEncoder();
// Not fatal: a BYTES element that is not UTF-8 shows U+FFFD in JSON; binary output keeps it exact.
const utf8Decoder = new TextDecoder();

/** Converts flat JSON elements into the storage of `datatype`, rejecting any that do not fit. */
export function fromJsonValues(datatype: Datatype, values: readonly unknown[], site: ElementSite): TensorData {
  const n = values.length;
  const fail = (i: number, expected: string): WeftError => badElement(site, datatype, i, values[i], expected);
  switch (datatype) {
    case 'BOOL': {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (v === true || v === 1) out[i] = 1;
        else if (v !== false && v !== 0) throw fail(i, 'true, false, 0 or 1');
      }
      return out;
    }
    case 'FP16': {
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v !== 'number' || !Number.isFinite(v)) throw fail(i, 'a finite number');
        out[i] = floatToHalf(v);
      }
      return out;
    }
    case 'FP32':
    case 'FP64': {
      const out = new (arrayTypeOf(datatype))(n) as Float32Array | Float64Array;
      for (let i = 0; i < n; i++) {
        const v = values[i];
        // JSON has no Infinity or NaN: a number too large for a double (1e400) is refused, not read as Infinity.
        if (typeof v !== 'number' || !Number.isFinite(v)) throw fail(i, 'a finite number');
        out[i] = v;
      }
      return out;
    }
    case 'INT64':
    case 'UINT64': {
      const [min, max] = BIGINT_RANGES[datatype];
      const out = new (arrayTypeOf(datatype))(n) as BigInt64Array | BigUint64Array;
      for (let i = 0; i < n; i++) {
        const v = toBigInt(values[i]);
        if (v === undefined || v < min || v > max) throw fail(i, `an integer in [${min}, ${max}]`);
        out[i] = v;
      }
      return out;
    }
    case 'BYTES': {
      const out: Uint8Array[] = new Array<Uint8Array>(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v !== 'string') throw fail(i, 'a string');
        out[i] = utf8Encoder.encode(v);
      }
      return out;
    }
    default: {
      const [min, max] = INTEGER_RANGES[datatype];
      const out = new (arrayTypeOf(datatype))(n) as Exclude<FixedData, BigInt64Array | BigUint64Array>;
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
          throw fail(i, `an integer in [${min}, ${max}]`);
        }
        out[i] = v;
      }
      return out;
    }
  }
}

// JSON numbers lose precision past 2^53, so clients send larger 64-bit values as strings.
function toBigInt(v: unknown): bigint | undefined {
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : undefined;
  if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) return BigInt(v);
  return undefined;
}

function badElement(site: ElementSite, datatype: Datatype, i: number, value: unknown, expected: string): WeftError {
  return new WeftError(
    ErrorCode.InvalidTensor,
    `input '${site.input}': element ${i} of its ${datatype} data is ${describe(value)}; expected ${expected}`,
    { field: site.field },
  );
}

function describe(value: unknown): string {
  if (typeof value === 'string') {
    return `the string ${JSON.stringify(value.length > 24 ? `${value.slice(0, 24)}…` : value)}`;
  }
  if (Array.isArray(value)) return 'an array';
  if (value !== null && typeof value === 'object') return 'an object';
  return String(value);
}

/**
 * Converts storage back into JSON elements: BOOL → boolean, FP16 → number, 64-bit integers →
 * number when it is a safe integer (else a decimal string), BYTES → UTF-8 string.
 */
export function toJsonValues(datatype: Datatype, data: TensorData): WireElement[] {
  switch (datatype) {
    case 'BOOL':
      return Array.from(data as Uint8Array, (b) => b !== 0);
    case 'FP16':
      return Array.from(data as Uint16Array, (bits) => halfToFloat(bits));
    case 'INT64':
    case 'UINT64':
      return Array.from(data as Iterable<bigint>, bigIntToJson);
    case 'BYTES':
      return (data as Uint8Array[]).map((bytes) => utf8Decoder.decode(bytes));
    default:
      return Array.from(data as Float32Array);
  }
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function bigIntToJson(v: bigint): number | string {
  return v >= -MAX_SAFE && v <= MAX_SAFE ? Number(v) : v.toString();
}
