import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { resolveDatabase } from '../../engine/config/dbconf';
import { openDatabase } from '../../engine/db/open-database';
import { DIALECTS, MARIADB_URL, createTestDatabase } from '../support/databases';

/**
 * A ~/.my.cnf as operators write it ([client] credentials with inline comments, a quoted password
 * holding `#`, the section naming only the database) connects: as the user the real `mariadb`
 * client connects as from the same file.
 */

function onPath(...names: string[]): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    for (const name of names) {
      const p = path.join(dir, name);
      if (fs.existsSync(p)) return p;
    }
  }
  return undefined;
}

const CLIENT = onPath('mariadb', 'mysql');

describe.each(DIALECTS)('a dbconf file with [client] defaults, on %s', (dialect) => {
  it('connects with the [client] credentials and the section\'s own keys', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-dbconf-connect-'));
    const t = await createTestDatabase(dialect, 'dbconf_client');
    const user = `scrape_dbconf_${process.pid}`;
    const password = "p#ss w0rd;'x";
    try {
      const file = path.join(dir, 'my.cnf');
      if (dialect === 'sqlite') {
        // [client] (for the mysql client) must not turn a URL section into something else
        fs.writeFileSync(file, `[client]\nuser = ${user}   # for the mysql client\npassword = "secret"\n\n[src]\nurl = sqlite:${t.location.filename}   # the test database\n`, { mode: 0o600 });
        await t.db.raw('CREATE TABLE probe (x INTEGER)');
        await t.db('probe').insert({ x: 7 });
        const loc = resolveDatabase('src', { dbconf: file, env: {}, home: dir, projectRoot: dir });
        expect(loc).toMatchObject({ dialect: 'sqlite', filename: t.location.filename });
        const db = openDatabase(loc, { readOnly: true, poolMax: 1 });
        try {
          expect(await db('probe').select('x')).toEqual([{ x: 7 }]);
        } finally {
          await db.destroy();
        }
        return;
      }
      if (!CLIENT) throw new Error('neither mariadb nor mysql (the MariaDB client) is on PATH: install mariadb-client to run this test');
      const server = new URL(MARIADB_URL);
      await t.db.raw(`DROP USER IF EXISTS '${user}'@'%'`);
      await t.db.raw(`CREATE USER '${user}'@'%' IDENTIFIED BY ?`, [password]);
      await t.db.raw(`GRANT SELECT ON \`${t.location.database}\`.* TO '${user}'@'%'`);
      fs.writeFileSync(
        file,
        [
          '[client]',
          `user = ${user}   # the operator`,
          `password = "p#ss w0rd;\\'x"   # quoted: the # is part of it`,
          `host = ${server.hostname}   # loopback`,
          `port = ${server.port || 3306}`,
          '',
          '[dcs]',
          `database = ${t.location.database}`,
          '',
        ].join('\n'),
        { mode: 0o600 },
      );
      const mysql = spawnSync(CLIENT, [`--defaults-file=${file}`, '-N', '-B', '-e', 'SELECT CURRENT_USER()'], { encoding: 'utf8' });
      expect(mysql.stderr).toBe('');
      expect(mysql.stdout.trim()).toBe(`${user}@%`);

      const loc = resolveDatabase('dcs', { dbconf: file, env: {}, home: dir, projectRoot: dir });
      expect(loc).toMatchObject({ user, password, database: t.location.database });
      const db = openDatabase(loc, { readOnly: true, poolMax: 1 });
      try {
        const [rows] = await db.raw('SELECT CURRENT_USER() AS u, DATABASE() AS d');
        expect(rows[0]).toEqual({ u: `${user}@%`, d: t.location.database });
      } finally {
        await db.destroy();
      }
    } finally {
      if (dialect === 'mariadb') await t.db.raw(`DROP USER IF EXISTS '${user}'@'%'`);
      await t.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
