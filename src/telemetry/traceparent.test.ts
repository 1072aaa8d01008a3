import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatTraceParent, parseTraceParent } from './traceparent.js';

describe('traceparent', () => {
  it('parses and formats a valid header', () => {
    const header = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const tp = parseTraceParent(header)!;
    assert.deepEqual(tp, { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', flags: 1 });
    assert.equal(formatTraceParent(tp), header);
  });

  it('ignores malformed, all-zero and forbidden-version headers', () => {
    for (const bad of [
      'garbage',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra',
      '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
    ]) {
      assert.equal(parseTraceParent(bad), undefined, bad);
    }
    assert.ok(parseTraceParent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future'));
  });
});
