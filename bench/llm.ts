// LLM serving overhead: tokens/s and time to first token at 1, 4 and 8 concurrent streams,
// Weft (`weft serve`, OpenAI API, SSE over loopback) against node-llama-cpp called directly in
// this process, on the same GGUF with the same context, sequences and threads.
// Usage: npm run build && node --import tsx bench/llm.ts [--model PATH.gguf] [--tokens 128]
//        [--rounds 5] [--threads 1] [--embedding 64 --layers 2] [--client fetch|http].
//        --client: how this process calls Weft: `fetch` (undici, what the official openai
//        client uses; the default) or Node's `http` module (a lighter client, so less of
//        the client's own cost lands on the shared cores and in the TTFT). Without --model it writes a
//        random-weight llama GGUF of that size: the figures measure serving overhead per token,
//        not a real model's speed.

import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { getLlama, LlamaChat, resolveChatWrapper, type LlamaContext } from 'node-llama-cpp';
import { percentile } from '../src/bench/index.js';
import { startWeft } from '../test/kit/weft-process.js';
import { writeTinyGguf } from '../test/kit/tiny-gguf.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    tokens: { type: 'string', default: '128' },
    rounds: { type: 'string', default: '5' },
    threads: { type: 'string', default: '1' },
    /** Hidden size and layers of the generated model (64 and 2 are the test model). */
    embedding: { type: 'string', default: '64' },
    layers: { type: 'string', default: '2' },
    client: { type: 'string', default: 'fetch' },
  },
});
if (values.client !== 'fetch' && values.client !== 'http') throw new Error(`--client is fetch or http, not '${values.client}'`);
const TOKENS = Number(values.tokens);
const ROUNDS = Number(values.rounds);
const THREADS = Number(values.threads);
const CONCURRENCY = [1, 4, 8];
const CONTEXT = 1024;
const PROMPT = 'Write a short story about a lighthouse keeper.';

interface Sample {
  /** Output tokens of all streams per second of wall time. */
  tokensPerSecond: number;
  /** Mean over the streams of the time to their first text, ms. */
  ttftMs: number;
}

type Stream = () => Promise<{ ttftMs: number; tokens: number }>;

async function measure(concurrency: number, stream: Stream): Promise<Sample> {
  const started = performance.now();
  const results = await Promise.all(Array.from({ length: concurrency }, stream));
  const seconds = (performance.now() - started) / 1000;
  const tokens = results.reduce((n, r) => n + r.tokens, 0);
  return { tokensPerSecond: tokens / seconds, ttftMs: results.reduce((s, r) => s + r.ttftMs, 0) / results.length };
}

/** The median by nearest rank: the one percentile function, weft bench's and telemetry's. */
function median(xs: number[]): number {
  return percentile([...xs].sort((a, b) => a - b), 50);
}

/**
 * Both sides, round by round in turn (direct, then Weft), so that whatever else loads the
 * machine weighs on both alike; medians over the rounds.
 */
async function run(sides: Record<'direct' | 'weft', Stream>): Promise<Record<'direct' | 'weft', Map<number, Sample>>> {
  // Warm-up: a server's first requests run cold code (the first took ~25 ms to its first token
  // here, the next few 3-4 ms), so each side serves a few rounds at 1 and 8 streams first.
  for (const stream of Object.values(sides)) for (let i = 0; i < 3; i++) for (const c of [1, 8]) await measure(c, stream);
  const out = { direct: new Map<number, Sample>(), weft: new Map<number, Sample>() };
  for (const c of CONCURRENCY) {
    const samples: Record<'direct' | 'weft', Sample[]> = { direct: [], weft: [] };
    for (let r = 0; r < ROUNDS; r++) {
      samples.direct.push(await measure(c, sides.direct));
      samples.weft.push(await measure(c, sides.weft));
    }
    for (const side of ['direct', 'weft'] as const) {
      const s = samples[side];
      out[side].set(c, { tokensPerSecond: median(s.map((x) => x.tokensPerSecond)), ttftMs: median(s.map((x) => x.ttftMs)) });
      console.error(`${side} c=${c}: ${out[side].get(c)!.tokensPerSecond.toFixed(0)} tok/s, TTFT ${out[side].get(c)!.ttftMs.toFixed(1)} ms`);
    }
  }
  return out;
}

/** node-llama-cpp directly: the same chat path Weft uses (LlamaChat on a free sequence). */
async function direct(path: string): Promise<{ stream: Stream; close: () => Promise<void> }> {
  const llama = await getLlama({ gpu: false, build: 'never', skipDownload: true });
  const model = await llama.loadModel({ modelPath: path });
  const context: LlamaContext = await model.createContext({ contextSize: CONTEXT, sequences: 8, threads: THREADS });
  const free = Array.from({ length: 8 }, () => context.getSequence());
  const chatWrapper = resolveChatWrapper(model);
  const stream: Stream = async () => {
    const sequence = free.pop()!;
    const chat = new LlamaChat({ contextSequence: sequence, chatWrapper, autoDisposeSequence: false });
    const started = performance.now();
    let first: number | undefined;
    let tokens = 0;
    try {
      await chat.generateResponse([{ type: 'user', text: PROMPT }, { type: 'model', response: [] }], {
        maxTokens: TOKENS,
        temperature: 0.8,
        repeatPenalty: false,
        onTextChunk: () => (first ??= performance.now()),
        onToken: (t) => (tokens += t.length),
      });
    } finally {
      chat.dispose({ disposeSequence: false });
      free.push(sequence);
    }
    return { ttftMs: (first ?? performance.now()) - started, tokens };
  };
  return {
    stream,
    close: async () => {
      await context.dispose();
      await model.dispose();
    },
  };
}

/** Weft over HTTP: streamed chat completions, the usage chunk gives the token count. */
async function weft(path: string): Promise<{ stream: Stream; close: () => Promise<void> }> {
  const node = await startWeft([
    '--model', `m=${path}`, '--load', 'eager', '--llm-parallel', '8', '--llm-context-size', String(CONTEXT), '--llm-threads', String(THREADS),
  ]);
  const body = JSON.stringify({
    model: 'm',
    messages: [{ role: 'user', content: PROMPT }],
    max_tokens: TOKENS,
    temperature: 0.8,
    stream: true,
    stream_options: { include_usage: true },
  });
  /** The response's text as it comes, each piece handed to `onText`. */
  const viaFetch = async (onText: (text: string) => void) => {
    const res = await fetch(`${node.url}/v1/chat/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    const decoder = new TextDecoder();
    for await (const bytes of res.body as AsyncIterable<Uint8Array>) onText(decoder.decode(bytes, { stream: true }));
  };
  const agent = new http.Agent({ keepAlive: true });
  const viaHttp = (onText: (text: string) => void) =>
    new Promise<void>((resolve, reject) => {
      const req = http.request(`${node.url}/v1/chat/completions`, { method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
        res.setEncoding('utf8');
        res.on('data', onText);
        res.on('end', resolve);
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  const stream: Stream = async () => {
    const started = performance.now();
    let first: number | undefined;
    let text = '';
    await (values.client === 'http' ? viaHttp : viaFetch)((piece) => {
      text += piece;
      if (first === undefined && text.includes('"content"')) first = performance.now();
    });
    const usage = /"completion_tokens":(\d+)/.exec(text);
    return { ttftMs: (first ?? performance.now()) - started, tokens: usage ? Number(usage[1]) : 0 };
  };
  return { stream, close: async () => (agent.destroy(), void (await node.stop())) };
}

const dir = mkdtempSync(join(tmpdir(), 'weft-bench-llm-'));
try {
  const size = { embedding: Number(values.embedding), layers: Number(values.layers) };
  const path = values.model ?? writeTinyGguf(join(dir, 'tiny.gguf'), size);
  const d = await direct(path);
  const w = await weft(path);
  const { direct: a, weft: b } = await run({ direct: d.stream, weft: w.stream }).finally(async () => {
    await d.close();
    await w.close();
  });
  const lines = [
    `model: ${values.model ?? `generated llama GGUF, random weights, hidden ${size.embedding}, ${size.layers} layers (test/kit/tiny-gguf.ts; serving overhead, not a real model's speed)`}; ${TOKENS} tokens per stream; ${THREADS} thread(s); median of ${ROUNDS} alternating rounds; client ${values.client}; ${cpus()[0]?.model ?? 'cpu'} x${cpus().length}`,
    '',
    '| streams | node-llama-cpp tok/s | Weft tok/s | Weft/direct | node-llama-cpp TTFT ms | Weft TTFT ms |',
    '| ---: | ---: | ---: | ---: | ---: | ---: |',
    ...CONCURRENCY.map((c) => {
      const x = a.get(c)!;
      const y = b.get(c)!;
      return `| ${c} | ${x.tokensPerSecond.toFixed(0)} | ${y.tokensPerSecond.toFixed(0)} | ${((100 * y.tokensPerSecond) / x.tokensPerSecond).toFixed(0)}% | ${x.ttftMs.toFixed(1)} | ${y.ttftMs.toFixed(1)} |`;
    }),
  ];
  console.log(lines.join('\n'));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
