// HTTP request helpers shared by the API's routes and auth's guard (which sits below the API):
// one body reader, one JSON body reader with one nesting bound and one INVALID_JSON error, and
// the bounds on bodies (each one's size, and the bytes of all large ones at once).
export { arrivalMeter, BodyBudget, LARGE_BODY_BYTES, type ArrivalMeter } from './body-budget.js';
export { bodyLimit } from './body-limit.js';
export { bodyRead, readBody } from './request-body.js';
export { checkJsonDepth, jsonDepthLimit, jsonDepthOf, MAX_JSON_DEPTH, parseJsonBytes, parseJsonText, readJsonBody } from './json-body.js';
