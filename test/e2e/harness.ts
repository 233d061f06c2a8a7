import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { DevnetFile } from '../../src/node/devnet.ts'

export const cliPath = fileURLToPath(new URL('../../bin/keynet.js', import.meta.url))

/** A scratch KEYNET_HOME for one test file. */
export function tempHome (label: string): string {
  return mkdtempSync(join(tmpdir(), `keynet-${label}-`))
}

export interface CliResult { code: number, stdout: string, stderr: string }

/** The environment of a user's shell: without the test runner's marker, which would make every
 * Node child process report to this runner instead of running normally. */
export function userEnv (extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  // Nodes a test starts stop by themselves if the test process dies before `devnet down`.
  const env: NodeJS.ProcessEnv = { KEYNET_EXIT_WITH: String(process.pid), ...process.env, ...extra }
  delete env.NODE_TEST_CONTEXT
  return env
}

/** Runs the real CLI as a user would (`keynet ...`), in its own process. */
export async function keynet (home: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return await new Promise(resolve => {
    execFile(process.execPath, [cliPath, ...args], { env: userEnv({ KEYNET_HOME: home, ...env }), timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1
      resolve({ code, stdout, stderr })
    })
  })
}

/** Runs the CLI and parses its `--json` output; fails loudly on a non-zero exit. */
export async function keynetJson<T = Record<string, unknown>> (home: string, args: string[]): Promise<T> {
  const r = await keynet(home, [...args, '--json'])
  if (r.code !== 0) throw new Error(`keynet ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`)
  return JSON.parse(r.stdout) as T
}

export function readDevnetFile (dir: string): DevnetFile {
  return JSON.parse(readFileSync(join(dir, 'devnet.json'), 'utf8')) as DevnetFile
}

export async function getJson<T> (url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) })
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`)
  return await res.json() as T
}

/** Polls `check` until it returns a value or the deadline passes. */
export async function eventually<T> (what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const v = await check()
      if (v !== undefined) return v
    } catch (err) {
      last = err
    }
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  throw new Error(`timed out waiting for ${what}${last === undefined ? '' : `: ${(last as Error).message}`}`)
}

export function isAlive (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch { return false }
}
