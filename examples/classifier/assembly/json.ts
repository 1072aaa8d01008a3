// Just enough JSON for the classifier: parses one flat object whose values are strings or
// numbers (what its schema allows), and quotes strings for the response. Anything else is an
// error, so a model answer that strays from the schema is caught here.

export class Value {
  constructor(public isString: bool, public str: string, public num: f64) {}
}

export class Parsed {
  keys: string[] = [];
  values: Value[] = [];
  error: string = '';
  get(key: string): Value | null {
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] == key) return this.values[i];
    return null;
  }
}

class Cursor {
  at: i32 = 0;
  constructor(public s: string) {}
  ws(): void {
    while (this.at < this.s.length) {
      const c = this.s.charCodeAt(this.at);
      if (c != 32 && c != 9 && c != 10 && c != 13) break;
      this.at++;
    }
  }
  peek(): i32 {
    return this.at < this.s.length ? this.s.charCodeAt(this.at) : -1;
  }
}

/** Reads a JSON string at the cursor (on its opening quote); null when malformed. */
function readString(c: Cursor): string | null {
  c.at++;
  let out = '';
  while (c.at < c.s.length) {
    const ch = c.s.charCodeAt(c.at++);
    if (ch == 34) return out;
    if (ch != 92) {
      out += String.fromCharCode(ch);
      continue;
    }
    const e = c.peek();
    c.at++;
    if (e == 110) out += '\n';
    else if (e == 116) out += '\t';
    else if (e == 114) out += '\r';
    else if (e == 98) out += '\b';
    else if (e == 102) out += '\f';
    else if (e == 117) {
      if (c.at + 4 > c.s.length) return null;
      out += String.fromCharCode(<i32>I32.parseInt(c.s.substr(c.at, 4), 16));
      c.at += 4;
    } else out += String.fromCharCode(e);
  }
  return null;
}

/** Parses `{"key": "string" | number, ...}`. */
export function parseFlatObject(s: string): Parsed {
  const r = new Parsed();
  const c = new Cursor(s);
  c.ws();
  if (c.peek() != 123) {
    r.error = 'not a JSON object';
    return r;
  }
  c.at++;
  c.ws();
  if (c.peek() == 125) c.at++;
  else {
    for (;;) {
      c.ws();
      if (c.peek() != 34) { r.error = 'expected a key at ' + c.at.toString(); return r; }
      const key = readString(c);
      if (key === null) { r.error = 'unterminated key'; return r; }
      c.ws();
      if (c.peek() != 58) { r.error = "expected ':' at " + c.at.toString(); return r; }
      c.at++;
      c.ws();
      if (c.peek() == 34) {
        const v = readString(c);
        if (v === null) { r.error = 'unterminated string'; return r; }
        r.keys.push(key!);
        r.values.push(new Value(true, v!, 0));
      } else {
        const start = c.at;
        while (c.at < s.length && '-+.eE0123456789'.includes(s.charAt(c.at))) c.at++;
        if (c.at == start) { r.error = `'${key!}' is neither a string nor a number`; return r; }
        const n = F64.parseFloat(s.substring(start, c.at));
        if (isNaN(n)) { r.error = `'${key!}' is not a valid number`; return r; }
        r.keys.push(key!);
        r.values.push(new Value(false, '', n));
      }
      c.ws();
      const sep = c.peek();
      c.at++;
      if (sep == 125) break;
      if (sep != 44) { r.error = "expected ',' or '}' at " + (c.at - 1).toString(); return r; }
    }
  }
  c.ws();
  if (c.at != s.length) r.error = 'text after the object';
  return r;
}

/** A JSON string literal. */
export function quote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    if (ch == 34 || ch == 92) out += '\\' + String.fromCharCode(ch);
    else if (ch < 32) out += '\\u' + ch.toString(16).padStart(4, '0');
    else out += String.fromCharCode(ch);
  }
  return out + '"';
}
