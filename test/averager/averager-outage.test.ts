import * as net from 'net';
import { Knex } from 'knex';
import { openDatabase } from '../../engine/db/open-database';
import { parseDatabaseUrl } from '../../engine/config/dbconf';
import { loadRegime } from '../../engine/config/load-regime';
import { MemoryLogger, silentLogger } from '../../engine/core/logger';
import { runAverager } from '../../engine/averager/averager';
import { createTestDatabase, MARIADB_URL, TestDatabase } from '../support/databases';
import { ROOT, targetContent } from '../ops/ops-support';
import { createLidTable, insertLidRows, lidRows } from './lid-fixture';

/**
 * A TCP proxy in front of MariaDB that parses the MySQL packets the server sends and, for chosen
 * large result sets, forwards the first `rowsBeforeCut` row packets and then drops the
 * connection (both sides) — deterministically in the middle of a streamed read, not by timing.
 *
 * A "row packet" is any server packet whose first payload byte is not 0x00 (OK), 0xFE (EOF) or
 * 0xFF (ERR): in the text protocol (`conn.query`, what knex and the engine use) a row starts with
 * the length of its first value (`id`: 1-6 digits) or 0xFB (NULL). A run of `rowsBeforeCut`
 * consecutive such packets can only be a result set's rows (column definitions number ~20 and are
 * followed by an EOF); each run that reaches the threshold is one "large result", numbered from 1
 * across all connections through the proxy.
 */
class ResultCutProxy {
  private server = net.createServer((client) => this.accept(client));
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  /** Large results seen so far (runs of `rowsBeforeCut` row packets). */
  largeResults = 0;
  /** Each cut: the large result's number and the row packets forwarded before the drop. */
  readonly cuts: { result: number; rowsForwarded: number }[] = [];

  constructor(
    private readonly upstream: { host: string; port: number },
    private readonly rowsBeforeCut: number,
    /** Which large results (1-based, in the order they reach the threshold) are cut. */
    private readonly resultsToCut: number[],
  ) {}

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    const server = net.connect(this.upstream.port, this.upstream.host);
    let dead = false;
    for (const s of [client, server]) {
      this.sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        this.sockets.delete(s);
        dead = true;
        client.destroy();
        server.destroy();
      });
    }
    client.on('data', (data) => {
      if (!dead) server.write(data);
    });
    // packet parser state of the server → client stream
    const header: number[] = [];
    let remaining = 0; // payload bytes of the current packet still to come
    let firstPending = false; // the current packet's first payload byte not seen yet
    let run = 0; // consecutive row packets
    server.on('data', (data: Buffer) => {
      if (dead) return;
      let i = 0;
      while (i < data.length) {
        if (remaining === 0 && !firstPending) {
          header.push(data[i++]);
          if (header.length < 4) continue;
          remaining = header[0] | (header[1] << 8) | (header[2] << 16);
          header.length = 0;
          firstPending = remaining > 0;
          continue;
        }
        if (firstPending) {
          const b = data[i];
          firstPending = false;
          if (b === 0x00 || b === 0xfe || b === 0xff) {
            run = 0;
          } else if (++run === this.rowsBeforeCut) {
            this.largeResults++;
            if (this.resultsToCut.includes(this.largeResults)) {
              // forward up to the end of this (the threshold's) row packet, then drop everything
              const end = Math.min(data.length, i + remaining);
              this.cuts.push({ result: this.largeResults, rowsForwarded: run });
              dead = true;
              client.write(data.subarray(0, end), () => {
                client.destroy();
                server.destroy();
              });
              return;
            }
          }
        }
        const step = Math.min(remaining, data.length - i);
        remaining -= step;
        i += step;
      }
      client.write(data);
    });
  }
}

/** Rejects with `message` when `promise` has not settled within `ms`: a hang fails the test instead of stalling it. */
function within<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/**
 * The averager's source connection drops in the middle of a streamed chunk read (after the first
 * 2000 rows of a day's ~8 600 have arrived), twice: the read fails instead of waiting forever, the
 * pass is retried with backoff, the stream resumes from the target, and the target equals that of
 * an uninterrupted run. MariaDB only (it needs a network between the averager and its source).
 */
describe('averager: source connection cut in the middle of a streamed read (mariadb)', () => {
  const upstream = new URL(MARIADB_URL);
  const ROWS_BEFORE_CUT = 2000;
  // the 2nd and 4th large results: the first cut after a chunk was read whole, the second after
  // the retry has read again
  const proxy = new ResultCutProxy({ host: upstream.hostname, port: Number(upstream.port || 3306) }, ROWS_BEFORE_CUT, [2, 4]);
  const proxied = (url: string) => url.replace(`${upstream.hostname}:${upstream.port || 3306}`, `127.0.0.1:${proxy.port}`);
  const loaded = loadRegime('adlid', { cwd: ROOT, env: {} });
  const spec = loaded.specs.get('GDcsAdLidSensor')!;
  const DAYS = 5;
  let source: TestDatabase;
  let target: TestDatabase;
  let reference: TestDatabase;

  beforeAll(async () => {
    await proxy.start();
    source = await createTestDatabase('mariadb', 'fake_avg_cut_src');
    target = await createTestDatabase('mariadb', 'avg_cut_t');
    reference = await createTestDatabase('mariadb', 'avg_cut_ref');
    await createLidTable(source.db, 'AD1_LidSensor');
    await insertLidRows(source.db, 'AD1_LidSensor', lidRows('2012-02-01 00:00:03', DAYS * 86_400 + 1800, 41));
  }, 60_000);

  afterAll(async () => {
    await proxy.stop();
    for (const d of [source, target, reference]) await d?.drop();
  });

  it('fails the cut read, retries, resumes, and writes exactly what an uninterrupted run writes', async () => {
    // Every day chunk holds far more rows than the cut threshold (SQL, not the engine): a cut
    // after ROWS_BEFORE_CUT rows of a chunk's read is in the middle of its result.
    const [perDay] = await source.db.raw(
      "SELECT DATE(date_time) AS d, COUNT(*) AS n FROM AD1_LidSensor WHERE date_time >= '2010-01-01' GROUP BY d ORDER BY d",
    );
    const fullDays = (perDay as { d: unknown; n: number }[]).slice(0, DAYS);
    expect(fullDays).toHaveLength(DAYS);
    for (const day of fullDays) expect(Number(day.n)).toBeGreaterThan(3 * ROWS_BEFORE_CUT);

    const srcLocation = parseDatabaseUrl(proxied(source.url));
    const src: Knex = openDatabase(srcLocation, { readOnly: true, decimalNumbers: true });
    const logger = new MemoryLogger();
    const abort = new AbortController();
    try {
      await within(
        runAverager({
          regime: loaded.regime, specs: loaded.specs, source: src, target: target.db, targetLocation: target.location, logger,
          untilCaughtUp: true, allowCreate: true, signal: abort.signal, backoff: { initialMs: 10, maxMs: 50 },
        }),
        30_000,
        () => `the averager did not finish within 30 s after its source connection was cut mid-read (cuts: ${JSON.stringify(proxy.cuts)}, large results ${proxy.largeResults}): it hangs; log:\n${logger.messages().slice(-8).join('\n')}`,
      );
    } finally {
      abort.abort();
      await proxy.stop().catch(() => undefined); // frees a read still waiting on a dead connection
      await within(src.destroy(), 5_000, () => 'source pool did not close').catch(() => undefined);
    }

    // Both cuts really happened, each in the middle of a large result.
    expect(proxy.cuts).toEqual([
      { result: 2, rowsForwarded: ROWS_BEFORE_CUT },
      { result: 4, rowsForwarded: ROWS_BEFORE_CUT },
    ]);
    // The loss was seen as such and recovered from (one line per state change: the second cut may
    // come while still recovering from the first, so one or two of each), not a failure of the run.
    const lost = logger.messages().filter((m) => /connection lost/.test(m));
    const back = logger.messages().filter((m) => /connection back after/.test(m));
    expect(lost.length).toBeGreaterThanOrEqual(1);
    expect(lost.length).toBeLessThanOrEqual(2);
    expect(back).toHaveLength(lost.length);

    await runAverager({
      regime: loaded.regime, specs: loaded.specs, source: source.db, target: reference.db, targetLocation: reference.location,
      logger: silentLogger, untilCaughtUp: true, allowCreate: true,
    });
    const expected = await targetContent(reference.db, spec);
    // DAYS days + 30 min from 00:00:03: DAYS*24 complete hours (an hour may be empty of good rows: at least DAYS*24-5)
    expect(expected.vld.length).toBeGreaterThan(DAYS * 24 - 5);
    expect(expected.vld.length).toBeLessThanOrEqual(DAYS * 24);
    const actual = await targetContent(target.db, spec);
    expect(actual.vld.length).toBe(expected.vld.length);
    expect(actual).toEqual(expected);
  }, 120_000);
});
