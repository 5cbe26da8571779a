import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { checkRegimeFile } from '../../engine/config/check-regime-file';
import { renderDiagnostics } from '../../engine/config/diagnostic';
import { projectRoot } from '../../engine/config/dbconf';
import { runCli } from '../support/cli';

/**
 * `scrape validate` warns of a regime zone with daylight saving (docs/design.md §4.9): DCS clocks
 * usually keep standard time, so such a zone is most likely meant as its fixed standard offset. A
 * warning: the regime is valid and runs.
 */
const root = projectRoot();
const warnings = path.join(__dirname, 'warnings');

/** adtemp.yaml with another `timezone`, in a temporary file. */
function adtempIn(zone: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-dst-'));
  const file = path.join(dir, 'adtemp_zone.yaml');
  const text = fs.readFileSync(path.join(root, 'regimes.d', 'adtemp.yaml'), 'utf8');
  fs.writeFileSync(file, text.replace(/^timezone: .*$/m, `timezone: ${zone}`));
  return file;
}

describe('daylight saving zone warning', () => {
  it('Europe/Zurich: one warning, golden output, the regime still loads', () => {
    const file = path.join(warnings, 'dst-zone.yaml');
    const result = checkRegimeFile(file, { cwd: root });
    expect(result.regime).toBeDefined();
    expect(result.diagnostics.map((d) => [d.severity, d.code])).toEqual([['warning', 'REGIME_TIMEZONE_DST']]);
    const rendered = renderDiagnostics(result.diagnostics, root) + '\n';
    expect(rendered).toBe(fs.readFileSync(path.join(warnings, 'dst-zone.out'), 'utf8'));
  });

  it.each(['Asia/Shanghai', 'Etc/GMT-8', 'UTC'])('%s: no diagnostic', (zone) => {
    const result = checkRegimeFile(adtempIn(zone), { cwd: root });
    expect(result.regime).toBeDefined();
    expect(result.diagnostics).toEqual([]);
  });

  it('America/New_York suggests Etc/GMT+5 (UTC−5, sign inverted)', () => {
    const result = checkRegimeFile(adtempIn('America/New_York'), { cwd: root });
    expect(result.diagnostics).toHaveLength(1);
    expect(result.diagnostics[0].message).toContain(`use 'Etc/GMT+5'`);
  });

  it('scrape validate prints the warning and exits 0', async () => {
    const r = await runCli(['validate', 'test/config/warnings/dst-zone.yaml'], { cwd: root });
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).toContain('warning REGIME_TIMEZONE_DST timezone:');
  });
});
