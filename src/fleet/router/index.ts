// Routing across the fleet (docs/fleet.md, "Routing"): the router the API asks before a protocol
// route runs, the forwarding wire on `weft.v1.<site>.<node>.infer`, and replica choice.
export { FleetRouter, targetOf, FORWARDED_HEADER, NODE_HEADER, DEADLINE_HEADER, PRIORITY_HEADER } from './router.js';
export { pickTwo, score, candidate, serves, Observations, ReplicaChooser } from './choose.js';
export { frame, unframe, FrameError } from './wire.js';
export type { RequestRouter, Routed, RouterOptions, RouterStatus } from './router.js';
export type { Candidate, RouteWeights, Target } from './choose.js';
