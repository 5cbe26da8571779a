import { isScrapeError } from '../core/errors';
import { DbconfOptions, resolveDatabase } from './dbconf';
import { RegimeCheck } from './check-regime-file';
import { Issue, asObject } from './regime-issue';
import { nodeAt } from './yaml-positions';

/**
 * A regime check (for `checkRegimeFile`) that the databases a regime names can be found as
 * `scrape run` would look them up: `source`, `target` and `faker.source` must be URLs that parse
 * or dbconf sections of the files that would be read (`--dbconf`, `$SCRAPE_DBCONF`, `~/.my.cnf`,
 * the shipped `dbconf.ini`). Each problem is the lookup's own error (`DBCONF_SECTION` naming
 * the section and the files searched, `DBCONF_FILE`, `DBCONF_URL`, `DBCONF_PRODUCTION_FAKE`)
 * at the key; what the lookup warns about (a password file readable by others) is a warning.
 */
export function dbconfIssues(options: DbconfOptions): RegimeCheck {
  return (data, { src }) => {
    const issues: Issue[] = [];
    const keys: Array<Array<string>> = [['source'], ['target'], ['faker', 'source']];
    for (const segments of keys) {
      const parent = segments.length === 1 ? data : asObject(data[segments[0]]);
      const name = parent?.[segments[segments.length - 1]];
      if (typeof name !== 'string' || name === '') continue;
      const given = nodeAt(src.doc, segments).depth === segments.length;
      const what = `'${name}'${given ? '' : ' (the default)'}`;
      try {
        const location = resolveDatabase(name, options);
        for (const warning of location.warnings) issues.push({ segments, code: 'DBCONF_FILE', severity: 'warning', message: `${what}: ${warning}` });
      } catch (err) {
        if (!isScrapeError(err)) throw err;
        issues.push({ segments, code: err.code, message: `${what}: ${err.message}` });
      }
    }
    return issues;
  };
}
