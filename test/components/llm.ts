// LLM calls from a component: /stream concatenates a generation's chunks and reports how many
// it got, /generate returns a whole one (errors as 400 with the host's message), /embed reports
// the vectors' sizes, /partial returns after one chunk of a long stream it leaves open, and /hang starts a long generation, reads one chunk and spins until its
// deadline kills it (the node must free the model's slot).
import { Request, Response, serve, generateStream, chatStream, generate, embed, ChatMessage, GenerateParams } from 'weft/sdk/assemblyscript';
export { cabi_realloc, weft_handle, weft_post_handle } from 'weft/sdk/assemblyscript';

function param(query: string, key: string, fallback: string): string {
  const parts = query.split('&');
  for (let i = 0; i < parts.length; i++) {
    const eq = parts[i].indexOf('=');
    if (eq > 0 && parts[i].substring(0, eq) == key) return parts[i].substring(eq + 1);
  }
  return fallback;
}

function quote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 34 || c == 92) out += '\\' + String.fromCharCode(c);
    else if (c < 32 || (c >= 0xd800 && c < 0xe000)) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += String.fromCharCode(c);
  }
  return out + '"';
}

function handle(req: Request): Response {
  const model = param(req.query, 'model', 'llm');
  const params = new GenerateParams();
  params.maxTokens = I32.parseInt(param(req.query, 'max', '8'));
  params.temperature = 0;
  params.seed = 7;
  if (req.path == '/stream') {
    const started = req.query.includes('chat=1')
      ? chatStream(model, [new ChatMessage('user', 'Go on.')], params)
      : generateStream(model, 'Once upon a time', params);
    if (!started.ok) return Response.error(0, started.error);
    const stream = started.stream!;
    let text = '';
    let chunks = 0;
    for (let piece = stream.next(); piece !== null; piece = stream.next()) {
      text += piece!;
      chunks++;
    }
    if (!stream.ok) return Response.error(3, stream.error);
    const u = stream.usage!;
    return Response.json(200, '{"chunks":' + chunks.toString() + ',"text":' + quote(text) + ',"completionTokens":' + u.completionTokens.toString() + ',"finishReason":"' + u.finishReason + '"}');
  }
  if (req.path == '/generate') {
    const g = generate(model, 'Once upon a time', params);
    if (!g.ok) return Response.error(0, 'code ' + g.errorCode.toString() + ': ' + g.error);
    return Response.json(200, '{"text":' + quote(g.text) + ',"completionTokens":' + g.usage!.completionTokens.toString() + '}');
  }
  if (req.path == '/embed') {
    const e = embed(model, ['hello', 'a longer sentence to embed']);
    if (!e.ok) return Response.error(0, e.error);
    let sizes = '';
    for (let i = 0; i < e.vectors.length; i++) sizes += (i > 0 ? ',' : '') + e.vectors[i].length.toString();
    return Response.json(200, '{"sizes":[' + sizes + ']}');
  }
  if (req.path == '/partial') {
    // Reads one chunk of a long generation and returns without closing it.
    params.maxTokens = 30000;
    const started = generateStream(model, 'Once upon a time', params);
    if (!started.ok) return Response.error(3, started.error);
    return Response.text(200, started.stream!.next()!);
  }
  if (req.path == '/hang') {
    params.maxTokens = 30000;
    const started = generateStream(model, 'Once upon a time', params);
    if (!started.ok) return Response.error(3, started.error);
    started.stream!.next();
    let spins: u64 = 0;
    while (spins >= 0) spins++;
    return Response.text(200, 'unreachable');
  }
  return Response.error(1, 'no route ' + req.path);
}

serve(handle);
