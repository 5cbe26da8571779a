/**
 * Loading a regime by name or path: the entry point of engine/config for every command. The
 * work is done in files named after their main export (find-regime-file, check-regime-file,
 * apply-setting-overrides, …); this module keeps the public names importable from one place.
 */
import { ScrapeError } from '../core/errors';
import { SpecTable } from '../spec/spec-table';
import { checkRegimeFile } from './check-regime-file';
import { renderDiagnostics } from './diagnostic';
import { RegimeLookup, findRegimeFile } from './find-regime-file';
import { Regime } from './regime';

export type { Diagnostic } from './diagnostic';
export { renderDiagnostics } from './diagnostic';
export { applySettingOverrides } from './apply-setting-overrides';
export { checkRegimeFile, positionIssues, readRegimeText } from './check-regime-file';
export type { RegimeCheck } from './check-regime-file';
export { findRegimeFile, listRegimeFiles, regimeDirs, specDirOf } from './find-regime-file';
export type { RegimeLookup } from './find-regime-file';
export { captureNames, jsonataError, regexError } from './regime-formats';
export { regimeSchemaFile } from './regime-schema';

/** A regime read from its file, validated, with schema defaults applied, and its target specs. */
export interface LoadedRegime {
  /** Absolute path of the YAML file. */
  file: string;
  /** The validated regime, schema defaults applied. */
  regime: Regime;
  /** Target specs by class name, one per target. */
  specs: Map<string, SpecTable>;
}

/** Loads and validates; throws ScrapeError('REGIME_INVALID', rendered diagnostics) when any error. */
export function loadRegime(nameOrPath: string, lookup: RegimeLookup = {}): LoadedRegime {
  const file = findRegimeFile(nameOrPath, lookup);
  const { regime, specs, diagnostics } = checkRegimeFile(file, lookup);
  if (!regime || diagnostics.some((d) => d.severity === 'error')) {
    throw new ScrapeError('REGIME_INVALID', `regime ${nameOrPath} is invalid:\n${renderDiagnostics(diagnostics, lookup.cwd)}`, {
      hint: `correct the errors above in the regime file (or its .spec files); scrape validate ${nameOrPath} checks it again`,
    });
  }
  return { file, regime, specs };
}
