/*
 * Child writer for the DBI process tests: plain node against the compiled dist/.
 * argv[2] is JSON: { url, table, mode: 'many' | 'hang', count, subsite, stage, props, rows }.
 *  many: prints "ready", waits for "go" on stdin, does `count` writes of one validity each,
 *        prints "seqnos <json>" and exits.
 *  hang: writes `props` validities of `rows` payload rows in one batch; at probe `stage` prints
 *        "inside <seqnos>" and then waits forever (the parent kills it mid-transaction).
 */
'use strict';
const path = require('path');
const dist = path.resolve(__dirname, '..', '..', 'dist', 'engine');
const { parseDatabaseUrl } = require(path.join(dist, 'config', 'dbconf.js'));
const { openDatabase } = require(path.join(dist, 'db', 'open-database.js'));
const { parseSpec } = require(path.join(dist, 'spec', 'spec-table.js'));
const { DbiWriter } = require(path.join(dist, 'dbi', 'dbi-writer.js'));

const args = JSON.parse(process.argv[2]);
const spec = parseSpec(
  [
    'table | meta | legacy | CanL2Cache | class',
    `${args.table} | 1 | ${args.table} | kFALSE | G${args.table}`,
    ';',
    'name | dbtype | codetype | description',
    'value | float | double | a reading',
    'label | varchar(16) | string | a label',
  ].join('\n'),
  `${args.table}.spec`,
);

function pad(n) {
  return String(n).padStart(2, '0');
}
/** UTC text of 2011-02-01 00:00:00 + i minutes. */
function minute(i) {
  const d = new Date(Date.UTC(2011, 1, 1) + i * 60000);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

async function main() {
  const db = openDatabase(parseDatabaseUrl(args.url));
  const context = { sitemask: 32, simmask: 1, subsite: args.subsite, task: 0, aggregateno: -1 };
  if (args.mode === 'many') {
    const writer = new DbiWriter(db, spec);
    await db.raw('select 1');
    process.stdout.write('ready\n');
    await new Promise((resolve) => process.stdin.once('data', resolve));
    process.stdin.destroy();
    const seqnos = [];
    for (let i = 0; i < args.count; i++) {
      const rows = [1, 2, 3].map((k) => ({ value: i * 10 + k, label: `s${args.subsite}w${i}r${k}` }));
      const [seqno] = await writer.write([{ timestart: minute(i), timeend: minute(i + 1), context, rows }]);
      seqnos.push(seqno);
    }
    process.stdout.write(`seqnos ${JSON.stringify(seqnos)}\n`);
    await db.destroy();
    process.exit(0);
  }
  const writer = new DbiWriter(db, spec, {
    probe: async (stage, seqnos) => {
      if (stage !== args.stage) return;
      process.stdout.write(`inside ${JSON.stringify([seqnos[0], seqnos[seqnos.length - 1]])}\n`);
      await new Promise(() => setInterval(() => undefined, 1000));
    },
  });
  const props = [];
  for (let i = 0; i < args.props; i++) {
    const rows = [];
    for (let r = 0; r < args.rows; r++) rows.push({ value: r, label: `p${i}r${r}` });
    props.push({ timestart: minute(100 + i), timeend: minute(101 + i), context, rows });
  }
  await writer.write(props);
  process.stdout.write('committed\n');
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
  process.exit(3);
});
