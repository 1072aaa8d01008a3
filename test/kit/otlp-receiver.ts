// A small OTLP/HTTP trace receiver on loopback for end-to-end tests: accepts POST /v1/traces in
// protobuf (decoded with protobufjs from the fields of the official OTLP trace.proto used here)
// or JSON, and keeps every span in one simple shape.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import protobuf from 'protobufjs';

// Field numbers as in opentelemetry/proto/{common,resource,trace}/v1/*.proto (fields the tests
// do not read are left out; protobuf skips unknown fields).
const OTLP_PROTO = `
syntax = "proto3";
package otlp;
message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7; } }
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message Resource { repeated KeyValue attributes = 1; }
message Status { string message = 2; int32 code = 3; }
message Link { bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; repeated KeyValue attributes = 4; }
message Span { bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; bytes parent_span_id = 4; string name = 5; int32 kind = 6;
  fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8; repeated KeyValue attributes = 9; repeated Link links = 13; Status status = 15; }
message ScopeSpans { repeated Span spans = 2; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
`;
const ExportRequest = protobuf.parse(OTLP_PROTO, { keepCase: true }).root.lookupType('otlp.ExportTraceServiceRequest');

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  links: Array<{ traceId: string; spanId: string }>;
  statusCode: number;
  resource: Record<string, unknown>;
}

export interface OtlpReceiver {
  url: string;
  spans: ReceivedSpan[];
  /** Content types of the requests received. */
  contentTypes: string[];
  close(): Promise<void>;
}

type Wire = Record<string, any>;

function hex(v: unknown): string {
  if (v === undefined || v === null || v === '') return '';
  if (typeof v === 'string') return v; // OTLP/JSON sends hex strings
  return Buffer.from(v as Uint8Array).toString('hex');
}

function anyValue(v: Wire | undefined): unknown {
  if (v === undefined || v === null) return undefined;
  const get = (snake: string, camel: string) => v[snake] ?? v[camel];
  for (const [snake, camel] of [['string_value', 'stringValue'], ['bool_value', 'boolValue'], ['double_value', 'doubleValue']] as const) {
    if (get(snake, camel) !== undefined) return get(snake, camel);
  }
  const int = get('int_value', 'intValue');
  if (int !== undefined) return Number(int);
  const arr = get('array_value', 'arrayValue');
  if (arr !== undefined) return (arr.values ?? []).map(anyValue);
  return undefined;
}

function attributes(list: Wire[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, anyValue(kv.value)]));
}

function collect(body: Wire, into: ReceivedSpan[]): void {
  for (const rs of body.resource_spans ?? body.resourceSpans ?? []) {
    const resource = attributes(rs.resource?.attributes);
    for (const ss of rs.scope_spans ?? rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        into.push({
          traceId: hex(s.trace_id ?? s.traceId),
          spanId: hex(s.span_id ?? s.spanId),
          parentSpanId: hex(s.parent_span_id ?? s.parentSpanId),
          name: s.name,
          kind: s.kind ?? 0,
          attributes: attributes(s.attributes),
          links: (s.links ?? []).map((l: Wire) => ({ traceId: hex(l.trace_id ?? l.traceId), spanId: hex(l.span_id ?? l.spanId) })),
          statusCode: s.status?.code ?? 0,
          resource,
        });
      }
    }
  }
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const contentTypes: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const type = req.headers['content-type'] ?? '';
      contentTypes.push(type);
      const body = Buffer.concat(chunks);
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      try {
        if (type.startsWith('application/json')) {
          collect(JSON.parse(body.toString('utf8')), spans);
          res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
        } else {
          collect(ExportRequest.toObject(ExportRequest.decode(body), { longs: String }), spans);
          res.writeHead(200, { 'Content-Type': 'application/x-protobuf' }).end();
        }
      } catch (err) {
        res.writeHead(400).end(String(err));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    contentTypes,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
