// Polls until a condition holds: the e2e suites wait on servers and fleets that converge in
// their own time, and a loaded machine makes any fixed sleep either flaky or slow.
import { setTimeout as sleep } from 'node:timers/promises';

/** Calls `fn` until it returns a value (errors count as not yet), failing after `timeoutMs` with the last error. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000, stepMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(stepMs);
  }
}
