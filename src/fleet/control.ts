// What the admin API asks of the fleet (`/admin/fleet/...`): the deploy request as users send
// it, checked here, and the FleetControl interface a joined node or a node alone implements.

import { z } from 'zod';
import { ErrorCode, WeftError, firstIssue } from '../errors.js';
import { FLEET_VERSION, TOKEN } from './namespace.js';
import type { AppSpec } from './messages.js';
import type { BundleFacts } from './seams.js';
import type { AppStatus, NodeStatus } from './view.js';

const count = z.number().int().nonnegative().max(1000);
/** A deploy that asks for no replica at all would sit pending 0/0 for good. */
const atLeastOne = z.number().int().min(1, 'must be at least 1 (weft undeploy removes an app)').max(1000);

export const deployRequestSchema = z.strictObject({
  ref: z.string().min(1, 'must be a registry reference, store tag, layout or app folder'),
  replicas: atLeastOne.optional(),
  min: count.optional(),
  max: atLeastOne.optional(),
  require: z.array(z.enum(['gpu'])).optional(),
  select: z.record(z.string().min(1).max(63), z.string().max(63)).optional(),
  spread: z.enum(['site']).optional(),
  preferSite: z.string().regex(TOKEN, 'must be a site name').optional(),
});
export type DeployRequest = z.infer<typeof deployRequestSchema>;

export function parseDeployRequest(raw: unknown): DeployRequest {
  const parsed = deployRequestSchema.safeParse(raw);
  if (!parsed.success) {
    const { field, message } = firstIssue(parsed.error);
    throw new WeftError(ErrorCode.BadRequest, `${field ? `${field}: ` : ''}${message}`, { field: field || 'body' });
  }
  const r = parsed.data;
  if (r.replicas !== undefined && (r.min !== undefined || r.max !== undefined)) {
    throw new WeftError(ErrorCode.BadRequest, 'give --replicas N or --min A --max B, not both', { field: 'replicas' });
  }
  if (r.min !== undefined && r.max !== undefined && r.min > r.max) {
    throw new WeftError(ErrorCode.BadRequest, `--min ${r.min} exceeds --max ${r.max}`, { field: 'min' });
  }
  return r;
}

export function specFrom(request: DeployRequest, facts: BundleFacts, now: number): AppSpec {
  const min = request.replicas ?? request.min ?? Math.min(1, request.max ?? 1);
  const max = request.replicas ?? request.max ?? Math.max(min, request.min ?? 1);
  return {
    v: FLEET_VERSION,
    name: facts.name,
    ref: request.ref,
    digest: facts.digest,
    memoryBytes: facts.memoryBytes,
    ...(facts.gpu === undefined ? {} : { gpu: facts.gpu }),
    models: facts.models,
    replicas: { min, max },
    require: request.require ?? [],
    // The manifest's `resources.labels` are selectors too; the request's win on a clash.
    select: { ...facts.labels, ...(request.select ?? {}) },
    ...(request.spread === undefined ? {} : { spread: request.spread }),
    ...(request.preferSite === undefined ? {} : { preferSite: request.preferSite }),
    createdAt: now,
  };
}

/** The same desired state, whenever it was asked for. */
export function sameSpec(a: AppSpec, b: AppSpec): boolean {
  return JSON.stringify({ ...a, createdAt: 0 }) === JSON.stringify({ ...b, createdAt: 0 });
}

export interface NodesAnswer {
  /** False on a node started without --fleet: it is a fleet of one. */
  fleet: boolean;
  policy: 'spread' | 'pack';
  scheduler: string | undefined;
  nodes: NodeStatus[];
}

export interface FleetControl {
  deploy(request: DeployRequest): Promise<{ app: AppStatus; created: boolean }>;
  undeploy(name: string): Promise<void>;
  status(name: string): AppStatus;
  apps(): AppStatus[];
  nodes(): NodesAnswer;
}
