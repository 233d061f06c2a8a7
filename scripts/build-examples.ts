/**
 * Builds the compute task examples (AssemblyScript in examples/compute/*) into WASI preview1
 * command modules under build/examples/ (not committed): `npm run build:examples`. A module is
 * rebuilt only when a source is newer than it, so tests and benchmarks call `buildExamples()`
 * before they run and pay for the compiler once.
 */
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join, relative } from 'node:path'

const root = fileURLToPath(new URL('../', import.meta.url))
const sources = join(root, 'examples/compute')
/** Where the built modules go. */
export const examplesOutDir = join(root, 'build/examples')

/** The examples and how each is compiled. */
const examples: Record<string, { entry: string, flags: string[] }> = {
  // The hash allocates a few buffers and exits: the runtime that never frees is enough.
  hash: { entry: 'hash/main.ts', flags: ['--runtime', 'stub'] },
  // The training job allocates per row and per checkpoint: the default (incremental) collector.
  train: { entry: 'train/main.ts', flags: [] }
}

/** The part of the AssemblyScript compiler's API used here. */
interface AscCompiler {
  main: (args: string[]) => Promise<{ error: Error | null, stderr: { toString: () => string } }>
}

/** Names of the examples. */
export type ExampleName = 'hash' | 'train'

function newestSource (dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs)
  }
  return newest
}

/** Builds the examples that are missing or older than their sources; returns each one's path. */
export async function buildExamples (log: (line: string) => void = () => {}): Promise<Record<ExampleName, string>> {
  // Imported by a computed name: the compiler's type declarations redefine globals (console)
  // for AssemblyScript code and would break the project's own typecheck.
  const ascModule = 'assemblyscript/asc'
  const { default: asc } = await import(ascModule) as { default: AscCompiler }
  mkdirSync(examplesOutDir, { recursive: true })
  const newest = newestSource(sources)
  const out = {} as Record<ExampleName, string>
  for (const [name, { entry, flags }] of Object.entries(examples)) {
    const wasm = join(examplesOutDir, `${name}.wasm`)
    out[name as ExampleName] = wasm
    let built = 0
    try { built = statSync(wasm).mtimeMs } catch {}
    if (built >= newest) continue
    log(`building ${relative(root, wasm)} from ${relative(root, join(sources, entry))}`)
    const { error, stderr } = await asc.main([
      relative(root, join(sources, entry)), '--outFile', relative(root, wasm),
      '--baseDir', root, '-O3', '--noAssert', '--exportStart', '_start',
      '--use', `abort=${relative(root, join(sources, 'lib/wasi'))}/wasiAbort`, ...flags
    ])
    if (error !== null && error !== undefined) throw new Error(`asc failed on ${entry}: ${error.message}\n${stderr.toString()}`)
  }
  return out
}

/** Per class of the Iris flowers (setosa, versicolor, virginica): mean and spread of sepal length and width, petal length and width (cm). */
const irisClasses = [
  { name: 'setosa', mean: [5.0, 3.4, 1.5, 0.2], sd: [0.35, 0.38, 0.17, 0.1] },
  { name: 'versicolor', mean: [5.9, 2.8, 4.3, 1.3], sd: [0.52, 0.31, 0.47, 0.2] },
  { name: 'virginica', mean: [6.6, 3.0, 5.6, 2.0], sd: [0.64, 0.32, 0.55, 0.27] }
]

/**
 * A data set shaped like Fisher's Iris (four measurements, three species), drawn from normal
 * distributions with each species' mean and spread by a seeded generator: the same seed gives
 * the same bytes. `rowsPerClass` 50 gives Iris's 150 rows. Lines starting with `#` set the
 * training task's options.
 */
export function irisLikeCsv (opts: { rowsPerClass?: number, seed?: number, options?: Record<string, number> } = {}): string {
  let state = (opts.seed ?? 1) >>> 0
  const uniform = (): number => { // mulberry32
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (((t ^ (t >>> 14)) >>> 0) + 1) / 4294967297
  }
  const normal = (): number => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform())
  const lines = Object.entries(opts.options ?? {}).map(([key, value]) => `#${key} ${value}`)
  lines.push('sepal_length,sepal_width,petal_length,petal_width,species')
  for (let i = 0; i < (opts.rowsPerClass ?? 50); i++) {
    for (const c of irisClasses) {
      const values = c.mean.map((m, j) => Math.max(0.1, m + (c.sd[j] as number) * normal()).toFixed(1))
      lines.push(`${values.join(',')},${c.name}`)
    }
  }
  return `${lines.join('\n')}\n`
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const built = await buildExamples(line => { console.log(line) })
  for (const [name, path] of Object.entries(built)) console.log(`${name}: ${relative(root, path)}`)
  writeFileSync(join(examplesOutDir, 'iris-like.csv'), irisLikeCsv())
  console.log(`data: ${relative(root, join(examplesOutDir, 'iris-like.csv'))}`)
}
