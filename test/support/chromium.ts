import * as fs from 'fs';
import type { Browser, Page } from 'puppeteer-core';
import { PLOT_COLORS } from '../../engine/report/plot-chart';

/** The first bytes of every PNG file. */
export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Width and height from a PNG's IHDR chunk (after checking the signature). */
export function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  expect(png.toString('latin1', 12, 16)).toBe('IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

/** Reads a PNG file and checks it: signature, IHDR, at least `minBytes`. */
export function checkPngFile(file: string, minBytes = 1000): { width: number; height: number } {
  const png = fs.readFileSync(file);
  expect(png.length).toBeGreaterThan(minBytes);
  return pngSize(png);
}

/**
 * The validity steps drawn in an SVG document or fragment, per step path: the `<path>` elements
 * stroked in the plot's step colour without a transform (a legend icon has one), each counted by
 * its move-to commands: every validity is one `M x y L x y` segment, the line broken between
 * validities (a segment narrower than a pixel keeps its `M`).
 */
export function stepSegments(svg: string): number[] {
  const counts: number[] = [];
  for (const tag of svg.match(/<path\b[^>]*>/g) ?? []) {
    const attr = (name: string) => new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];
    if (attr('stroke') !== PLOT_COLORS.step || attr('transform') !== undefined) continue;
    counts.push((attr('d') ?? '').match(/M/g)?.length ?? 0);
  }
  return counts;
}

/** What a page did besides drawing itself: requests refused as leaving `allowed`, console errors and uncaught exceptions. */
export interface PageWatch {
  refused: string[];
  errors: string[];
  /** Every request let through, in order. */
  requests: string[];
}

/**
 * Watches a page before it loads: every request not starting with one of `allowed` is aborted
 * and recorded; console errors and uncaught exceptions are recorded.
 */
export async function watchPage(page: Page, allowed: string[]): Promise<PageWatch> {
  const watch: PageWatch = { refused: [], errors: [], requests: [] };
  await page.setRequestInterception(true);
  page.on('request', (request) => {
    const url = request.url();
    if (allowed.some((a) => url.startsWith(a))) {
      watch.requests.push(url);
      void request.continue();
    } else {
      watch.refused.push(url);
      void request.abort('blockedbyclient');
    }
  });
  page.on('console', (m) => {
    if (m.type() === 'error') watch.errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => watch.errors.push(`pageerror: ${(e as Error).message}`));
  return watch;
}

export type { Browser, Page };
