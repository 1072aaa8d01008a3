// The deployment files under deploy/ and the Dockerfile, checked without a cluster or an image:
// every kustomize overlay renders with the real kubectl and validates against the Kubernetes and
// Gateway API Inference Extension schemas; the InferencePool, Services and pods agree on labels
// and ports; the probe paths answer on a real node started from the rendered config; the real
// CLI accepts every container's arguments and config file; the systemd unit passes
// `systemd-analyze verify`; the NATS leaf-node config joins a real hub.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { settings } from '../src/config/index.js';
import { kustomize, validateObject, type KubeObject } from './kit/kube.js';
import { runWeft } from './kit/weft-cli.js';
import { startWeft } from './kit/weft-process.js';
import { writeTinyGguf } from './kit/tiny-gguf.js';
import { freePorts } from './kit/net.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const KUBE = join(ROOT, 'deploy/kubernetes');
const RENDERED = ['base', 'overlays/edge', 'overlays/gpu', 'overlays/gateway', 'nats'] as const;
const WITH_NODES = ['overlays/edge', 'overlays/gpu', 'overlays/gateway'] as const;
/** Fleet flags, built in parallel: checked by the CLI once its settings exist. */
const FLEET_FLAGS = ['fleet', 'site', 'label'];
const hasFleet = FLEET_FLAGS.every((flag) => settings.some((s) => s.flag === flag));

const rendered = new Map<string, KubeObject[]>();
let scratch: string;

before(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'weft-deploy-'));
  for (const dir of RENDERED) rendered.set(dir, await kustomize(join(KUBE, dir)));
});
after(() => rmSync(scratch, { recursive: true, force: true }));

function find(objects: KubeObject[], kind: string, name?: string): KubeObject {
  const found = objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  assert.ok(found, `no ${kind}${name ? ` ${name}` : ''} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
}

function weftWorkload(objects: KubeObject[]): KubeObject {
  const found = objects.find((o) => (o.kind === 'Deployment' || o.kind === 'DaemonSet') && o.metadata.name === 'weft');
  assert.ok(found, 'no weft workload');
  return found;
}

const weftContainer = (workload: KubeObject) => workload.spec.template.spec.containers.find((c: any) => c.name === 'weft');

/** The endpoint picker's EndpointPickerConfig, from the ConfigMap its --config-file is on. */
function eppConfig(gateway: KubeObject[]): any {
  const epp = find(gateway, 'Deployment', 'weft-epp');
  const args: string[] = epp.spec.template.spec.containers[0].args;
  const configFile = args[args.indexOf('--config-file') + 1]!;
  const volume = epp.spec.template.spec.volumes.find((v: any) => v.name === 'config');
  return parseYaml(find(gateway, 'ConfigMap', volume.configMap.name).data[configFile.replace('/config/', '')]);
}

/** The PromQL selectors of the picker's Weft engine config: queued, running and KV-cache use. */
function eppSpecs(gateway: KubeObject[]): Array<{ key: string; metric: string; model: string }> {
  const extractor = eppConfig(gateway).plugins.find((p: any) => p.type === 'core-metrics-extractor').parameters;
  const engine = extractor.engineConfigs.find((e: any) => e.name === weftWorkload(gateway).spec.template.metadata.labels[extractor.engineLabelKey]);
  return ['queuedRequestsSpec', 'runningRequestsSpec', 'kvUsageSpec'].map((key) => {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{model="([^"]+)"\}$/.exec(engine?.[key] ?? '');
    assert.ok(m, `${key}: ${engine?.[key]}`);
    return { key, metric: m[1]!, model: m[2]! };
  });
}

function isSubset(small: Record<string, string>, big: Record<string, string> | undefined): boolean {
  return Object.entries(small).every(([k, v]) => big?.[k] === v);
}

/** The node's config file as the pod sees it: the ConfigMap key named by `--config`. */
function configOf(objects: KubeObject[], workload: KubeObject): { path: string; json: Record<string, any> } {
  const container = weftContainer(workload);
  const path: string = container.args[container.args.indexOf('--config') + 1];
  const mount = container.volumeMounts.find((m: any) => path.startsWith(`${m.mountPath}/`));
  assert.ok(mount, `--config ${path} is on no mounted volume`);
  const volume = workload.spec.template.spec.volumes.find((v: any) => v.name === mount.name);
  const configMap = find(objects, 'ConfigMap', volume.configMap.name);
  const text = configMap.data[path.slice(mount.mountPath.length + 1)];
  assert.ok(text, `ConfigMap ${configMap.metadata.name} has no ${path}`);
  return { path, json: JSON.parse(text) };
}

/** Container args with `--config` pointed at a local file, and the fleet flags left out where this build lacks them. */
function localArgs(args: string[], configFile: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--config') {
      out.push(arg, configFile);
      i++;
    } else if (!hasFleet && FLEET_FLAGS.includes(arg.replace(/^--/, ''))) {
      i++;
    } else {
      out.push(arg.replace('$(NODE_NAME)', 'node-a'));
    }
  }
  return out;
}

/** A bare NATS client over the text protocol: enough to prove messages cross a leaf link. */
async function natsClient(port: number) {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let text = '';
  let pongs = 0;
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString();
    pongs = text.split('PONG\r\n').length - 1;
  });
  socket.write('CONNECT {"verbose":false,"pedantic":false}\r\n');
  let asked = 0;
  return {
    send: (line: string) => socket.write(line),
    /** PING, then waits for its PONG: everything sent before has been processed by the server. */
    roundTrip: async () => {
      asked++;
      socket.write('PING\r\n');
      const deadline = Date.now() + 5000;
      while (pongs < asked && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    },
    text: () => text,
    close: () => socket.destroy(),
  };
}

describe('Kubernetes manifests', () => {
  it('every overlay renders, and every object validates against its schema', async () => {
    for (const [dir, objects] of rendered) {
      assert.ok(objects.length > 0, `${dir} renders nothing`);
      for (const obj of objects) {
        assert.deepEqual(await validateObject(obj), [], `${dir}: ${obj.kind}/${obj.metadata.name}`);
      }
    }
  });

  it('the validators refuse what a cluster would refuse', async () => {
    const gateway = rendered.get('overlays/gateway')!;
    const pool = structuredClone(find(gateway, 'InferencePool'));
    delete pool.spec.endpointPickerRef.port;
    assert.notDeepEqual(await validateObject(pool), [], 'a Service picker without a port');
    const deployment = structuredClone(weftWorkload(gateway));
    weftContainer(deployment).readinesProbe = weftContainer(deployment).readinessProbe;
    assert.match((await validateObject(deployment)).join('\n'), /readinesProbe: unknown field/);
    weftContainer(deployment).ports[0].containerPort = 'http';
    assert.match((await validateObject(deployment)).join('\n'), /containerPort must be integer/);
    assert.deepEqual(await validateObject({ apiVersion: 'example.com/v1', kind: 'Unknown', metadata: { name: 'x' } }), ['no schema for example.com/v1/Unknown']);
  });

  it('Services and the InferencePool select the pods the workloads make, on their ports', () => {
    for (const dir of WITH_NODES) {
      const objects = rendered.get(dir)!;
      const workload = weftWorkload(objects);
      const podLabels = workload.spec.template.metadata.labels;
      assert.ok(isSubset(workload.spec.selector.matchLabels, podLabels), `${dir}: the workload's selector misses its own pods`);
      const service = find(objects, 'Service', 'weft');
      assert.ok(isSubset(service.spec.selector, podLabels), `${dir}: Service weft selects no Weft pod`);
      const http = weftContainer(workload).ports.find((p: any) => p.name === service.spec.ports[0].targetPort);
      assert.ok(http, `${dir}: the Service's targetPort names no container port`);
      assert.equal(http.containerPort, configOf(objects, workload).json.port, `${dir}: the container port is not the node's`);
    }

    const gateway = rendered.get('overlays/gateway')!;
    const pool = find(gateway, 'InferencePool');
    const pods = weftWorkload(gateway).spec.template.metadata.labels;
    assert.ok(isSubset(pool.spec.selector.matchLabels, pods), 'the InferencePool selects none of the Deployment\'s pods');
    assert.deepEqual(pool.spec.targetPorts.map((p: any) => p.number), [weftContainer(weftWorkload(gateway)).ports[0].containerPort]);
    // The pool's endpoint picker: a Service whose port exists and which selects the EPP's pods.
    const ref = pool.spec.endpointPickerRef;
    const eppService = find(gateway, ref.kind ?? 'Service', ref.name);
    assert.ok(eppService.spec.ports.some((p: any) => p.port === ref.port.number), 'the picker Service has no such port');
    const epp = find(gateway, 'Deployment', 'weft-epp');
    assert.ok(isSubset(eppService.spec.selector, epp.spec.template.metadata.labels), 'the picker Service selects no EPP pod');
    const eppArgs: string[] = epp.spec.template.spec.containers[0].args;
    assert.equal(eppArgs[eppArgs.indexOf('--pool-name') + 1], pool.metadata.name);
    const route = find(gateway, 'HTTPRoute');
    assert.deepEqual(route.spec.rules[0].backendRefs[0], { group: 'inference.networking.k8s.io', kind: 'InferencePool', name: pool.metadata.name });
    const role = find(gateway, 'Role', 'weft-epp');
    assert.ok(role.rules.some((r: any) => r.resources.includes('inferencepools') && r.verbs.includes('watch')));
    assert.ok(role.rules.some((r: any) => r.resources.includes('pods') && r.verbs.includes('watch')));
  });

  it('the endpoint picker is configured for the metrics Weft pods export', () => {
    const gateway = rendered.get('overlays/gateway')!;
    const config = eppConfig(gateway);
    assert.equal(config.kind, 'EndpointPickerConfig');
    const names = new Set(config.plugins.map((p: any) => p.name ?? p.type));
    for (const source of config.dataLayer.sources) {
      assert.ok(names.has(source.pluginRef), source.pluginRef);
      for (const e of source.extractors) assert.ok(names.has(e.pluginRef), e.pluginRef);
    }
    for (const profile of config.schedulingProfiles) for (const p of profile.plugins) assert.ok(names.has(p.pluginRef), p.pluginRef);
    // The extractor finds each pod's engine by a label; the pods carry it with the engine's name.
    const extractor = config.plugins.find((p: any) => p.type === 'core-metrics-extractor').parameters;
    const pods = weftWorkload(gateway).spec.template.metadata.labels;
    const engine = extractor.engineConfigs.find((e: any) => e.name === pods[extractor.engineLabelKey]);
    assert.ok(engine, `no engine config for pods labelled ${extractor.engineLabelKey}=${pods[extractor.engineLabelKey]}`);
    // Specs are PromQL instant selectors on the documented names, narrowed to the pool's model
    // (a real node exports them: checked on the scrape below).
    const documented = readFileSync(join(ROOT, 'docs/deploy.md'), 'utf8');
    for (const { metric } of eppSpecs(gateway)) assert.ok(documented.includes(`\`${metric}\``), `${metric} is not in docs/deploy.md`);
  });

  it('pods drain within their grace period and keep data, keys and config on volumes', () => {
    for (const dir of WITH_NODES) {
      const objects = rendered.get(dir)!;
      const workload = weftWorkload(objects);
      const pod = workload.spec.template.spec;
      const container = weftContainer(workload);
      const { json } = configOf(objects, workload);
      const seconds = (d: string) => Number(/^(\d+)s$/.exec(d)![1]);
      const preStop = Number(container.lifecycle.preStop.exec.command[1]);
      assert.deepEqual(container.lifecycle.preStop.exec.command.slice(0, 1), ['sleep']);
      assert.ok(pod.terminationGracePeriodSeconds >= preStop + seconds(json.shutdownTimeout) + 5, `${dir}: grace ${pod.terminationGracePeriodSeconds}s < preStop + drain`);
      const mountOf = (path: string) => container.volumeMounts.find((m: any) => m.mountPath === path);
      assert.ok(mountOf(json.dataDir), `${dir}: dataDir ${json.dataDir} is not a volume`);
      const keys = pod.volumes.find((v: any) => v.name === mountOf(json.trustedKeys[0]).name);
      assert.equal(keys.secret.secretName, 'weft-trusted-keys');
      assert.equal(container.securityContext.readOnlyRootFilesystem, true);
      assert.ok(pod.securityContext.runAsNonRoot);
      // Requests cover the memory budget.
      const gib = (q: string) => Number(/^(\d+)Gi$/.exec(q)![1]);
      const budget = Number(/^(\d+)GiB$/.exec(json.memoryBudget)![1]);
      assert.ok(gib(container.resources.requests.memory) > budget, `${dir}: memory request below the budget`);
      assert.equal(container.resources.limits.memory, container.resources.requests.memory);
      const annotations = workload.spec.template.metadata.annotations;
      assert.equal(annotations['prometheus.io/scrape'], 'true');
      assert.equal(Number(annotations['prometheus.io/port']), json.port);
    }
    const gpu = weftContainer(weftWorkload(rendered.get('overlays/gpu')!));
    assert.equal(gpu.resources.limits['nvidia.com/gpu'], 1);
    const edge = weftWorkload(rendered.get('overlays/edge')!);
    assert.equal(edge.kind, 'DaemonSet');
    assert.deepEqual(edge.spec.template.spec.nodeSelector, { 'weft.dev/role': 'edge' });
    assert.equal(edge.spec.template.spec.volumes.find((v: any) => v.name === 'data').hostPath.path, '/var/lib/weft');
  });

  it('the real weft CLI accepts every container\'s arguments, variables and config file', async (t) => {
    const envVars = new Set(settings.map((s) => s.env));
    for (const dir of WITH_NODES) {
      const objects = rendered.get(dir)!;
      const workload = weftWorkload(objects);
      const container = weftContainer(workload);
      assert.equal(container.command, undefined, 'the image entrypoint (tini → node main.js) must stay');
      assert.equal(container.args[0], 'serve');
      const file = join(scratch, `${dir.replace('/', '-')}.json`);
      writeFileSync(file, JSON.stringify(configOf(objects, workload).json));
      const env: Record<string, string> = {};
      for (const e of container.env ?? []) {
        if (e.name.startsWith('WEFT_')) {
          assert.ok(envVars.has(e.name), `${dir}: ${e.name} is no setting's variable`);
          env[e.name] = 'from-a-secret';
        }
      }
      const r = await runWeft(['config', ...localArgs(container.args.slice(1), file)], env);
      assert.equal(r.code, 0, `${dir}: ${r.stderr}`);
      assert.match(r.stdout, /dataDir\n.*\n {2}value: "\/var\/lib\/weft"/);
    }
    // A misspelt key is refused the same way, so the check above can fail.
    const bad = join(scratch, 'bad.json');
    writeFileSync(bad, JSON.stringify({ shutdownTimout: '30s' }));
    const r = await runWeft(['config', '--config', bad]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /unknown key 'shutdownTimout'/);
    await t.test('fleet flags of the edge overlay', { skip: hasFleet ? false : 'the --fleet/--site/--label settings are not in this build yet' }, () => {
      assert.ok(hasFleet);
    });
  });

  it('the probe paths and the scrape path answer on a real node started from the rendered config', async () => {
    const objects = rendered.get('overlays/gateway')!;
    const workload = weftWorkload(objects);
    const container = weftContainer(workload);
    const { json } = configOf(objects, workload);
    // The pod's config, with the paths and the listen address made local.
    const models = join(scratch, 'models');
    mkdirSync(join(models, 'chat', '1'), { recursive: true });
    writeTinyGguf(join(models, 'chat', '1', 'model.gguf'));
    const keys = join(scratch, 'trusted-keys');
    mkdirSync(keys, { recursive: true });
    const file = join(scratch, 'pod-config.json');
    writeFileSync(file, JSON.stringify({ ...json, host: '127.0.0.1', models, dataDir: join(scratch, 'data'), trustedKeys: [keys], memoryBudget: '1GiB', llmThreads: 1 }));
    const weft = await startWeft(localArgs(container.args.slice(1), file));
    try {
      const portOf = (name: string) => container.ports.find((p: any) => p.name === name)?.containerPort;
      for (const kind of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
        const probe = container[kind].httpGet;
        assert.equal(portOf(probe.port), json.port, `${kind} port`);
        const res = await fetch(`${weft.url}${probe.path}`);
        assert.equal(res.status, 200, `${kind} ${probe.path}`);
      }
      const scrape = workload.spec.template.metadata.annotations['prometheus.io/path'];
      const metrics = await fetch(`${weft.url}${scrape}`);
      assert.equal(metrics.status, 200);
      assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain/);
      const scraped = await metrics.text();
      assert.match(scraped, /# TYPE weft_requests_queued gauge/);
      // Every series the endpoint picker reads exists on the pod, for the pool's model.
      for (const { key, metric, model } of eppSpecs(objects)) {
        assert.match(scraped, new RegExp(`^# TYPE ${metric} gauge$`, 'm'), `${key}: no ${metric} gauge`);
        assert.match(scraped, new RegExp(`^${metric}\\{model="${model}"\\} 0$`, 'm'), `${key}: no ${metric}{model="${model}"} series at rest`);
      }
      // The pool's model answers on the OpenAI API the gateway routes to.
      const chat = await fetch(`${weft.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }),
      });
      assert.equal(chat.status, 200, await chat.clone().text());
    } finally {
      assert.equal(await weft.stop('SIGTERM'), 0, 'the node did not drain and exit 0 on SIGTERM');
    }
  });
});

describe('systemd unit', () => {
  const unitText = readFileSync(join(ROOT, 'deploy/systemd/weft.service'), 'utf8');
  const dropIn = readFileSync(join(ROOT, 'deploy/systemd/fleet.conf'), 'utf8');

  async function verify(text: string): Promise<{ code: number; stderr: string }> {
    const dir = mkdtempSync(join(tmpdir(), 'weft-unit-'));
    try {
      writeFileSync(join(dir, 'weft.service'), text);
      const r = await run('systemd-analyze', ['verify', join(dir, 'weft.service')]).then(
        (ok) => ({ code: 0, stderr: ok.stderr }),
        (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
      );
      return r;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('passes systemd-analyze verify without a warning, alone and with the fleet drop-in', async () => {
    const alone = await verify(unitText);
    assert.equal(alone.code, 0, alone.stderr);
    assert.equal(alone.stderr.split('\n').filter((l) => l.includes('weft.service')).join('\n'), '');
    // A drop-in's sections merge into the unit's: appended, they must verify too.
    const withFleet = await verify(`${unitText}\n${dropIn}`);
    assert.equal(withFleet.code, 0, withFleet.stderr);
    assert.equal(withFleet.stderr.split('\n').filter((l) => l.includes('weft.service')).join('\n'), '');
    // And a misspelt option is reported, so the checks above can fail.
    const bad = await verify(unitText.replace('NoNewPrivileges=yes', 'NoNewPrivilege=yes'));
    assert.match(bad.stderr, /Unknown key 'NoNewPrivilege'/);
  });

  it('runs the built CLI as a dedicated user, drains on SIGTERM within its stop timeout, writes only its data dir', async () => {
    const unit = Object.fromEntries(
      unitText.split('\n').filter((l) => /^[A-Za-z]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    assert.equal(unit.User, 'weft');
    assert.equal(unit.KillSignal, 'SIGTERM');
    assert.equal(unit.ProtectSystem, 'strict');
    assert.equal(unit.NoNewPrivileges, 'yes');
    assert.equal(unit.Restart, 'on-failure');
    assert.equal(unit.ReadWritePaths, '/var/lib/weft');
    assert.match(unit.Environment!, /WEFT_DATA_DIR=\/var\/lib\/weft/);
    const example = JSON.parse(readFileSync(join(ROOT, 'deploy/systemd/config.json'), 'utf8'));
    assert.equal(example.dataDir, '/var/lib/weft');
    const seconds = (d: string) => Number(/^(\d+)s$/.exec(d)![1]);
    assert.ok(seconds(unit.TimeoutStopSec!) > seconds(example.shutdownTimeout), 'systemd would kill the node mid-drain');
    // ExecStart: node, the built CLI (the path of dist/cli/main.js under /opt/weft), flags the CLI takes.
    const execStarts = [unit.ExecStart!, ...dropIn.split('\n').filter((l) => /^ExecStart=./.test(l)).map((l) => l.slice('ExecStart='.length))];
    for (const line of execStarts) {
      const [node, main, ...args] = line.split(/\s+/);
      assert.equal(node, '/usr/bin/node');
      assert.equal(main, '/opt/weft/dist/cli/main.js');
      assert.ok(existsSync(join(ROOT, 'dist/cli/main.js')), 'npm run build first');
      assert.equal(args[0], 'serve');
      const keys = mkdtempSync(join(tmpdir(), 'weft-keys-'));
      const file = join(keys, 'config.json');
      writeFileSync(file, JSON.stringify({ ...example, trustedKeys: [keys] }));
      const r = await runWeft(['config', ...localArgs(args.slice(1), file)]);
      rmSync(keys, { recursive: true, force: true });
      assert.equal(r.code, 0, r.stderr);
    }
  });
});

describe('NATS configs', () => {
  it('the Kubernetes server config and the edge leaf-node config pass nats-server -t', async () => {
    await run('nats-server', ['-t', '-c', join(KUBE, 'nats/nats.conf')], { env: { ...process.env, POD_NAME: 'nats-0' } });
    await run('nats-server', ['-t', '-c', join(ROOT, 'deploy/nats/leaf.conf')]);
  });

  it('an edge site running leaf.conf joins a real hub as a leaf node', async () => {
    const [hubClient, hubLeaf, hubHttp, leafClient, leafHttp] = (await freePorts(5)) as [number, number, number, number, number];
    const dir = mkdtempSync(join(tmpdir(), 'weft-nats-'));
    const procs: ChildProcess[] = [];
    try {
      writeFileSync(join(dir, 'hub.conf'), `server_name: hub\nhost: 127.0.0.1\nport: ${hubClient}\nhttp: 127.0.0.1:${hubHttp}\njetstream { store_dir: "${join(dir, 'js')}" }\nleafnodes { host: 127.0.0.1, port: ${hubLeaf} }\n`);
      const leaf = readFileSync(join(ROOT, 'deploy/nats/leaf.conf'), 'utf8');
      const local = leaf
        .replace(/urls: \["nats-leaf:\/\/[^"]+"\]/, `urls: ["nats-leaf://127.0.0.1:${hubLeaf}"]`)
        .replace(/^port: 4222$/m, `port: ${leafClient}`)
        .replace(/^http: 127\.0\.0\.1:8222$/m, `http: 127.0.0.1:${leafHttp}`);
      assert.notEqual(local, leaf);
      assert.ok(local.includes(`127.0.0.1:${hubLeaf}`) && local.includes(`port: ${leafClient}`) && local.includes(`:${leafHttp}`), 'leaf.conf changed shape');
      writeFileSync(join(dir, 'leaf.conf'), local);
      for (const conf of ['hub.conf', 'leaf.conf']) {
        const proc = spawn('nats-server', ['-c', join(dir, conf)], { stdio: 'ignore' });
        procs.push(proc);
      }
      let leafz: any;
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        leafz = await fetch(`http://127.0.0.1:${hubHttp}/leafz`).then((r) => r.json(), () => undefined);
        if (leafz?.leafnodes === 1) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      assert.equal(leafz?.leafnodes, 1, `the hub sees no leaf: ${JSON.stringify(leafz)}`);
      const varz = await fetch(`http://127.0.0.1:${leafHttp}/varz`).then((r) => r.json());
      assert.equal(varz.server_name, 'weft-edge-1');
      assert.equal(varz.host, '127.0.0.1', 'the leaf listens beyond loopback');
      // Request-reply across the link, as the fleet forwards requests: a responder at the hub,
      // a request from the site (NATS text protocol, so no client library is needed).
      const responder = await natsClient(hubClient);
      responder.send('SUB weft.test.echo 1\r\n');
      await responder.roundTrip();
      // Subscription interest reaches the leaf asynchronously: retry until the reply comes.
      const requester = await natsClient(leafClient);
      requester.send('SUB _INBOX.deploy 2\r\n');
      let answered = false;
      for (let i = 0; i < 50 && !answered; i++) {
        requester.send('PUB weft.test.echo _INBOX.deploy 4\r\nping\r\n');
        await requester.roundTrip();
        const asked = /MSG weft\.test\.echo 1 (\S+) 4\r\nping\r\n/.exec(responder.text());
        if (asked) {
          responder.send(`PUB ${asked[1]} 4\r\npong\r\n`);
          await responder.roundTrip();
          await requester.roundTrip();
        }
        answered = /MSG _INBOX\.deploy 2 4\r\npong/.test(requester.text());
        if (!answered) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      responder.close();
      requester.close();
      assert.ok(answered, 'no reply crossed the leaf link');
    } finally {
      for (const proc of procs) {
        proc.kill('SIGTERM');
        if (proc.exitCode === null) await once(proc, 'exit');
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Dockerfile', () => {
  const KNOWN = new Set(['FROM', 'RUN', 'CMD', 'LABEL', 'EXPOSE', 'ENV', 'ADD', 'COPY', 'ENTRYPOINT', 'VOLUME', 'USER', 'WORKDIR', 'ARG', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL']);
  const instructions = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.trim().startsWith('#'))
    .map((l) => {
      const m = /^\s*(\S+)\s+(.*)$/.exec(l)!;
      return { op: m[1]!, rest: m[2]!.trim() };
    });

  it('uses only known instructions, two stages on the official Node.js 20 image, npm ci then a production prune', () => {
    for (const { op } of instructions) assert.ok(KNOWN.has(op), `unknown instruction ${op}`);
    const froms = instructions.filter((i) => i.op === 'FROM').map((i) => i.rest);
    assert.equal(froms.length, 2);
    for (const from of froms) assert.match(from, /^node:20-bookworm-slim\b/);
    const runs = instructions.filter((i) => i.op === 'RUN').map((i) => i.rest).join('\n');
    assert.match(runs, /npm ci && npm prune --omit=dev/);
    const user = instructions.filter((i) => i.op === 'USER').at(-1)!.rest;
    assert.match(user, /^[1-9]\d*:[1-9]\d*$/, 'the image must run as a numeric non-root user');
    // The pods run as the image's user.
    const pod = weftWorkload(rendered.get('overlays/gpu')!).spec.template.spec.securityContext;
    assert.equal(`${pod.runAsUser}:${pod.runAsGroup}`, user);
  });

  it('runs the built CLI under tini in exec form (SIGTERM reaches node), serving the embedded default', () => {
    const json = (op: string) => JSON.parse(instructions.filter((i) => i.op === op).at(-1)!.rest) as string[];
    const entrypoint = json('ENTRYPOINT');
    assert.deepEqual(entrypoint.slice(0, 3), ['/usr/bin/tini', '--', 'node']);
    const workdir = instructions.filter((i) => i.op === 'WORKDIR').at(-1)!.rest;
    const main = entrypoint[3]!;
    assert.ok(main.startsWith(`${workdir}/`));
    const inRepo = main.slice(workdir.length + 1);
    assert.equal(inRepo, JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).bin.weft);
    assert.ok(existsSync(join(ROOT, inRepo)), `${inRepo} is not built (npm run build)`);
    const copied = instructions.filter((i) => i.op === 'COPY' && i.rest.startsWith('--from=build')).map((i) => i.rest.split(/\s+/)[2]);
    assert.ok(copied.includes('./dist') && copied.includes('./node_modules') && copied.includes('./examples'), 'the runtime stage lacks the build or the embedded app');
    assert.deepEqual(json('CMD'), ['serve']);
  });

  it('copies only sources that exist, none of them ignored by .dockerignore', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    for (const must of ['node_modules', 'dist', '.git']) assert.ok(ignored.includes(must), `.dockerignore lacks ${must}`);
    const sources = instructions.filter((i) => i.op === 'COPY' && !i.rest.startsWith('--from')).flatMap((i) => i.rest.split(/\s+/).slice(0, -1));
    for (const src of sources) {
      assert.ok(existsSync(join(ROOT, src)), `COPY ${src}: no such file`);
      assert.ok(!ignored.includes(src), `COPY ${src} is in .dockerignore`);
    }
    assert.ok(sources.includes('.npmrc'), 'npm ci in the image must see .npmrc (nothing outside the npm registry)');
  });
});
