import { Document, LineCounter, Node, isMap, isScalar, isSeq, Pair, Scalar } from 'yaml';

/** A 1-based line and column in a YAML file. */
export interface Position {
  line: number;
  col: number;
}

/** What a key path points at in a parsed YAML document: the pair's key node and its value node. */
export interface NodeAt {
  key?: Node;
  value?: Node;
  /** How many path segments resolved (less than the path length when the path leaves the file). */
  depth: number;
}

/** Splits an ajv JSON pointer (`/targets/0/map/a~1b`) into segments (`['targets', '0', 'map', 'a/b']`). */
export function pointerSegments(pointer: string): string[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function keyText(pair: Pair): string | undefined {
  const k = pair.key;
  if (isScalar(k)) return String(k.value);
  return k === null || k === undefined ? undefined : String(k);
}

/**
 * Follows `segments` through the YAML document as far as it goes (maps by key text, sequences by
 * index), so a JSON-pointer from the validator finds the node it talks about.
 */
export function nodeAt(doc: Document, segments: ReadonlyArray<string | number>): NodeAt {
  let current: unknown = doc.contents;
  let key: Node | undefined;
  let depth = 0;
  for (const seg of segments) {
    if (isMap(current)) {
      const pair = current.items.find((p) => keyText(p) === String(seg));
      if (!pair) break;
      key = (pair.key as Node) ?? undefined;
      current = pair.value;
    } else if (isSeq(current)) {
      const item = current.items[Number(seg)];
      if (item === undefined) break;
      key = undefined;
      current = item;
    } else {
      break;
    }
    depth++;
  }
  return { key, value: (current as Node) ?? undefined, depth };
}

/** Position of a node's first character (or undefined when the node has no range). */
export function nodePosition(node: Node | undefined | null, lines: LineCounter): Position | undefined {
  if (!node || !node.range) return undefined;
  return lines.linePos(node.range[0]);
}

/**
 * The position to report for a path: the value node when it resolved fully (`useKey`: its key),
 * else the deepest node that exists; a value-less key (`maxage:`) points at the key.
 */
export function positionOf(doc: Document, lines: LineCounter, segments: ReadonlyArray<string | number>, useKey = false): Position {
  const at = nodeAt(doc, segments);
  const full = at.depth === segments.length;
  const value = at.value as Node | undefined;
  const emptyValue = !value || (isScalar(value) && value.value === null && value.range && value.range[0] === value.range[1]);
  const node = (useKey && full) || emptyValue ? (at.key ?? value) : value;
  return nodePosition(node, lines) ?? nodePosition(doc.contents as Node, lines) ?? { line: 1, col: 1 };
}

/** Every map key in the document with its path, for checks that look at keys anywhere (credentials). */
export function allKeys(doc: Document): Array<{ path: Array<string | number>; key: Node; text: string }> {
  const out: Array<{ path: Array<string | number>; key: Node; text: string }> = [];
  const walk = (node: unknown, path: Array<string | number>): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const text = keyText(pair);
        if (text === undefined) continue;
        if (pair.key) out.push({ path: [...path, text], key: pair.key as Node, text });
        walk(pair.value, [...path, text]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, [...path, i]));
    }
  };
  walk(doc.contents, []);
  return out;
}

/**
 * Source offset of character `index` (0-based) of a single-line scalar's value, when the source
 * text maps one-to-one onto the value (plain, or quoted without escapes); undefined otherwise.
 */
export function scalarCharOffset(node: Scalar, source: string, index: number): number | undefined {
  if (!node.range || typeof node.value !== 'string') return undefined;
  const raw = source.slice(node.range[0], node.range[1]);
  let inner = raw;
  let shift = 0;
  if (node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE') {
    inner = raw.slice(1, -1);
    shift = 1;
  } else if (node.type !== 'PLAIN') {
    return undefined;
  }
  if (inner !== node.value || inner.includes('\n')) return undefined;
  return node.range[0] + shift + Math.max(0, Math.min(index, inner.length));
}
