import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { ErrorCode, QueueFullError, WeftError } from '../../errors.js';
import { grpcStatus, serviceError } from './status.js';

describe('gRPC status mapping', () => {
  it('gives every error code a failing status, and the close words where gRPC has them', () => {
    for (const code of Object.values(ErrorCode)) assert.notEqual(grpcStatus(code), status.OK, code);
    assert.equal(grpcStatus(ErrorCode.InvalidDatatype), status.INVALID_ARGUMENT);
    assert.equal(grpcStatus(ErrorCode.ModelNotFound), status.NOT_FOUND);
    assert.equal(grpcStatus(ErrorCode.QueueFull), status.RESOURCE_EXHAUSTED);
    assert.equal(grpcStatus(ErrorCode.QueueTimeout), status.DEADLINE_EXCEEDED);
    assert.equal(grpcStatus(ErrorCode.ModelUnavailable), status.UNAVAILABLE);
    assert.equal(grpcStatus(ErrorCode.Forbidden), status.PERMISSION_DENIED);
    assert.equal(grpcStatus(ErrorCode.Internal), status.INTERNAL);
  });

  it('puts our code first in the message and code, field and retry-after in trailers', () => {
    const e = serviceError(new WeftError(ErrorCode.InvalidShape, 'bad shape', { field: 'inputs[0].shape' }));
    assert.equal(e.code, status.INVALID_ARGUMENT);
    assert.equal(e.details, 'INVALID_SHAPE: bad shape (field inputs[0].shape)');
    assert.deepEqual(e.metadata.get('weft-code'), ['INVALID_SHAPE']);
    assert.deepEqual(e.metadata.get('weft-field'), ['inputs[0].shape']);
    const full = serviceError(new QueueFullError('m', 2, 1));
    assert.equal(full.code, status.RESOURCE_EXHAUSTED);
    assert.deepEqual(full.metadata.get('retry-after'), ['1']);
    const long = serviceError(new WeftError(ErrorCode.ModelNotFound, `model '${'x'.repeat(100_000)}' is not served here`, { field: `é${'y'.repeat(100_000)}` }));
    assert.ok(long.details.length < 1100 && long.details.startsWith('MODEL_NOT_FOUND: model') && /more characters\)$/.test(long.details), 'a message fit for a trailer');
    assert.match(long.metadata.get('weft-field')[0] as string, /^\?y+\.\.\. \(\d+ more characters\)$/, 'printable ASCII, shortened');
    const unknown = serviceError(new Error('boom'));
    assert.equal(unknown.code, status.INTERNAL);
    assert.deepEqual(unknown.metadata.get('weft-code'), ['INTERNAL']);
  });
});
