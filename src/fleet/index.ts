// Fleet: nodes joined over NATS — membership and inventory, desired state, the scheduler and its
// placement, each node's reconciler — and a node alone as a fleet of one.
export { openFleet } from './open.js';
export { JoinedFleet } from './fleet.js';
export { LocalFleet } from './local.js';
export { parseDeployRequest, deployRequestSchema } from './control.js';
export { place, PowerPolicies } from './placement.js';
export { scaleTarget, DEFAULT_SCALE } from './autoscale.js';
export { bundleInspector } from './bundle-facts.js';
export { nvidiaSmiDiscovery, parseGpuList } from './gpus.js';
export { statsInventory } from './stats-source.js';
export { Buckets, Subjects, FLEET_VERSION, LEASE_KEY } from './namespace.js';
export { nodeRecordSchema, appSpecSchema, placementSchema, leaseSchema, decode, encode } from './messages.js';
export type { FleetMesh, JoinOptions } from './fleet.js';
export { FleetRouter, NODE_HEADER } from './router/index.js';
export type { RequestRouter, RouterStatus, RouteWeights, Target } from './router/index.js';
export type { FleetHandle, FleetParts } from './open.js';
export type { DeployRequest, FleetControl, NodesAnswer } from './control.js';
export type { AppInput, NodeView, PlacementInput, PlacementOutput, PowerPolicy } from './placement.js';
export type { AppLoad, ScaleOptions } from './autoscale.js';
export type { AppRuntime, BundleFacts, BundleInspector, DeviceDiscovery, Gpu, InventorySource, PowerReading } from './seams.js';
export type { AppSpec, NodeRecord, Placement, Lease, ModelLoad, ReplicaReport, ReplicaState } from './messages.js';
export type { AppStatus, NodeStatus, ReplicaView } from './view.js';
export type { ModelHolding, StatsLike, StatsSourceOptions } from './stats-source.js';
