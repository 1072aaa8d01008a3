// Apps: deploying, listing and removing the apps a node runs — bundle → engine → sandbox,
// composed here. node.ts, the admin API and the fleet's reconciler use it.
export { AppDeployer } from './apps.js';
export type { AppDeployerOptions, DeployedApp } from './apps.js';
