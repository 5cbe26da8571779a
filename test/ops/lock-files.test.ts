import * as fs from 'fs';
import * as path from 'path';
import { LockScope, TargetLock, lockStatus } from '../../engine/session/target-lock';
import { runCli } from '../support/cli';
import { TestDatabase, createTestDatabase } from '../support/databases';
import { ADTEMP_SCOPE, fillAdTempSource } from './ops-support';

/**
 * The SQLite writer lock's files (`<target>.locks/<table>_<context>.lock` and `.holder`): only
 * SQLite targets have them (MySQL locks are GET_LOCK, nothing on disk). A holder removes its own
 * files on release, and the folder once empty; a file another holder holds is never removed.
 */

const SAB = ADTEMP_SCOPE;
const SAB_TASK1: LockScope = { table: 'DcsAdTemp', context: { ...SAB.context, task: 1 } };
const LID_AD1: LockScope = { table: 'DcsAdLidSensor', context: { sitemask: 1, subsite: 1, simmask: 1, task: 0, aggregateno: -1 } };

describe('SQLite lock files', () => {
  let target: TestDatabase;
  let locks: string;
  const files = () => (fs.existsSync(locks) ? fs.readdirSync(locks).sort() : undefined);
  beforeAll(async () => {
    target = await createTestDatabase('sqlite', 'lock_files');
    locks = `${target.location.filename}.locks`;
  });
  afterAll(async () => {
    await target.drop();
  });

  it('released locks leave no file and, once empty, no folder; a held file is never removed by another', async () => {
    const a = TargetLock.for(target.location, [SAB, SAB_TASK1]);
    const b = TargetLock.for(target.location, [SAB]);
    const lid = TargetLock.for(target.location, [LID_AD1]);
    try {
      expect(await a.tryAcquire()).toBe(true);
      const sab = ['DcsAdTemp_32_1_1_0_-1.lock', 'DcsAdTemp_32_1_1_0_-1.lock.holder', 'DcsAdTemp_32_1_1_1_-1.lock', 'DcsAdTemp_32_1_1_1_-1.lock.holder'];
      expect(files()).toEqual(sab);
      // b fails to take a held lock and lets go: a's files stay, and stay a's
      expect(await b.tryAcquire()).toBe(false);
      await b.release();
      expect(files()).toEqual(sab);
      expect(await a.stillHeld()).toBe(true);
      expect(await b.tryAcquire()).toBe(false);
      await b.release();

      expect(await lid.tryAcquire()).toBe(true);
      await a.release();
      expect(files()).toEqual(['DcsAdLidSensor_1_1_1_0_-1.lock', 'DcsAdLidSensor_1_1_1_0_-1.lock.holder']);
      await lid.release();
      expect(files()).toBeUndefined();
      // and a status probe creates nothing
      expect(await lockStatus(target.db, SAB)).toEqual({ held: false });
      expect(files()).toBeUndefined();
    } finally {
      await a.release();
      await b.release();
      await lid.release();
    }
  });

  it('a standby waiting on a file its holder removes takes the new file: nobody else can take the lock then', async () => {
    const a = TargetLock.for(target.location, [SAB]);
    const standby = TargetLock.for(target.location, [SAB]);
    const third = TargetLock.for(target.location, [SAB]);
    try {
      expect(await a.tryAcquire()).toBe(true);
      let waiting = true;
      const taken = standby.acquire('standby', { standby: true, pollMs: 20 }).finally(() => (waiting = false));
      await new Promise((r) => setTimeout(r, 200));
      expect(waiting).toBe(true);
      await a.release();
      await taken;
      expect(await standby.stillHeld()).toBe(true);
      expect(files()).toEqual(['DcsAdTemp_32_1_1_0_-1.lock', 'DcsAdTemp_32_1_1_0_-1.lock.holder']);
      expect((await lockStatus(target.db, SAB)).held).toBe(true);
      expect(await third.tryAcquire()).toBe(false);
      expect(await a.tryAcquire()).toBe(false);
      await standby.release();
      expect(files()).toBeUndefined();
      expect(await third.tryAcquire()).toBe(true);
    } finally {
      await a.release();
      await standby.release();
      await third.release();
    }
    expect(files()).toBeUndefined();
  });

  it('scrape run --until-caught-up leaves no lock folder beside its target', async () => {
    const source = await createTestDatabase('sqlite', 'fake_lock_files_src');
    const runTarget = await createTestDatabase('sqlite', 'lock_files_run');
    try {
      await fillAdTempSource(source.db, 50, 3);
      const r = await runCli(['run', 'adtemp', '--source', source.url, '--target', runTarget.url, '--until-caught-up']);
      expect({ code: r.code, err: r.stderr }).toMatchObject({ code: 0 });
      expect(await runTarget.db('DcsAdTempVld').count({ n: '*' })).not.toEqual([{ n: 0 }]);
      expect(fs.readdirSync(path.dirname(runTarget.location.filename!)).filter((f) => f.endsWith('.locks'))).toEqual([]);
    } finally {
      await source.drop();
      await runTarget.drop();
    }
  });
});
