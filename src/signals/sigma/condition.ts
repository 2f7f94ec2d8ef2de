/**
 * The Sigma condition grammar, parsed to a typed tree: identifiers, `and`, `or`, `not`, parentheses,
 * `1 of X*` / `all of X*` / `1 of them` / `all of them`. Precedence: not > and > or.
 */

export type ConditionNode =
  | { type: 'ref'; name: string }
  | { type: 'not'; node: ConditionNode }
  | { type: 'and' | 'or'; nodes: ConditionNode[] }
  | { type: 'of'; quantifier: 'one' | 'all'; pattern: string };

export class ConditionError extends Error {}

const TOKEN = /\s*(\(|\)|[A-Za-z0-9_*.-]+)/y;

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  let pos = 0;
  while (pos < text.length) {
    if (/^\s*$/.test(text.slice(pos))) break;
    TOKEN.lastIndex = pos;
    const m = TOKEN.exec(text);
    if (!m) throw new ConditionError(`unexpected "${text.slice(pos).trim().slice(0, 20)}" at column ${pos + 1}`);
    tokens.push(m[1]);
    pos = TOKEN.lastIndex;
  }
  return tokens;
}

export function parseCondition(text: string): ConditionNode {
  if (text.length > 4096) throw new ConditionError('condition over 4096 characters');
  const tokens = tokenize(text);
  let i = 0;
  let depth = 0;
  const peek = () => tokens[i]?.toLowerCase();
  const parseOr = (): ConditionNode => {
    const nodes = [parseAnd()];
    while (peek() === 'or') {
      i++;
      nodes.push(parseAnd());
    }
    return nodes.length === 1 ? nodes[0] : { type: 'or', nodes };
  };
  const parseAnd = (): ConditionNode => {
    const nodes = [parseNot()];
    while (peek() === 'and') {
      i++;
      nodes.push(parseNot());
    }
    return nodes.length === 1 ? nodes[0] : { type: 'and', nodes };
  };
  const parseNot = (): ConditionNode => {
    if (peek() === 'not') {
      i++;
      return { type: 'not', node: parseNot() };
    }
    return parseAtom();
  };
  const parseAtom = (): ConditionNode => {
    const t = tokens[i];
    if (t === undefined) throw new ConditionError('condition ends where an identifier was expected');
    const lower = t.toLowerCase();
    if (t === '(') {
      if (++depth > 64) throw new ConditionError('parentheses nested over 64 deep');
      i++;
      const node = parseOr();
      if (tokens[i] !== ')') throw new ConditionError('missing ")"');
      i++;
      depth--;
      return node;
    }
    if (lower === '1' || lower === 'all') {
      if (tokens[i + 1]?.toLowerCase() !== 'of') throw new ConditionError(`"${t}" must be followed by "of"`);
      const pattern = tokens[i + 2];
      if (!pattern || pattern === '(' || pattern === ')')
        throw new ConditionError(`"${t} of" needs a name pattern or "them"`);
      i += 3;
      return { type: 'of', quantifier: lower === '1' ? 'one' : 'all', pattern };
    }
    if (['and', 'or', 'not', ')', 'of'].includes(lower)) throw new ConditionError(`unexpected "${t}"`);
    i++;
    return { type: 'ref', name: t };
  };
  const node = parseOr();
  if (i < tokens.length) throw new ConditionError(`unexpected "${tokens[i]}" after the end of the condition`);
  return node;
}

/** Names a pattern like `selection_*` or `them` refers to. */
export function expandPattern(pattern: string, names: string[]): string[] {
  if (pattern === 'them') return names.filter((n) => !n.startsWith('_'));
  if (!pattern.includes('*')) return names.filter((n) => n === pattern);
  const [head, ...rest] = pattern.split('*');
  return names.filter((n) => n.startsWith(head) && (rest.length === 0 || n.endsWith(rest[rest.length - 1])));
}
