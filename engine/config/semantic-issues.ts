/**
 * The checks of a regime that JSON Schema cannot express: credentials anywhere, a real IANA time
 * zone, real local times in order, captures that the templates (`{site}`) use but the table
 * patterns lack, and maps or change rules calling `$now`/`$millis`/`$random` (faker expressions
 * may). They run on the data even when the schema failed, so one pass shows everything.
 */
import { Document } from 'yaml';
import { checkTimeZone, fixedZoneFor, naiveMs, normalizeTimeText, observesDaylightSaving } from '../core/time';
import { didYouMean } from './diagnostic';
import { REGIME_FORMATS, captureNames, nondeterministicUses, regexError } from './regime-formats';
import { CREDENTIAL_KEY, Issue, RegimeText, asObject, positionInString } from './regime-issue';
import { allKeys, nodeAt } from './yaml-positions';

/** The issues beyond the schema of a parsed regime (`data`) read from `src`. */
export function semanticIssues(data: Record<string, unknown>, src: RegimeText): Issue[] {
  const doc: Document = src.doc;
  const issues: Issue[] = [];

  // credentials anywhere
  for (const k of allKeys(doc)) {
    if (CREDENTIAL_KEY.test(k.text)) {
      issues.push({ segments: k.path, code: 'REGIME_CREDENTIALS', useKey: true, message: `credentials belong in dbconf (~/.my.cnf, $SCRAPE_DBCONF or --dbconf), never in a regime` });
    }
  }
  for (const key of ['source', 'target']) {
    const v = data[key];
    if (typeof v === 'string' && /^[a-z][a-z0-9+.-]*:\/\/[^/@]*:[^/@]*@/i.test(v)) {
      issues.push({ segments: [key], code: 'REGIME_CREDENTIALS', message: 'URL carries a password: credentials belong in dbconf (~/.my.cnf, $SCRAPE_DBCONF or --dbconf), never in a regime' });
    }
  }

  // time zone
  if (typeof data.timezone === 'string') {
    const problem = checkTimeZone(data.timezone);
    if (problem) {
      let zones: string[] = [];
      try {
        zones = (Intl as unknown as { supportedValuesOf(k: string): string[] }).supportedValuesOf('timeZone');
      } catch {
        /* older runtimes: no suggestion */
      }
      const hint = didYouMean(data.timezone, zones);
      issues.push({ segments: ['timezone'], code: 'REGIME_TIMEZONE', message: hint ? `unknown time zone '${data.timezone}'${hint}` : problem });
    } else if (observesDaylightSaving(data.timezone)) {
      // docs/design.md §4.9: a warning only; the time rules make such a zone work
      const fixed = fixedZoneFor(data.timezone);
      issues.push({
        segments: ['timezone'],
        code: 'REGIME_TIMEZONE_DST',
        severity: 'warning',
        message:
          `time zone '${data.timezone}' observes daylight saving: local times in the hour skipped in spring become its end, ` +
          `the hour repeated in autumn is read as its first occurrence; DCS clocks usually keep standard time all year: ` +
          (fixed ? `if this one does, use '${fixed}' (Etc/ signs are inverted)` : 'if this one does, use a fixed-offset zone'),
      });
    }
  }

  // local times of the right shape that are no real time; seed range order
  const times: Array<[string, string]> = [['scraper', 'timefloor'], ['scraper', 'seed_timestart'], ['scraper', 'seed_timeend'], ['faker', 'timestart']];
  const good = new Map<string, string>();
  for (const [section, key] of times) {
    const v = asObject(data[section])?.[key];
    if (typeof v !== 'string' || !REGIME_FORMATS['local-time'].test(v)) continue;
    try {
      good.set(`${section}.${key}`, normalizeTimeText(v));
    } catch {
      issues.push({ segments: [section, key], code: 'REGIME_SCHEMA', message: `not a real date and time: "${v}"` });
    }
  }
  const start = good.get('scraper.seed_timestart');
  const end = good.get('scraper.seed_timeend');
  if (start && end && naiveMs(start) >= naiveMs(end)) {
    const inFile = nodeAt(doc, ['scraper', 'seed_timeend']).depth === 2 ? 'seed_timeend' : 'seed_timestart';
    issues.push({ segments: ['scraper', inFile], code: 'REGIME_SCHEMA', message: `seed_timestart (${start}) must be before seed_timeend (${end})` });
  }

  // captures: context and join templates need captures of every table pattern
  const tables = Array.isArray(data.tables) ? data.tables.map(asObject) : [];
  const tableCaptures = tables.map((t) => (t && typeof t.pattern === 'string' && !regexError(t.pattern) ? captureNames(t.pattern) : t && typeof t.pattern === 'string' ? undefined : []));
  const missingCapture = (name: string): string | undefined => {
    for (let i = 0; i < tables.length; i++) {
      const caps = tableCaptures[i];
      if (caps === undefined || caps.includes(name)) continue;
      const where = typeof tables[i]?.pattern === 'string' ? `tables[${i}].pattern` : `tables[${i}] (a plain name)`;
      return `\`${name}\` is not a named capture of ${where}${didYouMean(name, caps)}${caps.length ? ` (captures: ${caps.join(', ')})` : ' (it has none)'}`;
    }
    return undefined;
  };
  const context = asObject(data.context);
  for (const which of ['sitemask', 'subsite']) {
    const cv = asObject(context?.[which]);
    if (cv && typeof cv.capture === 'string') {
      const problem = missingCapture(cv.capture);
      if (problem) issues.push({ segments: ['context', which, 'capture'], code: 'REGIME_CAPTURE', message: problem });
    }
  }
  tables.forEach((t, i) => {
    // succession templates name older tables by the captures of this entry's pattern
    const older = Array.isArray(t?.succession) ? t!.succession : [];
    older.forEach((tmpl, n) => {
      if (typeof tmpl !== 'string' || tableCaptures[i] === undefined) return;
      const segments = ['tables', i, 'succession', n];
      for (const m of tmpl.matchAll(/\{([^{}]*)\}/g)) {
        if (!tableCaptures[i]!.includes(m[1])) {
          issues.push({ segments, pos: positionInString(src, segments, m.index!), code: 'REGIME_CAPTURE', message: `\`{${m[1]}}\` is not a named capture of tables[${i}].pattern${didYouMean(m[1], tableCaptures[i]!)} (captures: ${tableCaptures[i]!.join(', ') || 'none'})` });
        }
      }
    });
    const joins = Array.isArray(t?.join) ? t!.join : [];
    joins.forEach((j, k) => {
      const table = asObject(j)?.table;
      if (tableCaptures[i] === undefined) return;
      // one template, or a list of candidate spellings (each checked where it stands)
      const templates: Array<[string, Array<string | number>]> =
        typeof table === 'string' ? [[table, ['tables', i, 'join', k, 'table']]] : Array.isArray(table) ? table.flatMap((t, n) => (typeof t === 'string' ? [[t, ['tables', i, 'join', k, 'table', n]] as [string, Array<string | number>]] : [])) : [];
      for (const [tmpl, segments] of templates) {
        for (const m of tmpl.matchAll(/\{([^{}]*)\}/g)) {
          if (!tableCaptures[i]!.includes(m[1])) {
            issues.push({
              segments,
              pos: positionInString(src, segments, m.index!),
              code: 'REGIME_CAPTURE',
              message: `\`{${m[1]}}\` is not a named capture of tables[${i}].pattern${didYouMean(m[1], tableCaptures[i]!)} (captures: ${tableCaptures[i]!.join(', ') || 'none'})`,
            });
          }
        }
      }
    });
  });
  const unpivot = asObject(data.unpivot);
  if (unpivot && typeof unpivot.pattern === 'string' && !regexError(unpivot.pattern)) {
    const common = tableCaptures.every((c) => c !== undefined) && tableCaptures.length
      ? tableCaptures.reduce((a, b) => a!.filter((x) => b!.includes(x)))!
      : [];
    const allowed = ['column', ...captureNames(unpivot.pattern), ...common];
    for (const [field, tmpl] of Object.entries(asObject(unpivot.values) ?? {})) {
      if (typeof tmpl !== 'string') continue;
      for (const m of tmpl.matchAll(/\{([^{}]*)\}/g)) {
        if (!allowed.includes(m[1])) {
          issues.push({
            segments: ['unpivot', 'values', field],
            pos: positionInString(src, ['unpivot', 'values', field], m.index!),
            code: 'REGIME_CAPTURE',
            message: `\`{${m[1]}}\` is neither \`{column}\` nor a named capture of unpivot.pattern or the table pattern${didYouMean(m[1], allowed)} (captures: ${allowed.slice(1).join(', ') || 'none'})`,
          });
        }
      }
    }
  }

  // maps and change rules are functions of the source alone: no clock, no chance (the faker's
  // expressions make test data and may use both)
  const deterministic = (segments: Array<string | number>, expr: unknown, what: string): void => {
    if (typeof expr !== 'string') return;
    for (const use of nondeterministicUses(expr)) {
      issues.push({
        segments,
        pos: positionInString(src, segments, use.index),
        code: 'REGIME_NONDETERMINISTIC',
        message: `${use.name} depends on ${use.name === '$random' ? 'chance' : 'the clock'}, not on the source: ${what} must give the same target for the same source rows`,
      });
    }
  };
  (Array.isArray(data.changes) ? data.changes : []).forEach((c, i) => deterministic(['changes', i, 'when'], asObject(c)?.when, 'a change rule'));
  (Array.isArray(data.targets) ? data.targets : []).forEach((t, i) => {
    for (const [attr, expr] of Object.entries(asObject(asObject(t)?.map) ?? {})) deterministic(['targets', i, 'map', attr], expr, 'a mapping');
  });

  // faker columns are keyed by regular expressions
  const fakerColumns = asObject(asObject(data.faker)?.columns);
  for (const key of Object.keys(fakerColumns ?? {})) {
    const problem = regexError(key);
    if (problem) issues.push({ segments: ['faker', 'columns', key], code: 'REGIME_REGEX', useKey: true, message: `bad regular expression: ${problem}` });
  }
  return issues;
}
