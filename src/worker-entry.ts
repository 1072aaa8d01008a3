// Where a worker thread's module is: the built .js file beside its caller, or — under tsx, which
// the tests use to run the sources — the .ts file, loaded through a bootstrap that registers tsx
// first, since Node 20 workers do not inherit tsx's loader.

export function workerEntry(callerUrl: string, name: string): [string | URL, { eval?: boolean }] {
  const fromSource = callerUrl.endsWith('.ts');
  const url = new URL(`./${name}${fromSource ? '.ts' : '.js'}`, callerUrl);
  if (!fromSource) return [url, {}];
  return [`import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(url.href)}); })`, { eval: true }];
}
