/**
 * The compiled regime JSON Schema (`schemas/regime.schema.json`), the single declaration of what
 * a regime may hold and of every default. Compiled once per process; everything that validates
 * or reads defaults goes through here so there is one ajv configuration.
 */
import * as fs from 'fs';
import * as path from 'path';
import Ajv, { ValidateFunction } from 'ajv';
import { projectRoot } from './dbconf';
import { addRegimeFormats } from './regime-formats';

/** A JSON Schema node (the regime schema is plain JSON). */
export type SchemaNode = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The compiled regime schema and what diagnostics need beside it. */
export interface RegimeSchema {
  /** Strict, allErrors, useDefaults: validates and fills defaults in place. */
  ajv: Ajv;
  /** Same schema without strict mode, to check one oneOf branch alone (`{required: [...]}` has no type). */
  branchAjv: Ajv;
  /** The schema document as read. */
  root: SchemaNode;
  /** Validates a whole regime (filling defaults). */
  validate: ValidateFunction;
  /** oneOf/anyOf arrays of the schema (by identity) to their JSON pointer, to re-check one branch. */
  alternatives: Map<unknown, string>;
}

let cache: RegimeSchema | undefined;

/** Path of the regime JSON Schema shipped with the project. */
export function regimeSchemaFile(): string {
  return path.join(projectRoot(), 'schemas', 'regime.schema.json');
}

/** The compiled regime schema (ajv strict, allErrors, useDefaults, the formats of regime-formats). */
export function regimeSchema(): RegimeSchema {
  if (cache) return cache;
  const root = JSON.parse(fs.readFileSync(regimeSchemaFile(), 'utf8'));
  const make = (strict: boolean) => {
    const ajv = new Ajv({
      allErrors: true,
      useDefaults: true,
      verbose: true,
      strict,
      // `oneOf: [{required: [name]}, {required: [pattern]}]` names properties declared beside it
      strictRequired: false,
      allowUnionTypes: true,
    });
    addRegimeFormats(ajv);
    ajv.addSchema(root);
    return ajv;
  };
  const ajv = make(true);
  const branchAjv = make(false);
  const validate = ajv.getSchema(root.$id)!;
  const alternatives = new Map<unknown, string>();
  const walk = (node: unknown, pointer: string): void => {
    if (Array.isArray(node)) node.forEach((n, i) => walk(n, `${pointer}/${i}`));
    else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        const p = `${pointer}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`;
        if ((k === 'oneOf' || k === 'anyOf') && Array.isArray(v)) alternatives.set(v, p);
        walk(v, p);
      }
    }
  };
  walk(root, '');
  cache = { ajv, branchAjv, root, validate, alternatives };
  return cache;
}

/** Follows local `$ref`s of the regime schema, keeping the keywords given beside the `$ref` (`default`, `description`). */
export function derefSchema(schema: SchemaNode): SchemaNode {
  const root = regimeSchema().root;
  let s = schema;
  while (s && typeof s.$ref === 'string' && s.$ref.startsWith('#/')) {
    const { $ref, ...rest } = s;
    const target = $ref.slice(2).split('/').reduce((o: SchemaNode | undefined, k: string) => o?.[k], root);
    s = { ...target, ...rest };
  }
  return s;
}
