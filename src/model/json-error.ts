// Where a JSON text first goes wrong. V8's JSON.parse messages give a position for some errors and
// not for others ("Unexpected token '}', ..."), and a person needs the line: this small strict
// reader finds it. Only used once JSON.parse has failed, so it is written for clarity, not speed.

const WS = new Set([' ', '\t', '\n', '\r']);
const NUMBER = /-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/y;
const ESCAPE = /\\(["\\/bfnrt]|u[0-9a-fA-F]{4})/y;

/** The offset of the first character that makes `text` invalid JSON, or undefined if it is valid. */
export function jsonErrorOffset(text: string): number | undefined {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && WS.has(text[i] as string)) i++;
  };
  const literal = (word: string): boolean => {
    if (text.startsWith(word, i)) {
      i += word.length;
      return true;
    }
    return false;
  };
  const string = (): boolean => {
    if (text[i] !== '"') return false;
    i++;
    while (i < text.length) {
      const c = text[i] as string;
      if (c === '"') {
        i++;
        return true;
      }
      if (c === '\\') {
        ESCAPE.lastIndex = i;
        if (!ESCAPE.test(text)) return false;
        i = ESCAPE.lastIndex;
        continue;
      }
      if (c.charCodeAt(0) < 0x20) return false;
      i++;
    }
    return false;
  };
  // An explicit stack instead of recursion: deeply nested input must not overflow the call stack.
  const stack: string[] = [];
  const value = (): boolean => {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      stack.push(c);
      i++;
      return true;
    }
    if (c === '"') return string();
    if (literal('true') || literal('false') || literal('null')) return true;
    NUMBER.lastIndex = i;
    if (NUMBER.test(text)) {
      i = NUMBER.lastIndex;
      return true;
    }
    return false;
  };
  // States: expecting a value, then after it: `,` or the closing bracket of the innermost container.
  let expectValue = true;
  let first = true;
  for (;;) {
    ws();
    const top = stack[stack.length - 1];
    if (expectValue) {
      if (top === '{') {
        if (first && text[i] === '}') {
          stack.pop();
          i++;
          expectValue = false;
          first = false;
          continue;
        }
        if (!string()) return i;
        ws();
        if (text[i] !== ':') return i;
        i++;
      } else if (top === '[' && first && text[i] === ']') {
        stack.pop();
        i++;
        expectValue = false;
        first = false;
        continue;
      }
      const depth = stack.length;
      if (!value()) return i;
      first = stack.length > depth;
      expectValue = first;
      continue;
    }
    if (top === undefined) return i < text.length ? i : undefined;
    const close = top === '{' ? '}' : ']';
    if (text[i] === ',') {
      i++;
      expectValue = true;
      first = false;
    } else if (text[i] === close) {
      stack.pop();
      i++;
    } else return i;
  }
}
