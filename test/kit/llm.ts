// Shared by the LLM suites: the tiny GGUF in a temp folder, a Weft node serving it, and an
// official `openai` client pointed at a node.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { startWeft, type WeftProcess } from './weft-process.js';
import { writeTinyGguf } from './tiny-gguf.js';

export interface TinyNode {
  weft: WeftProcess;
  client: OpenAI;
  gguf: string;
  stop(): Promise<void>;
}

/** The official client; `apiKey` only matters on a node that has keys. */
export function openAiClient(url: string, apiKey = 'unused'): OpenAI {
  return new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0 });
}

/** A node serving the tiny model as `tiny` (one CPU thread: tests share the machine). */
export async function startTinyNode(args: string[] = []): Promise<TinyNode> {
  const dir = mkdtempSync(join(tmpdir(), 'weft-llm-'));
  const gguf = writeTinyGguf(join(dir, 'tiny.gguf'));
  const weft = await startWeft(['--model', `tiny=${gguf}`, '--llm-threads', '1', '--load', 'eager', ...args]);
  return {
    weft,
    client: openAiClient(weft.url),
    gguf,
    stop: async () => {
      await weft.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
