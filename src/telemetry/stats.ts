// Rolling per-model and per-app figures for the admin API and `weft top`: request rate, latency
// percentiles, batch size and joules per request over the last minute, kept in fixed rings per
// key so memory stays bounded whatever the load. Joules arrive apart from requests, as each
// meter interval closes; joules per request is the window's joules over the window's requests.

/** Completions remembered per key; percentiles are over these (within the window). */
const RING = 2048;
export const WINDOW_MS = 60_000;

interface Sample {
  at: number;
  ms: number;
  batchSize: number;
  error: boolean;
}

interface EnergySample {
  at: number;
  joules: number;
}

export interface KeyStats {
  model: string;
  app: string;
  /** Requests per second over the window. */
  rate: number;
  requests: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  meanBatchSize: number;
  joulesPerRequest: number;
  /** Watts this key's requests drew on average over the window. */
  watts: number;
}

class Ring<T> {
  readonly samples: T[] = [];
  private next = 0;
  push(s: T): void {
    if (this.samples.length < RING) this.samples.push(s);
    else this.samples[this.next] = s;
    this.next = (this.next + 1) % RING;
  }
}

/**
 * The one latency percentile of the project (telemetry, `weft bench`, bench/): nearest rank over
 * ascending `sorted`, `p` in percent; `empty` when there are no samples.
 */
export function percentile<E = number>(sorted: readonly number[], p: number, empty: E = Number.NaN as E): number | E {
  if (sorted.length === 0) return empty;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export class RollingStats {
  private readonly rings = new Map<string, { model: string; app: string; ring: Ring<Sample>; energy: Ring<EnergySample> }>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  private entry(model: string, app: string) {
    const key = `${model}\u0000${app}`;
    let entry = this.rings.get(key);
    if (entry === undefined) this.rings.set(key, (entry = { model, app, ring: new Ring(), energy: new Ring() }));
    return entry;
  }

  record(model: string, app: string, ms: number, batchSize: number, error: boolean): void {
    this.entry(model, app).ring.push({ at: this.now(), ms, batchSize, error });
  }

  /** Joules the key's requests earned in a meter interval that just closed. */
  energy(model: string, app: string, joules: number): void {
    this.entry(model, app).energy.push({ at: this.now(), joules });
  }

  snapshot(): KeyStats[] {
    const since = this.now() - WINDOW_MS;
    const out: KeyStats[] = [];
    for (const { model, app, ring, energy } of this.rings.values()) {
      const recent = ring.samples.filter((s) => s.at >= since);
      const oldest = recent.reduce((t, s) => Math.min(t, s.at), Infinity);
      // The rate is over the window, or over the span of a full ring when it turns over faster.
      const spanMs = recent.length >= RING ? Math.max(1, this.now() - oldest) : WINDOW_MS;
      const latencies = recent.map((s) => s.ms).sort((a, b) => a - b);
      const joules = energy.samples.filter((s) => s.at >= since).reduce((n, s) => n + s.joules, 0);
      const ok = recent.filter((s) => !s.error);
      out.push({
        model,
        app,
        rate: (recent.length * 1000) / spanMs,
        requests: recent.length,
        errors: recent.length - ok.length,
        p50Ms: percentile(latencies, 50, 0),
        p99Ms: percentile(latencies, 99, 0),
        meanBatchSize: ok.length === 0 ? 0 : ok.reduce((n, s) => n + s.batchSize, 0) / ok.length,
        joulesPerRequest: recent.length === 0 ? 0 : joules / recent.length,
        watts: (joules * 1000) / spanMs,
      });
    }
    return out.sort((a, b) => a.model.localeCompare(b.model) || a.app.localeCompare(b.app));
  }
}
