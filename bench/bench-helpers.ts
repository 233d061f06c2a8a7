import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** The `keynet` program the benches drive, as a user would. */
export const cliPath = fileURLToPath(new URL('../bin/keynet.js', import.meta.url))

/** The `p` quantile (0..1) of `xs`, by the nearest-rank rule; NaN for no values. */
export function pct (xs: number[], p: number): number {
  const s = xs.slice().sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN
}

/** Runs `keynet <args>` with `home` as KEYNET_HOME and returns its standard output. */
export function keynetSync (home: string, args: string[]): string {
  const env: NodeJS.ProcessEnv = { ...process.env, KEYNET_HOME: home }
  // Started from a test runner, a child would report to it instead of printing.
  delete env.NODE_TEST_CONTEXT
  return execFileSync(process.execPath, [cliPath, ...args], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
}
