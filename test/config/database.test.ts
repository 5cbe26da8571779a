import { DIALECTS, createTestDatabase, expectRejection } from '../support/databases';
import { openDatabase } from '../../engine/db/open-database';

describe.each(DIALECTS)('database connections on %s', (dialect) => {
  it('reads datetimes back as the text written, and a read-only connection refuses writes', async () => {
    const t = await createTestDatabase(dialect, 'conn');
    try {
      await t.db.schema.createTable('probe', (table) => {
        table.integer('id').primary();
        table.dateTime('date_time');
      });
      await t.db('probe').insert({ id: 1, date_time: '2011-02-01 00:00:10' });
      const rows = await t.db('probe').select('date_time');
      expect(rows).toEqual([{ date_time: '2011-02-01 00:00:10' }]);
      const ro = openDatabase(t.location, { readOnly: true });
      try {
        await expectRejection(ro('probe').insert({ id: 2, date_time: '2011-02-01 00:00:20' }), /read.?only/i);
        expect(await ro('probe').count({ n: '*' })).toEqual([{ n: 1 }]);
      } finally {
        await ro.destroy();
      }
    } finally {
      await t.drop();
    }
  });
});
