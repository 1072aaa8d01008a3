// Whether batching pays for one model on its device, learnt online from its real batches (Triton
// leaves this to an offline model analyzer). Every batch run records its rows and compute time
// in a size class (1, 2–3, 4–7, 8–15, … up to the model's max_batch_size): an average of
// milliseconds per row. The batcher then forms batches no larger than the class that served rows
// fastest, among those measured often enough, when a larger class was measured and found slower;
// one batch in EXPLORE_EVERY may still grow to the
// model's max, so a larger class that has become faster (a warmed GPU, a quieter machine) is
// measured again. On a CPU where one row at a time is fastest it stops batching; on a GPU it batches.

/** Runs a class needs before its figure is trusted. */
const MIN_RUNS = 5;
/** One batch in this many may grow to the model's max regardless. */
const EXPLORE_EVERY = 16;
/** Weight of the newest run in a class's average. */
const ALPHA = 0.2;

interface SizeClass {
  msPerRow: number;
  runs: number;
}

/** The lower bound of the size class `rows` falls in: the largest power of two not above it. */
function classOf(rows: number): number {
  return 2 ** Math.floor(Math.log2(Math.max(1, rows)));
}

export interface BatchingChoice {
  /** Most rows the next batch holds. */
  maxRows: number;
  /** Why, in words, for the model's status. */
  reason: string;
}

export class BatchProfile {
  private readonly classes = new Map<number, SizeClass>();
  private formed = 0;

  constructor(private readonly maxBatchSize: number) {}

  record(rows: number, computeMs: number): void {
    this.formed++;
    const key = classOf(rows);
    const perRow = computeMs / Math.max(1, rows);
    const c = this.classes.get(key);
    if (c === undefined) this.classes.set(key, { msPerRow: perRow, runs: 1 });
    else {
      c.msPerRow = c.runs === 0 ? perRow : c.msPerRow * (1 - ALPHA) + perRow * ALPHA;
      c.runs++;
    }
  }

  /** The class that served rows fastest among those measured enough, if any. */
  private best(): { size: number; msPerRow: number } | undefined {
    let best: { size: number; msPerRow: number } | undefined;
    for (const [size, c] of this.classes) if (c.runs >= MIN_RUNS && (best === undefined || c.msPerRow < best.msPerRow)) best = { size, msPerRow: c.msPerRow };
    return best;
  }

  /** The rows the next batch may hold (the model's max on an exploring turn). */
  maxRows(): number {
    return (this.formed + 1) % EXPLORE_EVERY === 0 ? this.maxBatchSize : this.choice().maxRows;
  }

  choice(): BatchingChoice {
    const best = this.best();
    if (best === undefined) return { maxRows: this.maxBatchSize, reason: `batching up to ${this.maxBatchSize} rows while measuring which batch sizes pay` };
    // Capped only below sizes seen to be slower: a size never measured enough (the load never
    // queued that many) is not ruled out.
    const slowerAbove = [...this.classes.entries()].some(([size, c]) => size > best.size && c.runs >= MIN_RUNS);
    const maxRows = slowerAbove ? Math.min(this.maxBatchSize, 2 * best.size - 1) : this.maxBatchSize;
    const measured = [...this.classes.entries()]
      .filter(([, c]) => c.runs >= MIN_RUNS)
      .sort((a, b) => a[0] - b[0])
      .map(([size, c]) => `${size === 1 ? '1 row' : `${size}-${Math.min(this.maxBatchSize, 2 * size - 1)} rows`} ${c.msPerRow.toFixed(2)} ms/row`)
      .join(', ');
    if (!slowerAbove) return { maxRows, reason: `batching up to ${maxRows} rows: no larger batch measured enough to be ruled out (measured ${measured})` };
    return { maxRows, reason: `${maxRows === 1 ? 'not batching' : `batching up to ${maxRows} rows`}: fastest per row here (measured ${measured})` };
  }
}
