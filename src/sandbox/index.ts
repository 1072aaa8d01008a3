// Sandbox: runs app components (WebAssembly, weft:app world) in worker threads with deadlines,
// capped memories and only the imports their manifest grants.
export { Sandbox } from './sandbox.js';
export { capMemories, renameExports } from './wasm-binary.js';
export { checkWorld } from './compile.js';
export type { SandboxOptions, LoadedComponent } from './sandbox.js';
export type { AppRequest, AppResponse } from './protocol.js';
