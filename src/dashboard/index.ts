// The dashboard: one web page every node serves at GET /dashboard (Node, Energy, Traces and Fleet
// views), fed once a second with figures taken from the admin API and /metrics. See docs/dashboard.md.
export { dashboardRoutes, FEED_INTERVAL_MS } from './routes.js';
export { DashboardFeed, appSplit } from './feed.js';
export { fleetStatus } from './fleet-status.js';
export type { DashboardRoutesOptions } from './routes.js';
export type { DashboardSources } from './feed.js';
export type { AppSplit, DashboardApp, DashboardMetrics, DashboardModel, DashboardSnapshot, FleetStatus } from './types.js';
