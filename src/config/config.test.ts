// The settings registry resolves flags over env over file over defaults, and refuses what it
// does not know or cannot parse, naming the setting.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode } from '../errors.js';
import { loadConfig, parseBytes, parseDuration } from './index.js';
import { connectionsForFileLimit } from './parse.js';

describe('config', () => {
  it('uses defaults that work on a laptop', () => {
    const c = loadConfig();
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.port, 8080);
    assert.equal(c.load, 'lazy');
    assert.equal(c.maxBodySize, 64 * 1024 * 1024);
    assert.equal(c.queueTimeout, 30_000);
    assert.ok(c.memoryBudget > 0);
    assert.ok(Object.isFrozen(c));
  });

  it('lets flags beat the environment and the environment beat the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-config-'));
    const file = join(dir, 'weft.json');
    writeFileSync(file, JSON.stringify({ port: 9000, host: '0.0.0.0', maxQueueSize: 5 }));
    const c = loadConfig({ file, env: { WEFT_PORT: '9100', WEFT_MAX_QUEUE_SIZE: '7' }, flags: { port: '9200', model: ['a=/x.onnx', 'b=/y.onnx'] } });
    assert.equal(c.port, 9200);
    assert.equal(c.maxQueueSize, 7);
    assert.equal(c.host, '0.0.0.0');
    assert.deepEqual(c.model, [
      ['a', '/x.onnx'],
      ['b', '/y.onnx'],
    ]);
  });

  it('refuses unknown file keys and malformed values, naming the setting', () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-config-'));
    const file = join(dir, 'weft.json');
    writeFileSync(file, JSON.stringify({ prot: 1 }));
    assert.throws(() => loadConfig({ file }), { code: ErrorCode.InvalidConfig, field: 'prot' });
    assert.throws(() => loadConfig({ flags: { port: 'eighty' } }), { code: ErrorCode.InvalidConfig, field: 'port' });
    assert.throws(() => loadConfig({ flags: { load: 'sometimes' } }), /lazy, eager/);
    assert.throws(() => loadConfig({ flags: { model: ['noequals'] } }), /NAME=PATH/);
    assert.throws(() => loadConfig({ env: { WEFT_MEMORY_BUDGET: 'lots' } }), { field: 'memoryBudget' });
    assert.throws(() => loadConfig({ flags: { 'max-json-depth': '0' } }), { field: 'maxJsonDepth' });
    assert.throws(() => loadConfig({ flags: { 'max-json-depth': '5000' } }), /from 1 to 512/);
  });

  it('holds connections to three quarters of the open-file limit unless told a number', () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-config-'));
    const limits = (line: string) => {
      const file = join(dir, 'limits');
      writeFileSync(file, `Limit                     Soft Limit           Hard Limit           Units\nMax cpu time              unlimited            unlimited            seconds\n${line}\n`);
      return file;
    };
    assert.equal(connectionsForFileLimit(limits('Max open files            20000                20000                files')), 15_000);
    assert.equal(connectionsForFileLimit(limits('Max open files            40                   4096                 files')), 64);
    assert.equal(connectionsForFileLimit(limits('Max open files            unlimited            unlimited            files')), 0);
    assert.equal(connectionsForFileLimit(join(dir, 'none')), 0);
    assert.equal(loadConfig().maxConnections, connectionsForFileLimit());
    assert.equal(loadConfig({ flags: { 'max-connections': '0' } }).maxConnections, 0);
    assert.throws(() => loadConfig({ flags: { 'max-connections': 'many' } }), { field: 'maxConnections' });
    // 'auto' is a value only for the integer settings whose default it is.
    assert.throws(() => loadConfig({ flags: { instances: 'auto' } }), { field: 'instances' });
  });

  it('bounds the bodies held at once by an eighth of RAM, never below two of the largest', () => {
    const auto = loadConfig().maxBodyMemory;
    assert.equal(auto, Math.max(2 * 64 * 1024 ** 2, Math.min(4 * 1024 ** 3, Math.floor(os.totalmem() / 8))));
    assert.equal(loadConfig({ flags: { 'max-body-size': '3GiB' } }).maxBodyMemory, 6 * 1024 ** 3);
    assert.equal(loadConfig({ flags: { 'max-body-memory': '0' } }).maxBodyMemory, 0);
    assert.equal(loadConfig({ flags: { 'max-body-memory': '512MiB' } }).maxBodyMemory, 512 * 1024 ** 2);
    // Below one largest body, a body at the limit could never be read.
    assert.throws(() => loadConfig({ flags: { 'max-body-memory': '32MiB' } }), { field: 'maxBodyMemory' });
  });

  it('parses sizes and durations as users write them', () => {
    assert.equal(parseBytes('2MiB'), 2 * 1024 * 1024);
    assert.equal(parseBytes('20MB'), 20e6);
    assert.equal(parseBytes('512'), 512);
    assert.equal(parseBytes('big'), undefined);
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('5m'), 300_000);
    assert.equal(parseDuration('500us'), 0.5);
    assert.equal(parseDuration('30'), 30_000);
    assert.equal(parseDuration('-1'), -1);
    assert.equal(parseDuration('soon'), undefined);
  });

  it('reads the standard OTEL_* variables and fractional numbers', () => {
    const c = loadConfig({ env: { OTEL_TRACES_EXPORTER: 'otlp', OTEL_TRACES_SAMPLER_ARG: '0.25', OTEL_SERVICE_NAME: 'edge-1' } });
    assert.equal(c.tracesExporter, 'otlp');
    assert.equal(c.tracesSamplerArg, 0.25);
    assert.equal(c.serviceName, 'edge-1');
    assert.equal(loadConfig().tracesExporter, 'none');
    assert.throws(() => loadConfig({ flags: { 'cpu-watts-per-core': 'lots' } }), (err: { field?: string }) => err.field === 'cpuWattsPerCore');
  });
});
