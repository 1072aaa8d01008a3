// A JavaScript component (componentize-js): answers with the granted models and runs one.
import { models, run, signature } from 'weft:ai/inference@0.1.0';
import { log } from 'weft:app/log@0.1.0';

export const handler = {
  handle(req) {
    log('info', `js glue ${req.path}`);
    const granted = models();
    const sig = signature('affine');
    const x = new Float32Array([1, 2, 3, 4]);
    const out = run('affine', [{ name: sig.inputs[0].name, datatype: 'fp32', shape: new Uint32Array([1, 4]), data: new Uint8Array(x.buffer) }]);
    const y = new Float32Array(out[0].data.buffer.slice(out[0].data.byteOffset, out[0].data.byteOffset + out[0].data.byteLength));
    const body = JSON.stringify({ method: req.method, path: req.path, models: granted, y: Array.from(y) });
    return { status: 200, headers: [['content-type', 'application/json']], body: new TextEncoder().encode(body) };
  },
};
