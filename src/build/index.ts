// Build: turns an app's source (AssemblyScript with the Weft SDK, or JavaScript through
// componentize-js) into a weft:app component, for an app folder anywhere on disk.
export { buildApp, ENTRIES } from './app.js';
export { buildAssemblyScriptComponent, compileAssemblyScript, SDK_IMPORT } from './assemblyscript.js';
export { componentize, componentWorld, witSource } from './component.js';
export { buildJavaScriptComponent } from './javascript.js';
export { PACKAGE_ROOT } from './paths.js';
export type { BuildReport, Language } from './app.js';
export type { ComponentWorld, ExtraWorld } from './component.js';
