import { Knex } from 'knex';
import { SpecTable } from '../spec/spec-table';
import { DbiWriter, DbiWriterOptions, PreparedWrite } from './dbi-writer';
import { Fence } from './fence';
import { payloadValues } from './payload-converter';
import { Propagation, checkPropagation } from './propagation';

/**
 * A DbiWriter that writes nothing: it checks and converts each propagation as a real write
 * would (bad values fail the same way) and keeps it, rows included, in `collected`. The stream
 * core runs unchanged on top of it, so `scrape run --dry-run` and `scrape verify` see exactly
 * the validities a real run would write, without touching the target (no SEQNO, no fence, no
 * table created).
 */
export class CollectingWriter extends DbiWriter {
  /** Every propagation "written", in order. */
  readonly collected: Propagation[] = [];
  private nextSeqno = 1;

  constructor(db: Knex, spec: SpecTable, options: DbiWriterOptions = {}) {
    super(db, spec, { ...options, loadData: false });
  }

  /** Checks and converts (throwing as a write would), keeping the rows. */
  override prepare(props: Propagation[]): PreparedWrite {
    const checked = props.map((p, i) => (p.reason === undefined ? checkPropagation(p, i) : { ...checkPropagation(p, i), reason: p.reason }));
    payloadValues(checked, this.spec.columns, this.spec.table);
    return { writer: this, validities: checked, payload: { values: [] } };
  }

  override async prepareInSlices(props: Propagation[]): Promise<PreparedWrite> {
    return this.prepare(props);
  }

  /** Keeps the validities; resolves to made-up SEQNOs counting from 1 (never written anywhere). */
  override async writePrepared(prepared: PreparedWrite, _fence?: Fence): Promise<number[]> {
    this.collected.push(...prepared.validities);
    return prepared.validities.map(() => this.nextSeqno++);
  }
}
