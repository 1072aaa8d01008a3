// What one `npm run bench` measures: each variant (how the model is reached, and with which
// server flags) at each concurrency. The first four are the comparison the README promises; the
// rest are Weft options that matter for throughput here.

export const Targets = ['in-process', 'weft-json', 'weft-binary', 'plain-json'] as const;
export type Target = (typeof Targets)[number];

export interface Variant {
  /** Short name used in tables and ratios. */
  id: string;
  target: Target;
  server: 'none' | 'weft' | 'plain';
  /** Weft flags beyond the model and `--load eager` every Weft variant gets. */
  flags: readonly string[];
  /** One line on what the variant is. */
  description: string;
}

export const CONCURRENCIES = [1, 4, 16] as const;

export const VARIANTS: readonly Variant[] = [
  {
    id: 'in-process',
    target: 'in-process',
    server: 'none',
    flags: [],
    description: 'onnxruntime-node session.run in the load process, C async loops (the limit: no HTTP)',
  },
  { id: 'weft-json', target: 'weft-json', server: 'weft', flags: [], description: 'Weft, KServe v2 JSON tensors, default flags' },
  { id: 'weft-binary', target: 'weft-binary', server: 'weft', flags: [], description: 'Weft, KServe v2 binary tensors, default flags' },
  {
    id: 'plain-json',
    target: 'plain-json',
    server: 'plain',
    flags: [],
    description: 'fastify + onnxruntime-node, one session.run per request, JSON (bench/plain-server.ts)',
  },
  {
    id: 'weft-binary-delay2ms',
    target: 'weft-binary',
    server: 'weft',
    flags: ['--max-queue-delay', '2ms'],
    description: 'Weft binary, batches may wait 2 ms to fill',
  },
  {
    id: 'weft-binary-intra1',
    target: 'weft-binary',
    server: 'weft',
    flags: ['--intra-op-threads', '1'],
    description: 'Weft binary, one ONNX Runtime thread per run',
  },
  {
    id: 'weft-binary-2x-intra1',
    target: 'weft-binary',
    server: 'weft',
    flags: ['--instances', '2', '--intra-op-threads', '1'],
    description: 'Weft binary, two model workers (two batches at once), one ONNX Runtime thread each',
  },
];
