// The autoscaler, a pure function: from the queue depth and latency an app's replicas report,
// the replica count wanted now, between the spec's --min and --max. A change waits out a
// cool-down after the last one, so a burst does not make the count flap.

export interface ScaleOptions {
  /** Queued requests per ready replica above which one more replica is wanted. */
  queueHigh: number;
  /** p99 latency (ms) above which one more replica is wanted; 0 turns the rule off. */
  latencyHighMs: number;
  /** Milliseconds between two changes. */
  cooldownMs: number;
}

export const DEFAULT_SCALE: ScaleOptions = { queueHigh: 4, latencyHighMs: 0, cooldownMs: 30_000 };

export interface AppLoad {
  /** Replicas reporting load. */
  replicas: number;
  /** Requests queued plus in flight, over all of them. */
  busy: number;
  queued: number;
  /** Worst p99 among them, ms. */
  p99Ms: number;
}

export function scaleTarget(
  range: { min: number; max: number },
  current: number,
  load: AppLoad,
  scaledAt: number,
  now: number,
  options: ScaleOptions = DEFAULT_SCALE,
): { target: number; scaledAt: number } {
  const clamped = Math.min(range.max, Math.max(range.min, current));
  if (range.min === range.max || now - scaledAt < options.cooldownMs || load.replicas === 0) {
    return { target: clamped, scaledAt: clamped === current ? scaledAt : now };
  }
  const perReplica = load.queued / load.replicas;
  const slow = options.latencyHighMs > 0 && load.p99Ms > options.latencyHighMs;
  if ((perReplica > options.queueHigh || slow) && clamped < range.max) return { target: clamped + 1, scaledAt: now };
  // Scale down only when the remaining replicas could carry the work with room to spare.
  if (load.busy === 0 && clamped > range.min) return { target: clamped - 1, scaledAt: now };
  return { target: clamped, scaledAt: clamped === current ? scaledAt : now };
}
