/**
 * Debian's Chromium driven by playwright-core, with `*.key` resolved to a gateway by a host
 * resolver rule (the browser then sends `Host: name.key` to the gateway, which routes by it).
 * Shared by the browser test and the browser benchmark.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext } from 'playwright-core'

/** Where `scripts/system-packages.sh` (run before `npm test`) installs Chromium. */
export const chromiumPath = '/usr/bin/chromium'

/** Flags for a quiet, headless, reproducible browser that sends every `.key` host to `gateway` (`http://127.0.0.1:port`). */
export function chromiumArgs (gateway: string): string[] {
  const { hostname, port } = new URL(gateway)
  return [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    `--host-resolver-rules=MAP *.key ${hostname}:${port}`
  ]
}

/** A running browser with its own fresh profile; `close` also deletes the profile. */
export interface KeyBrowser { context: BrowserContext, close: () => Promise<void> }

/** Starts Chromium with a fresh user-data-dir (a cold browser cache) pointed at `gateway`. */
export async function launchChromium (gateway: string): Promise<KeyBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'keynet-chromium-'))
  const context = await chromium.launchPersistentContext(profile, { executablePath: chromiumPath, headless: true, args: chromiumArgs(gateway) })
  return {
    context,
    close: async () => {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    }
  }
}
