import * as fs from 'fs';
import type { Browser } from 'puppeteer-core';
import { ScrapeError } from '../core/errors';

/** Where Chromium is looked for when `SCRAPE_CHROMIUM` is not set: Debian's package first. */
export const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome-stable', '/usr/bin/google-chrome'];

/**
 * Flags of every headless Chromium `scrape` starts: no sandbox (it may run as root), no GPU, and
 * none of the browser's own traffic (updates, sync, background networking): it talks to nothing.
 */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run', '--no-default-browser-check', '--mute-audio', '--hide-scrollbars'];

/** The Chromium executable: `$SCRAPE_CHROMIUM`, else the first of `CHROMIUM_CANDIDATES` that exists; BROWSER_MISSING when none. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string {
  const given = env.SCRAPE_CHROMIUM?.trim();
  if (given) {
    if (!fs.existsSync(given)) throw new ScrapeError('BROWSER_MISSING', `SCRAPE_CHROMIUM=${given}: no such file`);
    return given;
  }
  const found = CHROMIUM_CANDIDATES.find((p) => fs.existsSync(p));
  if (!found) throw new ScrapeError('BROWSER_MISSING', `no Chromium found (looked for ${CHROMIUM_CANDIDATES.join(', ')}): install Debian's chromium package (apt-get install chromium) or set SCRAPE_CHROMIUM to a Chromium or Chrome executable`);
  return found;
}

/**
 * Starts the machine's own headless Chromium through puppeteer-core (which never downloads a
 * browser): `findChromium`, `CHROMIUM_ARGS`, a fresh temporary profile. Close it when done.
 */
export async function launchChromium(env: NodeJS.ProcessEnv = process.env): Promise<Browser> {
  const executablePath = findChromium(env);
  // loaded on first use: commands that start no browser never load puppeteer
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const puppeteer = require('puppeteer-core') as typeof import('puppeteer-core');
  return puppeteer.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
}
