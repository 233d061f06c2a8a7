#!/usr/bin/env node
// Runs the Keynet CLI under the Node 22 runtime the project installs (libp2p 3 and the
// TypeScript sources need it), whatever `node` the caller's shell finds first.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import module from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const main = join(root, 'src', 'cli', 'main.ts')
const [major, minor] = process.versions.node.split('.').map(Number)
if (major > 22 || (major === 22 && minor >= 18)) {
  // This Node strips TypeScript types by default: no second process (it costs half a second).
  // Loading the modules is most of a short command's time: keep their compiled code between runs.
  module.enableCompileCache?.()
  const { enableStripCache } = await import('./strip-cache.js')
  enableStripCache(root)
  await import(pathToFileURL(main).href)
} else {
  reexec()
}

function reexec () {
  const runtime = join(root, 'node_modules', 'node', 'bin', 'node')
  if (!existsSync(runtime)) {
    console.error('keynet: Node 22 or newer is needed; run `npm ci` in the Keynet folder to install it')
    process.exit(1)
  }
  const result = spawnSync(runtime, ['--disable-warning=ExperimentalWarning', main, ...process.argv.slice(2)], { stdio: 'inherit' })
  if (result.error) { console.error(`keynet: ${result.error.message}`); process.exit(1) }
  process.exit(result.status ?? (result.signal ? 1 : 0))
}
