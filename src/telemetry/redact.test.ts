import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRedactor, redact, withoutUrlCredentials } from './redact.js';
import { WeftError } from '../errors.js';

describe('redaction', () => {
  it('replaces e-mail addresses, API keys and card numbers', () => {
    const text = 'mail ada@example.org, key sk-proj-abcdef123456, Bearer eyJhbGciOi.xyz, card 4111 1111 1111 1111, AKIAABCDEFGHIJKLMNOP';
    const out = redact(text);
    assert.equal(out, 'mail [REDACTED:email], key [REDACTED:key], [REDACTED:key], card [REDACTED:card], [REDACTED:key]');
  });

  it('leaves long numbers that fail the Luhn check alone', () => {
    assert.equal(redact('order 1234 5678 9012 3456'), 'order 1234 5678 9012 3456');
    assert.equal(redact('card 5500-0000-0000-0004'), 'card [REDACTED:card]');
  });

  it('hides the user and password of URLs, in a list too, and leaves other @ alone', () => {
    assert.equal(withoutUrlCredentials('nats://alice:s3cret@a:4222,tls://bob@b:4222'), 'nats://***@a:4222,tls://***@b:4222');
    assert.equal(withoutUrlCredentials('host/repo@sha256:ab and ada@example.org'), 'host/repo@sha256:ab and ada@example.org');
  });

  it('captures nothing when capture is off', () => {
    assert.equal(createRedactor(false).capture('ada@example.org'), undefined);
  });

  it('applies configured patterns and bounds the length when capture is on', () => {
    const r = createRedactor(true, ['patient-\\d+']);
    assert.equal(r.capture('see patient-42 and ada@example.org'), 'see [REDACTED] and [REDACTED:email]');
    assert.ok(r.capture('x'.repeat(10_000))!.length <= 4097);
  });

  it('rejects a pattern that does not compile, naming it', () => {
    assert.throws(() => createRedactor(true, ['(']), (err: unknown) => err instanceof WeftError && err.code === 'INVALID_CONFIG' && err.message.includes("'('"));
  });
});
