/**
 * Micro-benchmark of the ledger's state map. Run: node bench/auth-map.ts [entries]
 *
 * Prints one table. Times are per operation, as the median and the best of several runs after
 * a warm-up; on a shared machine the best is the steadier figure.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { utf8 } from '../src/foundations/bytes.ts'
import { seededRandom } from '../src/foundations/clock.ts'
import { authMapFrom, decodeProof, encodeProof, verifyStateProof } from '../src/core/auth-map/index.ts'
import type { AuthMap } from '../src/core/auth-map/index.ts'

const entries = Number(process.argv[2] ?? 100_000)
const batchSize = 2000
const runs = 9
const rnd = seededRandom(7)

function randomBytes (n: number): Uint8Array {
  const b = new Uint8Array(n)
  for (let i = 0; i < n; i++) b[i] = rnd.int(256)
  return b
}

// Keys shaped like ledger keys, values like encoded accounts and name records.
const keyOf = (i: number): Uint8Array => utf8.encode(`account/${i.toString(16).padStart(8, '0')}`)
const data: Array<[Uint8Array, Uint8Array]> = []
for (let i = 0; i < entries; i++) data.push([keyOf(i), randomBytes(40 + rnd.int(120))])
let nextKey = entries

/** Median and best time of one call of `f(run)`, divided by `per`, after one warm-up call. */
function time (f: (run: number) => void, per = 1): { median: number, best: number } {
  f(runs)
  const xs: number[] = []
  for (let r = 0; r < runs; r++) {
    const t = performance.now()
    f(r)
    xs.push((performance.now() - t) / per)
  }
  xs.sort((a, b) => a - b)
  return { median: xs[xs.length >> 1]!, best: xs[0]! }
}

const rows: string[][] = [['', 'median', 'best', 'target']]
function timed (what: string, t: { median: number, best: number }, unit: 'ms' | 'µs', target = ''): void {
  const f = (ms: number): string => unit === 'ms' ? `${ms.toFixed(1)} ms` : `${(ms * 1000).toFixed(1)} µs`
  rows.push([what, f(t.median), f(t.best), target])
}

let map: AuthMap = authMapFrom(data)
timed(`authMapFrom(${entries} entries) + root`, time(() => { map = authMapFrom(data); void map.root }), 'ms', '< 1 s')

// Heap held by one more map of the same entries (keys and values are shared, so not counted).
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void
gc()
const heapBefore = process.memoryUsage().heapUsed
const kept = authMapFrom(data)
void kept.root
gc()
const heapPerEntry = (process.memoryUsage().heapUsed - heapBefore) / entries

const probes = Array.from({ length: 2000 }, () => data[rnd.int(entries)]![0])
timed('get', time(() => { for (const k of probes) map.get(k) }, probes.length), 'µs')

const singles = Array.from({ length: runs + 1 }, () => Array.from({ length: 200 }, () => [keyOf(nextKey++), randomBytes(64)] as const))
timed('set one key + root', time(run => {
  let m = map
  for (const [k, v] of singles[run]!) { m = m.set(k, v); void m.root }
}, 200), 'µs')

// Half the writes update existing keys, half add new ones.
const batches = Array.from({ length: runs + 1 }, () => Array.from({ length: batchSize }, (_, i) =>
  ({ key: i % 2 === 0 ? keyOf(nextKey++) : data[rnd.int(entries)]![0], value: randomBytes(64) })))
timed(`batch of ${batchSize} writes + root`, time(run => { void map.batch(batches[run]!).root }), 'ms', '≤ 20 ms')

const root = map.root
const present = probes.slice(0, 1000)
const absent = Array.from({ length: 1000 }, (_, i) => utf8.encode(`absent/${i}`))
const proofs = present.map(k => map.prove(k))
const encoded = proofs.map(p => encodeProof(p))
timed('prove', time(() => { for (const k of present) map.prove(k) }, present.length), 'µs')
timed('encodeProof + decodeProof', time(() => { for (const p of proofs) decodeProof(encodeProof(p)) }, proofs.length), 'µs')
timed('verifyStateProof', time(() => {
  for (let i = 0; i < present.length; i++) {
    if (!verifyStateProof(root, present[i]!, map.get(present[i]!), proofs[i]!)) throw new Error('proof did not verify')
  }
}, present.length), 'µs', '≤ 100 µs')

const stat = (xs: number[]): string => {
  const s = xs.slice().sort((a, b) => a - b)
  return `median ${s[s.length >> 1]}, max ${s[s.length - 1]}`
}
const facts: string[][] = [
  ['proof bytes, present key', stat(encoded.map(b => b.byteLength)), '≤ ~1 KiB'],
  ['proof bytes, absent key', stat(absent.map(k => encodeProof(map.prove(k)).byteLength)), ''],
  ['proof steps', stat(proofs.map(p => p.path.length)), `log2 n = ${Math.log2(entries).toFixed(1)}`],
  ['heap per entry, keys and values not counted', `${heapPerEntry.toFixed(0)} bytes`, '']
]

const table = (t: string[][]): void => {
  const widths = t[0]!.map((_, c) => Math.max(...t.map(r => (r[c] ?? '').length)))
  for (const r of t) console.log('  ' + r.map((cell, c) => c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)).join('   '))
}
console.log(`auth-map: ${entries} entries, Node ${process.version}`)
table(rows)
console.log()
table(facts)
