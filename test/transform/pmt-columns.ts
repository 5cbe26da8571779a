/** The pmthv stream's columns: HV_Vmon L{1..8}C{1..3}R{1..8} joined with HV_Pw under `pw_`. */
export function pmtColumns(): string[] {
  const cells: string[] = [];
  for (let l = 1; l <= 8; l++) for (let c = 1; c <= 3; c++) for (let r = 1; r <= 8; r++) cells.push(`L${l}C${c}R${r}`);
  return ['id', 'date_time', ...cells, ...cells.map((x) => `pw_${x}`)];
}
