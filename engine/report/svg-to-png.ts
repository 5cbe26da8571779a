import type { Browser } from 'puppeteer-core';
import { launchChromium } from './headless-chromium';

/**
 * Rasterises an SVG document to PNG in headless Chromium: the SVG alone in a page of its size
 * (scripts off, every request refused), one screenshot. With `browser` that browser is used and
 * left open; otherwise one is started (`launchChromium`) and closed.
 */
export async function svgToPng(svg: string, size: { width: number; height: number }, options: { browser?: Browser; env?: NodeJS.ProcessEnv; scale?: number } = {}): Promise<Buffer> {
  const browser = options.browser ?? (await launchChromium(options.env));
  try {
    const page = await browser.newPage();
    try {
      await page.setJavaScriptEnabled(false);
      await page.setRequestInterception(true);
      page.on('request', (request) => {
        if (request.isInterceptResolutionHandled()) return;
        const url = request.url();
        if (url.startsWith('data:') || url === 'about:blank') void request.continue();
        else void request.abort('blockedbyclient');
      });
      await page.setViewport({ width: size.width, height: size.height, deviceScaleFactor: options.scale ?? 1 });
      await page.setContent(`<!doctype html><html><head><meta charset="utf-8"><style>html,body{margin:0;background:#fff}svg{display:block}</style></head><body>${svg}</body></html>`, { waitUntil: 'load' });
      const png = await page.screenshot({ type: 'png', clip: { x: 0, y: 0, width: size.width, height: size.height } });
      return Buffer.from(png);
    } finally {
      await page.close();
    }
  } finally {
    if (!options.browser) await browser.close();
  }
}
