// The server-side breakdown from two scrapes of Prometheus text.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { breakdown, parsePrometheus } from './server-metrics.js';

const before = parsePrometheus(`# HELP x
weft_queue_time_seconds_sum{model="m"} 1
weft_queue_time_seconds_count{model="m"} 10
weft_batch_size_sum{model="m"} 10
weft_batch_size_count{model="m"} 10
weft_energy_joules_total{model="m",app="",device="cpu",source="estimated"} 5
weft_energy_joules_total{model="_idle",app="",device="cpu",source="estimated"} 100
`);
const after = parsePrometheus(`weft_queue_time_seconds_sum{model="m"} 1.5
weft_queue_time_seconds_count{model="m"} 20
gen_ai_server_request_duration_seconds_sum{gen_ai_operation_name="infer"} 0.2
gen_ai_server_request_duration_seconds_count{gen_ai_operation_name="infer"} 10
weft_batch_size_sum{model="m"} 40
weft_batch_size_count{model="m"} 20
weft_energy_joules_total{model="m",app="",device="cpu",source="estimated"} 7
weft_energy_joules_total{model="_idle",app="",device="cpu",source="estimated"} 900
`);

it('computes per-request queue time, server time, batch size and joules between two scrapes', () => {
  const b = breakdown(before, after);
  assert.ok(Math.abs(b.queueMs! - 50) < 1e-9);
  assert.ok(Math.abs(b.serverMs! - 20) < 1e-9);
  assert.equal(b.batchSize, 3);
  assert.ok(Math.abs(b.joulesPerRequest! - 0.2) < 1e-9, 'idle energy must not count');
  assert.equal(b.energySource, 'estimated');
});
