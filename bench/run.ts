/**
 * `npm run bench`: every performance target of the open issues, measured on this machine in one
 * run, printed as a table with the target and the physical anchor beside each figure.
 * Options: --registrations N (default 10000), --quick (smaller runs), --only ledger|content|gateway|urp|browser|dns|compute|compute-content|compute-market
 * (one part alone; the default runs all; `--only gateway` is the gateway rows of content alone), --json (the rows as JSON on stdout instead of the table).
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { computeBench } from './compute.ts'
import { computeContentBench } from './compute-content.ts'
import { computeMarketBench } from './compute-market.ts'
import { contentBench } from './content.ts'
import { urpBench } from './urp.ts'
import { browserBench } from './browser.ts'
import { dnsBench } from './dns.ts'
import { ledgerBench, type BenchRow } from './ledger.ts'

const args = process.argv.slice(2)
const quick = args.includes('--quick')
const flag = (name: string, fallback: number): number => {
  const i = args.indexOf(name)
  return i >= 0 ? Number(args[i + 1]) : fallback
}

const parts = ['ledger', 'content', 'gateway', 'urp', 'browser', 'dns', 'compute', 'compute-content', 'compute-market']
const onlyAt = args.indexOf('--only')
const only = onlyAt >= 0 ? args[onlyAt + 1] : undefined
if (only !== undefined && !parts.includes(only)) {
  process.stderr.write(`bench: --only takes ${parts.join(' or ')}, not ${only}\n`)
  process.exit(2)
}
const runs = (part: string): boolean => only === undefined ? part !== 'gateway' : only === part

const log = (line: string): void => { process.stderr.write(`${line}\n`) }
const rows: BenchRow[] = []
if (runs('ledger')) rows.push(...await ledgerBench({ registrations: flag('--registrations', quick ? 3000 : 10_000), log }))
if (runs('content')) rows.push(...await contentBench({ log, fileBytes: (quick ? 64 : 256) * 1024 * 1024 }))
if (runs('gateway')) rows.push(...await contentBench({ log, gatewayOnly: true }))
if (runs('urp')) rows.push(...await urpBench({ quick, log }))
if (runs('browser')) rows.push(...await browserBench({ quick, log }))
if (runs('dns')) rows.push(...await dnsBench({ quick, log }))
if (runs('compute')) rows.push(...await computeBench({ quick, log }))
if (runs('compute-content')) rows.push(...await computeContentBench({ quick, log }))
if (runs('compute-market')) rows.push(...await computeMarketBench({ quick, log }))

if (args.includes('--json')) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`)
else printTable(rows)

// Component micro-benchmarks print their own tables.
if (runs('ledger') && !args.includes('--json')) {
  for (const script of ['auth-map.ts', 'p2p.ts']) {
    log(`\nbench: ${script}`)
    spawnSync(process.execPath, [fileURLToPath(new URL(script, import.meta.url))], { stdio: 'inherit' })
  }
}
if (runs('gateway') && !args.includes('--json')) {
  log('\nbench: gateway-micro.ts (the gateway alone, in memory, 16 MiB semi-spaces)')
  spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', '--max-semi-space-size=16', fileURLToPath(new URL('gateway-micro.ts', import.meta.url))], { stdio: 'inherit' })
}

function printTable (table: BenchRow[]): void {
  const header = ['group', 'metric', 'measured', 'target', 'anchor']
  const body = table.map(r => [r.group, r.metric, r.value, r.target, r.anchor ?? ''])
  const widths = header.map((h, i) => Math.max(h.length, ...body.map(r => (r[i] ?? '').length)))
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`
  console.log(`\nKeynet benchmarks (${new Date().toISOString()}, ${process.version}, 2 cores)`)
  console.log(line(header))
  console.log(`|${widths.map(w => '-'.repeat(w + 2)).join('|')}|`)
  for (const r of body) console.log(line(r))
}
