/**
 * A lag as an operator reads it: the two largest units (`3h 12m`, `2d 5h`, `4m 10s`, `45s`);
 * negative when the target is ahead of the source. `scrape status` and the status page use it.
 */
export function formatLag(ms: number): string {
  if (ms < 0) return `-${formatLag(-ms)}`;
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${sec}s`;
  return `${sec}s`;
}
