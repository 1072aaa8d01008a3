// `weft bench`: load-tests any KServe v2, OpenAI-compatible or Weft app endpoint and reports
// throughput, latency percentiles, errors by kind, token timings for LLMs, and — against a Weft
// node — the server's own queue/server time, batch sizes and joules per request.

import { parseArgs } from 'node:util';
import { ErrorCode, WeftError } from '../errors.js';
import { Protocols, formatTable, runBench, writePlot, type Protocol } from '../bench/index.js';
import { helpText } from './help.js';


function list(raw: string | undefined, flag: string): number[] {
  if (raw === undefined) return [];
  const values = raw.split(',').map(Number);
  if (values.some((v) => !(v > 0))) throw new WeftError(ErrorCode.BadRequest, `--${flag} '${raw}' must be positive numbers separated by commas`, { field: flag });
  return values;
}

function positive(raw: string | undefined, flag: string, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!(n >= 0)) throw new WeftError(ErrorCode.BadRequest, `--${flag} '${raw}' must be a non-negative number`, { field: flag });
  return n;
}

export async function benchCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      protocol: { type: 'string', default: 'kserve-v2' },
      concurrency: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      requests: { type: 'string' },
      warmup: { type: 'string' },
      input: { type: 'string' },
      shape: { type: 'string', multiple: true, default: [] },
      binary: { type: 'boolean', default: false },
      path: { type: 'string' },
      grpc: { type: 'string' },
      stream: { type: 'boolean', default: false },
      'max-tokens': { type: 'string' },
      timeout: { type: 'string' },
      'max-inflight': { type: 'string' },
      settle: { type: 'string' },
      json: { type: 'boolean', default: false },
      plot: { type: 'string' },
      'server-pid': { type: 'string' },
    },
  });
  if (values.model === undefined) throw new WeftError(ErrorCode.BadRequest, `--model is required\n\n${helpText('bench')}`, { field: 'model' });
  if (!(Protocols as readonly string[]).includes(values.protocol!)) {
    throw new WeftError(ErrorCode.BadRequest, `--protocol must be one of ${Protocols.join(', ')}`, { field: 'protocol' });
  }
  if (values.plot !== undefined && !/\.(svg|png)$/.test(values.plot)) throw new WeftError(ErrorCode.BadRequest, '--plot must name a .svg or .png file', { field: 'plot' });
  const rates = list(values.rate, 'rate');
  const concurrency = rates.length > 0 ? [] : list(values.concurrency ?? '1,4,16', 'concurrency').map(Math.round);
  const requests = values.requests === undefined ? undefined : Math.round(positive(values.requests, 'requests', 0));
  const showProgress = process.stderr.isTTY === true;

  const report = await runBench({
    target: (positionals[0] ?? 'http://127.0.0.1:8080').replace(/\/$/, ''),
    protocol: values.protocol as Protocol,
    model: values.model,
    input: values.input,
    shapes: values.shape!,
    binary: values.binary!,
    path: values.path,
    grpcAddress: values.grpc,
    stream: values.stream!,
    maxTokens: Math.round(positive(values['max-tokens'], 'max-tokens', 64)),
    concurrency,
    rates,
    durationS: positive(values.duration, 'duration', 10),
    requests,
    warmupS: positive(values.warmup, 'warmup', 2),
    timeoutMs: positive(values.timeout, 'timeout', 60) * 1000,
    maxInflight: Math.round(positive(values['max-inflight'], 'max-inflight', 1024)),
    settleS: positive(values.settle, 'settle', 1.2),
    serverPid: values['server-pid'] === undefined ? undefined : Math.round(positive(values['server-pid'], 'server-pid', 0)),
    command: ['weft', 'bench', ...args].join(' '),
    onProgress: showProgress ? (label, f) => process.stderr.write(`\r${progressBar(f)} ${label}   `) : undefined,
  });
  if (showProgress) process.stderr.write('\r\x1b[2K');
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatTable(report));
  if (values.plot !== undefined) await writePlot(report, values.plot);
}

function progressBar(fraction: number): string {
  const width = 30;
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round(fraction * 100)).padStart(3)}%`;
}
