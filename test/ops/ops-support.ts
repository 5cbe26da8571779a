import * as net from 'net';
import * as path from 'path';
import { ChildProcess, spawn } from 'child_process';
import { Knex } from 'knex';
import { projectRoot } from '../../engine/config/dbconf';
import { dumpTarget } from '../../engine/dbi/dbi-reader';
import { SpecTable } from '../../engine/spec/spec-table';
import { createSourceTable, insertRows, localPlus, prng } from '../support/source-fixture';
import { LockScope } from '../../engine/session/target-lock';
import { TestDatabase } from '../support/databases';

export const ROOT = projectRoot();
export const ADTEMP_YAML = path.join(ROOT, 'regimes.d', 'adtemp.yaml');
export const PT = [1, 2, 3, 4, 5].map((i) => `DBNS_SAB_Temp_PT${i}`);
/** The one (table, context) adtemp writes, by hand from regimes.d/adtemp.yaml (SAB: sitemask 32, subsite 1). */
export const ADTEMP_SCOPE: LockScope = { table: 'DcsAdTemp', context: { sitemask: 32, subsite: 1, simmask: 1, task: 0, aggregateno: -1 } };

/**
 * Creates `DBNS_SAB_Temp` with `count` rows, one every 10 s from `start` (local), each PT column a
 * random walk (steps of ±0.25, so the 1.0 threshold fires every few minutes and maxage sometimes).
 */
export async function fillAdTempSource(db: Knex, count: number, seed: number, start = '2011-02-01 00:00:00', create = true, firstId = 1): Promise<void> {
  if (create) await createSourceTable(db, 'DBNS_SAB_Temp', Object.fromEntries(PT.map((c) => [c, 'decimal(6,2)'])));
  const rnd = prng(seed);
  const values = PT.map((_, i) => 20 + i);
  const rows: Record<string, unknown>[] = [];
  for (let n = 0; n < count; n++) {
    const row: Record<string, unknown> = { id: firstId + n, date_time: localPlus(start, 10 * n) };
    PT.forEach((c, i) => {
      values[i] = Math.round((values[i] + (rnd() - 0.5) * 0.5) * 100) / 100;
      row[c] = values[i];
    });
    rows.push(row);
  }
  await insertRows(db, 'DBNS_SAB_Temp', rows);
}

/**
 * Why each of adtemp's validities in `target` was written, worked out from the source alone: a
 * validity `[sv[0], sv[-1])` is `changed` when some PT column moved by more than adtemp's threshold
 * (1.0) between the source rows at its two ends, else `overage` (it was written, so it had aged
 * past maxage). Asia/Shanghai is UTC+8 without DST since 1991. Rows must have distinct times.
 */
export async function adtempReasons(source: Knex, target: Knex): Promise<{ changed: number; overage: number }> {
  const rows = await source('DBNS_SAB_Temp').select('*');
  const at = new Map(rows.map((r: Record<string, unknown>) => [String(r.date_time), r]));
  const vld = await target('DcsAdTempVld').select('TIMESTART', 'TIMEEND').orderBy('TIMESTART');
  const out = { changed: 0, overage: 0 };
  for (const v of vld) {
    const first = at.get(localPlus(String(v.TIMESTART), 8 * 3600))!;
    const last = at.get(localPlus(String(v.TIMEEND), 8 * 3600))!;
    if (PT.some((c) => Math.abs(Number(last[c]) - Number(first[c])) > 1.0)) out.changed++;
    else out.overage++;
  }
  return out;
}

/** A target's content without INSERTDATE (which records when, not what). */
export async function targetContent(db: Knex, spec: SpecTable) {
  const { vld, payload } = await dumpTarget(db, spec);
  return { vld: vld.map(({ INSERTDATE: _i, ...rest }) => rest), payload };
}

/** Spawns `node bin/scrape <args>` from the project root (the compiled CLI in dist/). */
export function spawnScrape(args: string[], env: Record<string, string> = {}): { child: ChildProcess; output: () => string; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'scrape'), ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: string[] = [];
  child.stdout!.on('data', (c) => chunks.push(String(c)));
  child.stderr!.on('data', (c) => chunks.push(String(c)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, output: () => chunks.join(''), exited };
}

/** Samples of `name` (any labels) → value, keyed by the label text. */
export function samples(body: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of body.split('\n')) {
    const m = new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`).exec(line);
    if (m) out.set(m[1] ?? '', Number(m[2]));
  }
  return out;
}

/** A TCP forwarder to MariaDB on a port of its own: started late, or cutting every connection for a moment. */
export class Forwarder {
  private server?: net.Server;
  private sockets = new Set<net.Socket>();
  constructor(readonly port: number, private readonly upstream: { host: string; port: number }) {}

  async start(): Promise<void> {
    this.server = net.createServer((client) => {
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
      client.pipe(server);
      server.pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  /** Resets every connection and refuses new ones for `ms`. */
  async cut(ms: number): Promise<void> {
    await this.stop();
    await new Promise((r) => setTimeout(r, ms));
    await this.start();
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    if (this.server) await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }
}

/** A port nothing listens on (now). */
export async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** The target's URL with the host and port of the forwarder. */
export function throughForwarder(target: TestDatabase, port: number): string {
  const l = target.location;
  const auth = l.password ? `${encodeURIComponent(l.user ?? '')}:${encodeURIComponent(l.password)}` : encodeURIComponent(l.user ?? '');
  return `mysql://${auth}@127.0.0.1:${port}/${l.database}`;
}

export async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
