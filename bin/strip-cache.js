// Keeps the JavaScript that Node makes of each TypeScript module between runs of the CLI.
// Node 22 strips the types of every .ts file at every start (a WebAssembly compiler loaded for
// it, then one pass per file): more than half of a short command's start-up. With this, a module
// is stripped once per content and later starts read the stripped text; the compiler is not
// loaded at all when nothing changed. Stripping only blanks types out (positions are kept), so
// stack traces still point into the .ts sources.
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import module from 'node:module'
import { join } from 'node:path'

/** Stripped modules kept; past it the cache is emptied and refills (each edit of a file adds one). */
const maxEntries = 4096

/**
 * Registers the cache, kept in `<root>/node_modules/.cache/keynet-strip/<node version>` (the
 * install's own folder, as other build tools do: not a folder other users can write). A no-op
 * where the hooks or the stripper are missing.
 */
export function enableStripCache (root) {
  if (typeof module.registerHooks !== 'function' || typeof module.stripTypeScriptTypes !== 'function') return
  const dir = join(root, 'node_modules', '.cache', 'keynet-strip', process.version)
  try { mkdirSync(dir, { recursive: true }) } catch { return }
  module.registerHooks({
    load (url, context, nextLoad) {
      const loaded = nextLoad(url, context)
      if (loaded.format !== 'module-typescript' || loaded.source == null) return loaded
      const text = typeof loaded.source === 'string' ? loaded.source : Buffer.from(loaded.source).toString('utf8')
      const file = join(dir, `${createHash('sha256').update(text).digest('hex')}.js`)
      let js
      try {
        js = readFileSync(file, 'utf8')
      } catch {
        js = quietly(() => module.stripTypeScriptTypes(text, { mode: 'strip' }))
        try {
          // Written whole then renamed, so a concurrent start never reads half a file.
          const partial = `${file}.${process.pid}`
          writeFileSync(partial, js)
          renameSync(partial, file)
          if (readdirSync(dir).length > maxEntries) for (const f of readdirSync(dir)) rmSync(join(dir, f), { force: true })
        } catch {}
      }
      return { format: 'module', source: js, shortCircuit: true }
    }
  })
}

/** Runs `fn` without the "experimental feature" notice Node prints on its first strip. */
function quietly (fn) {
  const emitWarning = process.emitWarning
  process.emitWarning = (warning, ...rest) => {
    const text = typeof warning === 'string' ? warning : warning?.message ?? ''
    if (!text.includes('stripTypeScriptTypes')) emitWarning.call(process, warning, ...rest)
  }
  try {
    return fn()
  } finally {
    process.emitWarning = emitWarning
  }
}
