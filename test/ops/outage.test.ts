import * as net from 'net';
import { Knex } from 'knex';
import { openDatabase } from '../../engine/db/open-database';
import { parseDatabaseUrl } from '../../engine/config/dbconf';
import { loadRegime } from '../../engine/config/load-regime';
import { MemoryLogger, silentLogger } from '../../engine/core/logger';
import { Regime } from '../../engine/config/regime';
import { runScraper } from '../../engine/scraper/scraper';
import { createTestDatabase, MARIADB_URL, TestDatabase } from '../support/databases';
import { localPlus } from '../support/source-fixture';
import { runAverager } from '../../engine/averager/averager';
import { createLidTable, insertLidRows, lidRows, timeOf } from '../averager/lid-fixture';
import { ADTEMP_YAML, fillAdTempSource, ROOT, spawnScrape, targetContent } from './ops-support';

/** True when `data` is a MySQL COM_QUERY packet whose statement is COMMIT. */
const isCommit = (data: Buffer): boolean => data.length >= 11 && data[4] === 0x03 && data.subarray(5, 11).toString('latin1').toUpperCase() === 'COMMIT';

/** True when `data` is a MySQL COM_QUERY packet of a keyset page read (`… ORDER BY … LIMIT …`). */
const isPageRead = (data: Buffer): boolean => data.length > 5 && data[4] === 0x03 && /^SELECT [\s\S]* ORDER BY [\s\S]* LIMIT \d+$/.test(data.subarray(5).toString('utf8'));

/**
 * A TCP proxy to MariaDB that can cut every connection and refuse new ones for a while, or let
 * a COMMIT through and drop the connection before its reply comes back.
 */
class OutageProxy {
  private server = net.createServer((client) => this.accept(client));
  private sockets = new Set<net.Socket>();
  port = 0;
  constructor(private readonly upstream: { host: string; port: number }) {}

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  private frozen = false;

  private accept(client: net.Socket): void {
    if (this.frozen) {
      // a silently dropping network: the connection opens, nothing ever comes back
      this.sockets.add(client);
      client.on('error', () => undefined);
      client.on('close', () => this.sockets.delete(client));
      client.pause();
      return;
    }
    const server = net.connect(this.upstream.port, this.upstream.host);
    for (const s of [client, server]) {
      this.sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        this.sockets.delete(s);
        client.destroy();
        server.destroy();
      });
    }
    // the reply to a COMMIT that the server received (and executed) is dropped with the connection
    let dropReply = false;
    // a page read cut after the first part of its rows reached the client
    let cutResult = false;
    client.on('data', (data) => {
      if (this.commitsToLose > 0 && isCommit(data)) {
        this.commitsToLose--;
        dropReply = true;
      }
      if (this.readsToCut > 0 && isPageRead(data)) {
        this.readsToCut--;
        cutResult = true;
      }
      server.write(data);
    });
    server.on('data', (data) => {
      if (cutResult) {
        this.readsCut++;
        client.write(data, () => {
          client.destroy();
          server.destroy();
        });
        return;
      }
      if (!dropReply) {
        client.write(data);
        return;
      }
      this.repliesLost++;
      client.destroy();
      server.destroy();
    });
  }

  private commitsToLose = 0;
  private readsToCut = 0;
  /** Page reads whose connection was dropped after their first rows had arrived. */
  readsCut = 0;

  /** The next keyset page read gets its first rows, then its connection drops. */
  cutNextPageRead(): void {
    this.readsToCut = 1;
  }
  /** COMMITs executed whose reply the client never got. */
  repliesLost = 0;

  /** The next COMMIT reaches the server and is executed; its reply never reaches the client, whose connection drops. */
  loseNextCommitReply(): void {
    this.commitsToLose = 1;
  }

  /** Drops every connection and refuses new ones (the port is closed) for `ms`. */
  async outage(ms: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
    await new Promise((r) => setTimeout(r, ms));
    this.server = net.createServer((client) => this.accept(client));
    await this.start();
  }

  /** Stops forwarding anything, both ways, on every connection old and new, without closing one. */
  freeze(): void {
    this.frozen = true;
    for (const s of this.sockets) s.pause();
  }

  /** Ends a freeze: drops the frozen connections (as the network coming back with resets would). */
  thaw(): void {
    this.frozen = false;
    for (const s of this.sockets) s.destroy();
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Stops an in-process run (abort, wait for it to return) and closes its connections. */
async function stopRun(abort: AbortController, run: Promise<unknown>, ...dbs: Knex[]): Promise<void> {
  abort.abort();
  await run;
  for (const db of dbs) await db.destroy();
}

const count = async (db: Knex) => Number((await db('DcsAdTempVld').count({ n: '*' }))[0].n);

const until = async (what: string, test: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

/**
 * Outage (issue 5): a proxy between the scraper and MariaDB drops every connection and refuses
 * new ones for 10 s, three times (during catch-up and while live); the scraper never stops, logs
 * one line per state change, and the target equals that of an uninterrupted run. MariaDB only.
 */
describe('outage: connections dropped for 10 s (mariadb)', () => {
  const upstream = new URL(MARIADB_URL);
  const proxy = new OutageProxy({ host: upstream.hostname, port: Number(upstream.port || 3306) });
  let source: TestDatabase;
  let target: TestDatabase;
  let reference: TestDatabase;
  const loaded = loadRegime(ADTEMP_YAML, { cwd: ROOT, env: {} });
  const spec = loaded.specs.get('GDcsAdTemp')!;
  const proxied = (url: string) => url.replace(`${upstream.hostname}:${upstream.port || 3306}`, `127.0.0.1:${proxy.port}`);
  const INITIAL = 40_000;
  const START = '2011-02-01 00:00:00';

  beforeAll(async () => {
    await proxy.start();
    source = await createTestDatabase('mariadb', 'fake_outage_src');
    target = await createTestDatabase('mariadb', 'outage_t');
    reference = await createTestDatabase('mariadb', 'outage_ref');
    await fillAdTempSource(source.db, INITIAL, 5);
  }, 60_000);

  afterAll(async () => {
    await proxy.stop();
    for (const d of [source, target, reference]) await d?.drop();
  });

  it('retries through three outages, never exits, loses and duplicates nothing', async () => {
    // Small pages: the catch-up lasts long enough to be cut.
    const regime: Regime = { ...loaded.regime, scraper: { ...loaded.regime.scraper, page_size: 200 } };
    const src = openDatabase(parseDatabaseUrl(proxied(source.url)), { readOnly: true });
    const tgt = openDatabase(parseDatabaseUrl(proxied(target.url)));
    const logger = new MemoryLogger();
    // When each outage began and when each recovery line was logged (test clock, ms).
    const cutAt: number[] = [];
    const backAt: number[] = [];
    const log = logger.log.bind(logger);
    logger.log = (level, message, fields) => {
      if (/connection back after/.test(message)) backAt.push(Date.now());
      log(level, message, fields);
    };
    const cut = (ms: number) => {
      cutAt.push(Date.now());
      return proxy.outage(ms);
    };
    const abort = new AbortController();
    let caughtUp = false;
    let propagated = 0;
    let exited: string | undefined;
    const run = runScraper({
      regime, specs: loaded.specs, source: src, target: tgt, targetLocation: parseDatabaseUrl(proxied(target.url)), logger,
      signal: abort.signal, allowCreate: true, seed: false, backoff: { initialMs: 250, maxMs: 2000 },
      observer: { step: (_r, step) => (caughtUp = step.caughtUp), propagation: () => propagated++ },
    }).then(
      () => (exited = 'returned'),
      (err) => (exited = `threw ${err}`),
    );
    const lost = () => logger.messages().filter((m) => /connection lost/.test(m));
    const back = () => logger.messages().filter((m) => /connection back after/.test(m));
    try {
      // 1: during catch-up.
      await until('first writes', async () => (await target.db.schema.hasTable('DcsAdTempVld')) && (await count(target.db)) > 0);
      expect(caughtUp).toBe(false);
      const atCut = await count(target.db);
      await cut(10_000);
      await until('recovery 1', () => back().length === 1);
      await until('catch-up', () => caughtUp);
      expect(await count(target.db)).toBeGreaterThan(atCut);
      // 2: live, with new source rows arriving during the outage.
      const cut2 = cut(10_000);
      await fillAdTempSource(source.db, 3000, 6, localPlus(START, 10 * INITIAL), false, INITIAL + 1);
      await cut2;
      await until('recovery 2', () => back().length === 2);
      // 3: live again, rows first, cut while they are being read.
      await fillAdTempSource(source.db, 3000, 7, localPlus(START, 10 * (INITIAL + 3000)), false, INITIAL + 3001);
      await cut(10_000);
      await until('recovery 3', () => back().length === 3);
      await until('caught up at the end', () => caughtUp);
      expect(exited).toBeUndefined();
    } finally {
      await stopRun(abort, run, src, tgt);
    }
    expect(exited).toBe('returned');
    // One line per state change, not per retry.
    expect(lost()).toHaveLength(3);
    expect(back()).toHaveLength(3);
    for (const line of back()) expect(line).toMatch(/^database connection back after (\d+\.\d) s, (\d+) retries$/);
    const seconds = back().map((l) => Number(/after (\S+) s/.exec(l)![1]));
    // Each recovery comes after its outage ended, never during it; the reported duration runs from
    // the first failure the scraper saw (a query in flight at the cut, or the first after a sleep;
    // a connect caught in the cut may take its 10 s timeout to fail), so it is at most the outage
    // as the test saw it.
    for (let i = 0; i < 3; i++) {
      const observed = (backAt[i] - cutAt[i]) / 1000;
      expect(observed).toBeGreaterThanOrEqual(9.9);
      expect(seconds[i]).toBeGreaterThan(0);
      expect(seconds[i]).toBeLessThanOrEqual(observed + 0.1);
    }

    await runScraper({ regime: loaded.regime, specs: loaded.specs, source: source.db, target: reference.db, targetLocation: reference.location, logger: silentLogger, untilCaughtUp: true, allowCreate: true, seed: false });
    const expected = await targetContent(reference.db, spec);
    const actual = await targetContent(target.db, spec);
    expect(actual).toEqual(expected);
    // metrics count each validity once, though steps cut by the outages were redone
    expect(propagated).toBe(actual.vld.length);
  }, 120_000);

  it('scrape run: SIGTERM while running and during an outage exits 0 within 5 s (compiled CLI)', async () => {
    const t = await createTestDatabase('mariadb', 'outage_sigterm');
    try {
      for (const duringOutage of [false, true]) {
        const run = spawnScrape(['run', ADTEMP_YAML, '--source', proxied(source.url), '--target', proxied(t.url), '--allow-drop-create-table']);
        let code: number | null | undefined;
        void run.exited.then((r) => (code = r.code));
        await until('caught up', () => code !== undefined || /done|timecursor/.test(run.output()), 30_000);
        await until('first writes', async () => code !== undefined || ((await t.db.schema.hasTable('DcsAdTempVld')) && (await count(t.db)) > 0), 30_000);
        let outage: Promise<void> | undefined;
        if (duringOutage) {
          outage = proxy.outage(10_000);
          await until('outage noticed', () => code !== undefined || /connection lost/.test(run.output()), 9_000);
        }
        expect(code).toBeUndefined(); // still running
        const t0 = Date.now();
        run.child.kill('SIGTERM');
        const r = await run.exited;
        const ms = Date.now() - t0;
        expect({ code: r.code, out: r.code === 0 ? '' : run.output() }).toEqual({ code: 0, out: '' });
        expect(ms).toBeLessThan(5000);
        await outage;
      }
    } finally {
      await t.drop();
    }
  }, 90_000);
  it('scrape run: SIGTERM while a query waits on a network that answers nothing exits 0 within 5 s, and the target stays whole', async () => {
    const t = await createTestDatabase('mariadb', 'outage_freeze');
    try {
      const run = spawnScrape(['run', ADTEMP_YAML, '--source', proxied(source.url), '--target', proxied(t.url), '--allow-drop-create-table', '--set', 'page_size=200']);
      let code: number | null | undefined;
      void run.exited.then((r) => (code = r.code));
      await until('first writes', async () => code !== undefined || ((await t.db.schema.hasTable('DcsAdTempVld')) && (await count(t.db)) > 0), 30_000);
      expect(code).toBeUndefined();
      proxy.freeze(); // mid-catch-up: the page read or write in flight never returns
      await new Promise((r) => setTimeout(r, 1000));
      expect(code).toBeUndefined(); // hanging, not failing
      const t0 = Date.now();
      run.child.kill('SIGTERM');
      const r = await run.exited;
      const ms = Date.now() - t0;
      expect({ code: r.code, ms: ms < 5000 }).toEqual({ code: 0, ms: true });
      expect(run.output()).toMatch(/shutdown: still waiting for the database 3\.5 s after the signal; exiting without it/);
      proxy.thaw();
      // the write that hung is rolled back once its connection drops: every validity has its payload, none a partial one
      await until('rollback', async () => {
        const [[open]] = await t.db.raw("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ? AND COMMAND <> 'Sleep' AND ID <> CONNECTION_ID()", [t.location.database!]);
        return Number(open.n) === 0;
      }, 30_000);
      const vld = await count(t.db);
      const [[payload]] = await t.db.raw('SELECT COUNT(DISTINCT SEQNO) AS n, COUNT(*) AS rows_ FROM DcsAdTemp');
      expect(Number(payload.n)).toBe(vld);
      expect(Number(payload.rows_)).toBe(vld); // adtemp: one payload row per validity
    } finally {
      proxy.thaw();
      await t.drop();
    }
  }, 90_000);
});

/**
 * The averager through the same kind of outage (issue 5: lost connections are retried, nothing
 * lost or written twice): live `runAverager` with a 1 s sleep, hourly bins completed by rows
 * added while the connections are cut for 10 s; it never exits, logs one line each way, and its
 * target equals an averaging of all the rows done directly afterwards. MariaDB only.
 */
describe('outage: the averager (mariadb)', () => {
  const upstream = new URL(MARIADB_URL);
  const proxy = new OutageProxy({ host: upstream.hostname, port: Number(upstream.port || 3306) });
  const proxied = (url: string) => url.replace(`${upstream.hostname}:${upstream.port || 3306}`, `127.0.0.1:${proxy.port}`);
  const loaded = loadRegime('adlid', { cwd: ROOT, env: {} });
  const spec = loaded.specs.get('GDcsAdLidSensor')!;
  let source: TestDatabase;
  let target: TestDatabase;
  let reference: TestDatabase;

  beforeAll(async () => {
    await proxy.start();
    source = await createTestDatabase('mariadb', 'fake_outage_avg_src');
    target = await createTestDatabase('mariadb', 'outage_avg_t');
    reference = await createTestDatabase('mariadb', 'outage_avg_ref');
    await createLidTable(source.db, 'AD1_LidSensor');
  }, 60_000);

  afterAll(async () => {
    await proxy.stop();
    for (const d of [source, target, reference]) await d?.drop();
  });

  it('retries through a 10 s outage while live, never exits, loses and duplicates nothing', async () => {
    // two days of rows now, a third day's rows (completing its bins) during the outage
    const rows = lidRows('2012-02-01 00:00:00', 3 * 86_400, 7);
    const cutAt = rows.findIndex((r) => timeOf(r) >= '2012-02-03 00:00:00');
    await insertLidRows(source.db, 'AD1_LidSensor', rows.slice(0, cutAt));
    const regime = { ...loaded.regime, averager: { ...loaded.regime.averager, sleep: '1s' } };
    const src = openDatabase(parseDatabaseUrl(proxied(source.url)), { readOnly: true, decimalNumbers: true });
    const tgt = openDatabase(parseDatabaseUrl(proxied(target.url)));
    const logger = new MemoryLogger();
    const abort = new AbortController();
    let exited: string | undefined;
    const run = runAverager({
      regime, specs: loaded.specs, source: src, target: tgt, targetLocation: parseDatabaseUrl(proxied(target.url)), logger,
      signal: abort.signal, allowCreate: true, backoff: { initialMs: 250, maxMs: 2000 },
    }).then(
      () => (exited = 'returned'),
      (err) => (exited = `threw ${err}`),
    );
    const vld = async () => ((await target.db.schema.hasTable('DcsAdLidSensorVld')) ? Number((await target.db('DcsAdLidSensorVld').count({ n: '*' }))[0].n) : 0);
    const back = () => logger.messages().filter((m) => /connection back after/.test(m));
    const lost = () => logger.messages().filter((m) => /connection lost/.test(m));
    try {
      // caught up on the first two days (their last hour completes only when a later entry exists)
      await until('the first days averaged', async () => (await vld()) >= 40, 60_000);
      const before = await vld();
      const cut = proxy.outage(10_000);
      await insertLidRows(source.db, 'AD1_LidSensor', rows.slice(cutAt));
      await cut;
      await until('recovery', () => back().length === 1, 60_000);
      await until('the third day averaged', async () => (await vld()) > before + 20, 60_000);
      expect(exited).toBeUndefined();
    } finally {
      await stopRun(abort, run, src, tgt);
    }
    expect(exited).toBe('returned');
    expect(lost()).toHaveLength(1);
    expect(back()).toHaveLength(1);
    await runAverager({ regime: loaded.regime, specs: loaded.specs, source: source.db, target: reference.db, targetLocation: reference.location, logger: silentLogger, untilCaughtUp: true, allowCreate: true });
    const expected = await targetContent(reference.db, spec);
    expect(expected.vld.length).toBeGreaterThan(60);
    expect(await targetContent(target.db, spec)).toEqual(expected);
  }, 120_000);
});

/**
 * A write whose COMMIT landed but whose reply was lost (the connection dropped in between): the
 * scraper cannot know it succeeded, retries, finds the validities in the target on resume, and
 * neither writes them twice nor leaves them out of its metrics. MariaDB only (it needs a network).
 */
describe('outage: a commit whose reply is lost (mariadb)', () => {
  const upstream = new URL(MARIADB_URL);
  const proxy = new OutageProxy({ host: upstream.hostname, port: Number(upstream.port || 3306) });
  const proxied = (url: string) => url.replace(`${upstream.hostname}:${upstream.port || 3306}`, `127.0.0.1:${proxy.port}`);
  const loaded = loadRegime(ADTEMP_YAML, { cwd: ROOT, env: {} });
  const spec = loaded.specs.get('GDcsAdTemp')!;
  let source: TestDatabase;
  let target: TestDatabase;
  let reference: TestDatabase;

  beforeAll(async () => {
    await proxy.start();
    source = await createTestDatabase('mariadb', 'fake_lostreply_src');
    target = await createTestDatabase('mariadb', 'lostreply_t');
    reference = await createTestDatabase('mariadb', 'lostreply_ref');
    await fillAdTempSource(source.db, 6000, 11);
  }, 60_000);

  afterAll(async () => {
    await proxy.stop();
    for (const d of [source, target, reference]) await d?.drop();
  });

  it('counts the validities the lost commit wrote once, writes them once, and the target equals an uninterrupted run', async () => {
    const regime: Regime = { ...loaded.regime, scraper: { ...loaded.regime.scraper, page_size: 200 } };
    const tgt = openDatabase(parseDatabaseUrl(proxied(target.url)));
    const logger = new MemoryLogger();
    let propagated = 0;
    let writes = 0;
    try {
      await runScraper({
        regime, specs: loaded.specs, source: source.db, target: tgt, targetLocation: parseDatabaseUrl(proxied(target.url)), logger,
        untilCaughtUp: true, allowCreate: true, seed: false, backoff: { initialMs: 50, maxMs: 200 },
        observer: {
          propagation: () => propagated++,
          write: () => {
            // the third page's commit: executed by the server, its reply lost
            if (++writes === 2) proxy.loseNextCommitReply();
          },
        },
      });
    } finally {
      await tgt.destroy();
    }
    expect(proxy.repliesLost).toBe(1);
    expect(logger.messages().filter((m) => /connection lost/.test(m))).toHaveLength(1);
    await runScraper({ regime: loaded.regime, specs: loaded.specs, source: source.db, target: reference.db, targetLocation: reference.location, logger: silentLogger, untilCaughtUp: true, allowCreate: true, seed: false });
    const expected = await targetContent(reference.db, spec);
    const actual = await targetContent(target.db, spec);
    expect(expected.vld.length).toBeGreaterThan(100);
    expect(actual).toEqual(expected);
    expect(propagated).toBe(actual.vld.length);
  }, 60_000);

  it('a page read whose connection drops after its first rows arrived fails, is retried, and the target equals an uninterrupted run', async () => {
    const cutTarget = await createTestDatabase('mariadb', 'cutread_t');
    const cutReference = await createTestDatabase('mariadb', 'cutread_ref');
    const src = openDatabase(parseDatabaseUrl(proxied(source.url)), { readOnly: true, decimalNumbers: true });
    const logger = new MemoryLogger();
    try {
      const regime: Regime = { ...loaded.regime, scraper: { ...loaded.regime.scraper, page_size: 2000 } };
      proxy.cutNextPageRead();
      await runScraper({ regime, specs: loaded.specs, source: src, target: cutTarget.db, targetLocation: cutTarget.location, logger, untilCaughtUp: true, allowCreate: true, seed: false, backoff: { initialMs: 50, maxMs: 200 } });
      expect(proxy.readsCut).toBe(1);
      expect(logger.messages().filter((m) => /connection lost/.test(m))).toHaveLength(1);
      await runScraper({ regime: loaded.regime, specs: loaded.specs, source: source.db, target: cutReference.db, targetLocation: cutReference.location, logger: silentLogger, untilCaughtUp: true, allowCreate: true, seed: false });
      const expected = await targetContent(cutReference.db, spec);
      expect(expected.vld.length).toBeGreaterThan(100);
      expect(await targetContent(cutTarget.db, spec)).toEqual(expected);
    } finally {
      await src.destroy();
      await cutTarget.drop();
      await cutReference.drop();
    }
  }, 60_000);
});
