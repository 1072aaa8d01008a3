// Classifier: POST text, get {"label", "confidence", "raw"}. The language model is asked for a
// JSON answer constrained by a JSON schema (the node turns it into a sampling grammar), and the
// answer is validated here against the same schema before it is returned.
import { Request, Response, ErrorKind, serve, chat, config, ChatMessage, GenerateParams } from 'weft/sdk/assemblyscript';
import { parseFlatObject, quote } from './json';
export { cabi_realloc, weft_handle, weft_post_handle } from 'weft/sdk/assemblyscript';

function labels(): string[] {
  const granted = config('labels');
  const list = (granted === null ? 'positive,negative,neutral' : granted!).split(',');
  const out: string[] = [];
  for (let i = 0; i < list.length; i++) if (list[i].trim().length > 0) out.push(list[i].trim());
  return out;
}

const STEPS = '0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1';

function schema(labels: string[]): string {
  let e = '';
  for (let i = 0; i < labels.length; i++) e += (i > 0 ? ',' : '') + quote(labels[i]);
  // Grammars cannot bound a number's range or length (a model may emit digits until max-tokens):
  // confidence is one of eleven steps instead, which the grammar does enforce.
  return '{"type":"object","properties":{"label":{"enum":[' + e + ']},"confidence":{"enum":[' + STEPS + ']}},"required":["label","confidence"],"additionalProperties":false}';
}

/** Checks the answer against the schema: exactly `label` (one of `allowed`) and `confidence` (0 to 1). */
function check(raw: string, allowed: string[]): string {
  const p = parseFlatObject(raw);
  if (p.error.length > 0) return p.error;
  if (p.keys.length != 2) return 'expected exactly the keys label and confidence';
  const label = p.get('label');
  const confidence = p.get('confidence');
  if (label === null || !label.isString) return 'label is missing or not a string';
  if (!allowed.includes(label.str)) return "label '" + label.str + "' is not one of " + allowed.join(', ');
  if (confidence === null || confidence.isString) return 'confidence is missing or not a number';
  if (confidence.num < 0 || confidence.num > 1) return 'confidence ' + confidence.num.toString() + ' is not from 0 to 1';
  return '';
}

function handle(req: Request): Response {
  const text = String.UTF8.decode(req.body.buffer).trim();
  if (text.length == 0) return Response.error(ErrorKind.BadRequest, 'POST the text to classify as the request body');
  const allowed = labels();
  const model = config('model');
  const params = new GenerateParams();
  params.maxTokens = 64;
  params.temperature = 0;
  params.seed = 1;
  params.jsonSchema = schema(allowed);
  const messages = [
    new ChatMessage('system', 'Classify the text as one of: ' + allowed.join(', ') + '. Answer in JSON: {"label": <label>, "confidence": <0 to 1>}.'),
    new ChatMessage('user', text),
  ];
  const g = chat(model === null ? 'llm' : model!, messages, params);
  if (!g.ok) return Response.error(ErrorKind.Unavailable, 'the model failed: ' + g.error);
  if (g.usage!.finishReason == 'length') return Response.error(ErrorKind.Unavailable, 'the answer was cut off at ' + params.maxTokens.toString() + ' tokens: ' + g.text);
  const why = check(g.text, allowed);
  if (why.length > 0) return Response.error(ErrorKind.Unavailable, "the model's answer does not match the schema (" + why + '): ' + g.text);
  const p = parseFlatObject(g.text);
  return Response.json(200, '{"label":' + quote(p.get('label')!.str) + ',"confidence":' + p.get('confidence')!.num.toString() + ',"raw":' + quote(g.text) + '}');
}

serve(handle);
