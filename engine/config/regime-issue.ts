import { ErrorCode } from '../core/error-codes';
/**
 * A problem found in a regime before it is positioned (`Issue`), and the parsed text the checks
 * share (`RegimeText`). Schema, semantic and spec checks all produce issues; checkRegimeFile turns
 * them into positioned diagnostics in one place.
 */
import { Document, LineCounter, Scalar, isScalar } from 'yaml';
import { Position, nodeAt, scalarCharOffset } from './yaml-positions';

/** A problem before positioning: where (path segments) and what. */
export interface Issue {
  segments: Array<string | number>;
  code: ErrorCode;
  message: string;
  severity?: 'error' | 'warning';
  /** Point at the key of the last segment rather than its value. */
  useKey?: boolean;
  /** Exact position when known (JSONata errors inside a string). */
  pos?: Position;
  /** Ajv's error for this issue, for key-based deduplication. */
  keyword?: string;
}

/** A regime file's text parsed with positions: what checks need to point inside strings. */
export interface RegimeText {
  doc: Document;
  /** The file's text (BOM removed). */
  text: string;
  lines: LineCounter;
}

/** Keys that hold credentials; they belong in dbconf files, never in a regime. */
export const CREDENTIAL_KEY = /^(password|passwd|pwd)$/i;

/** The value as a plain mapping, or undefined when it is none (checks run on unvalidated data). */
export function asObject(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** Position of character `index` inside the string at `segments` (when the source maps one-to-one). */
export function positionInString(src: RegimeText | undefined, segments: Array<string | number>, index: number): Position | undefined {
  if (!src) return undefined;
  const at = nodeAt(src.doc, segments);
  if (at.depth !== segments.length || !isScalar(at.value)) return undefined;
  const offset = scalarCharOffset(at.value as Scalar, src.text, index);
  return offset === undefined ? undefined : src.lines.linePos(offset);
}
