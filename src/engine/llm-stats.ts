// Per-model figures of language-model traffic — time to first token, time per output token,
// tokens in and out — kept as running totals that a metrics exporter can read at any time.

/** Count, sum and last value of a timing, in milliseconds. */
export interface Timing {
  count: number;
  sumMs: number;
  lastMs: number;
}

export interface LlmModelStats {
  /** Generations that started producing (admitted and not rejected). */
  generations: number;
  /** Generations that ended in an error or a client disconnect. */
  failures: number;
  embeddings: number;
  promptTokens: number;
  completionTokens: number;
  /** From the request's arrival (queue wait included) to its first output text. */
  timeToFirstToken: Timing;
  /** Between output tokens after the first: (end - first token) / (tokens - 1). */
  timePerOutputToken: Timing;
}

/** What one finished generation reports to `onGeneration` (the telemetry hook). */
export interface GenerationRecord {
  model: string;
  kind: 'local' | 'remote';
  /** Milliseconds; undefined when no text came out. */
  ttftMs: number | undefined;
  tpotMs: number | undefined;
  promptTokens: number;
  completionTokens: number;
  /** 'stop' | 'length', or 'error' / 'cancelled'. */
  outcome: string;
}

export function emptyStats(): LlmModelStats {
  return {
    generations: 0,
    failures: 0,
    embeddings: 0,
    promptTokens: 0,
    completionTokens: 0,
    timeToFirstToken: { count: 0, sumMs: 0, lastMs: 0 },
    timePerOutputToken: { count: 0, sumMs: 0, lastMs: 0 },
  };
}

function observe(t: Timing, ms: number): void {
  t.count++;
  t.sumMs += ms;
  t.lastMs = ms;
}

export function recordGeneration(stats: LlmModelStats, r: GenerationRecord): void {
  stats.generations++;
  if (r.outcome === 'error' || r.outcome === 'cancelled') stats.failures++;
  stats.promptTokens += r.promptTokens;
  stats.completionTokens += r.completionTokens;
  if (r.ttftMs !== undefined) observe(stats.timeToFirstToken, r.ttftMs);
  if (r.tpotMs !== undefined) observe(stats.timePerOutputToken, r.tpotMs);
}
