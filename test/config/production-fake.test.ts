import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseDatabaseUrl, resolveDatabase } from '../../engine/config/dbconf';
import { assertFakeDatabase } from '../../engine/faker/faker';
import { isScrapeError } from '../../engine/core/errors';

/** Resolves `name` from a dbconf file holding `text` only (no ~/.my.cnf, no shipped file). */
function resolveFrom(text: string, name: string) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-dbconf-'));
  const dbconf = path.join(dir, 'my.ini');
  fs.writeFileSync(dbconf, text, { mode: 0o600 });
  try {
    return resolveDatabase(name, { dbconf, env: {}, home: dir, projectRoot: dir });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (err) {
    return isScrapeError(err) ? err.code : String(err);
  }
  return undefined;
}

describe('a production database is never fake', () => {
  it('a section named offline_db, or marked production, with fake = true is DBCONF_PRODUCTION_FAKE when resolved', () => {
    expect(code(() => resolveFrom('[offline_db]\nhost = 127.0.0.1\ndatabase = offline_db\nfake = true\n', 'offline_db'))).toBe('DBCONF_PRODUCTION_FAKE');
    expect(code(() => resolveFrom('[offline_db]\nurl = sqlite:x.sqlite\nfake = true\n', 'offline_db'))).toBe('DBCONF_PRODUCTION_FAKE');
    expect(code(() => resolveFrom('[prod]\ndatabase = dbi\nproduction = true\nfake = yes\n', 'prod'))).toBe('DBCONF_PRODUCTION_FAKE');
    // a database name starting with fake makes it fake too
    expect(code(() => resolveFrom('[offline_db]\ndatabase = fake_offline\n', 'offline_db'))).toBe('DBCONF_PRODUCTION_FAKE');
    expect(code(() => parseDatabaseUrl('mysql://u@h/dbi?production=true&fake=true'))).toBe('DBCONF_PRODUCTION_FAKE');
    const message = (() => {
      try {
        resolveFrom('[offline_db]\ndatabase = offline_db\nfake = true\n', 'offline_db');
      } catch (err) {
        return (err as Error).message;
      }
      return '';
    })();
    expect(message).toMatch(/offline_db \(from .*my\.ini \[offline_db\]\) is a production database \(named offline_db\) and cannot also be fake \(fake = true\)/);
  });

  it('either flag alone resolves as before', () => {
    expect(resolveFrom('[offline_db]\ndatabase = offline_db\n', 'offline_db')).toMatchObject({ production: true, fake: false });
    expect(resolveFrom('[src]\ndatabase = dcs\nfake = true\n', 'src')).toMatchObject({ production: false, fake: true });
  });

  it('the faker refuses a production location even when it says fake (built by hand, not by dbconf)', () => {
    const loc = { ...parseDatabaseUrl('sqlite::memory:'), name: 'offline_db', fake: true, production: true };
    expect(code(() => assertFakeDatabase(loc))).toBe('FAKER_NOT_FAKE');
    expect(code(() => assertFakeDatabase({ ...loc, production: false }))).toBeUndefined();
  });
});
