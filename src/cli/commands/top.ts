/**
 * `keynet top`: a live terminal view of one node, redrawn in place like `top`. It polls the
 * node's `/metrics`, and shows a header (consensus height and round, peers, mempool, storage,
 * edge cache, gateway, faults) and a table of the providers the node routes over: pool,
 * provider, state, score, latency p50/p99, error rate, and requests per second. Rates and
 * latencies cover the last interval; the first frame (and `--once`) covers the time since the
 * node started. `--json` prints the parsed snapshot instead, one JSON line per poll.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Command } from 'commander'
import { MalformedMessageError } from '../../foundations/errors.ts'
import { formatBytes } from '../../foundations/units.ts'
import { maxTopIntervalMs, minTopIntervalMs } from '../../services/metrics/constants.ts'
import { readNodeSnapshot, type NodeSnapshot, type ProviderRow } from '../../services/metrics/node-snapshot.ts'
import { parseExposition } from '../../services/metrics/parse.ts'
import { failureOutcomes } from '../../services/metrics/provider-metrics.ts'
import { bucketDelta, histogramQuantile } from '../../services/metrics/quantile.ts'
import { fetchMetrics } from '../../services/metrics/scrape.ts'
import { CliContext, type GlobalOptions } from '../context.ts'

/** Width of a frame when the output is not a terminal (or the terminal does not say). */
const defaultWidth = 100
/** Rows of a terminal that does not say. */
const defaultRows = 24

/** Registers `keynet top`. */
export function topCommand (program: Command, globals: () => GlobalOptions): void {
  program.command('top')
    .description('live view of a node and the providers it routes over: state, score, latency p50/p99, error rate, requests/s')
    .option('--interval <duration>', 'time between refreshes, e.g. 500ms, 1s, 2.5s, 1m', '1s')
    .option('--once', 'print one frame (with --json: one snapshot) and exit')
    .addHelpText('after', '\nExamples:\n  keynet top\n  keynet top --api http://127.0.0.1:7700 --interval 2s\n  keynet top --once --json')
    .action(async (o: { interval: string, once?: boolean }) => {
      const ctx = new CliContext(globals())
      const api = ctx.api().base
      const intervalMs = parseInterval(o.interval)
      const json = ctx.opts.json === true
      const poll = async (signal?: AbortSignal): Promise<NodeSnapshot> => readNodeSnapshot(parseExposition(await fetchMetrics(api, signal)), Date.now())
      if (o.once === true) {
        const snapshot = await poll()
        process.stdout.write(json ? `${JSON.stringify(snapshot, null, 2)}\n` : `${frameOf(api, intervalMs, snapshot, undefined, terminalSize().width)}\n`)
        return
      }
      await watch(api, intervalMs, json, poll)
    })
}

/** Polls until Ctrl-C (or `q`), redrawing in place on a terminal and appending frames otherwise. */
async function watch (api: string, intervalMs: number, json: boolean, poll: (signal: AbortSignal) => Promise<NodeSnapshot>): Promise<void> {
  const out = process.stdout
  const live = out.isTTY && !json
  const stop = new AbortController()
  const onSignal = (): void => { stop.abort() }
  const onKey = (data: Buffer): void => { if (data.includes(0x71) || data.includes(0x03)) stop.abort() } // q, Ctrl-C
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  const keys = live && process.stdin.isTTY
  if (keys) {
    process.stdin.setRawMode(true)
    process.stdin.on('data', onKey)
    process.stdin.resume()
  }
  if (live) out.write('\x1b[?1049h\x1b[?25l') // alternate screen, hide the cursor
  try {
    let previous: NodeSnapshot | undefined
    while (!stop.signal.aborted) {
      let frame: string
      try {
        const snapshot = await poll(stop.signal)
        const { width, rows } = terminalSize()
        frame = json ? JSON.stringify(snapshot) : frameOf(api, intervalMs, snapshot, previous, width, live ? Math.max(1, rows - 7) : undefined)
        previous = snapshot
      } catch (err) {
        if (stop.signal.aborted) break
        const line = `${(err as Error).name}: ${(err as Error).message} (retrying every ${formatInterval(intervalMs)})`
        if (!live) process.stderr.write(`keynet top: ${line}\n`)
        frame = live ? `${fit(title(api, intervalMs, Date.now()), terminalSize().width)}\n\n${line}` : ''
      }
      if (live) out.write(`\x1b[H${frame.split('\n').map(l => `${l}\x1b[K`).join('\n')}\x1b[J`)
      else if (frame !== '') out.write(json ? `${frame}\n` : `${frame}\n\n`)
      await sleep(intervalMs, undefined, { signal: stop.signal }).catch(() => {})
    }
  } finally {
    if (live) out.write('\x1b[?25h\x1b[?1049l')
    if (keys) {
      process.stdin.off('data', onKey)
      process.stdin.setRawMode(false)
      process.stdin.pause()
    }
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

/**
 * One frame of `keynet top` for `snapshot`, at most `width` characters per line. With
 * `previous` (the poll before), rates, error rates and latencies cover the time between the
 * two; without it, the time since the node started. `maxRows` caps the provider rows.
 */
export function renderTop (snapshot: NodeSnapshot, previous?: NodeSnapshot, width = defaultWidth, maxRows?: number): string {
  const seconds = previous === undefined ? undefined : (snapshot.timeMs - previous.timeMs) / 1000
  const windowed = seconds !== undefined && seconds > 0
  const lines = [...header(snapshot, windowed ? previous : undefined, seconds ?? 0), '']
  const rows = snapshot.providers.map(r => providerLine(r, windowed ? previous?.providers.find(p => p.pool === r.pool && p.provider === r.provider) : undefined, windowed ? seconds : undefined))
  if (rows.length === 0) {
    lines.push('no provider traffic yet: providers appear here once this node fetches content or forwards requests')
  } else {
    const poolWidth = Math.max(10, Math.min(40, width - fixedColumnsWidth))
    lines.push(columns(['POOL', 'PROVIDER', 'STATE', 'SCORE', 'P50', 'P99', 'ERR%', windowed ? 'REQ/S' : 'REQS'], poolWidth))
    const shown = maxRows === undefined ? rows : rows.slice(0, Math.max(1, maxRows))
    for (const cells of shown) lines.push(columns(cells, poolWidth))
    if (shown.length < rows.length) lines.push(`… ${rows.length - shown.length} more provider${rows.length - shown.length === 1 ? '' : 's'} (a taller terminal shows them)`)
  }
  return lines.map(l => fit(l, width)).join('\n')
}

/** Milliseconds from `500ms`, `1s`, `2.5s`, `1m` or a bare number of seconds. */
export function parseInterval (text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(text)
  const ms = m === null ? NaN : Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000)
  if (!Number.isFinite(ms) || ms < minTopIntervalMs || ms > maxTopIntervalMs) {
    throw new MalformedMessageError(`--interval "${text}" must be a duration from ${minTopIntervalMs}ms to ${maxTopIntervalMs / 60_000}m, e.g. 500ms, 1s or 2.5s`)
  }
  return Math.round(ms)
}

/** The title line and the frame, cut to `width`. */
function frameOf (api: string, intervalMs: number, snapshot: NodeSnapshot, previous: NodeSnapshot | undefined, width: number, maxRows?: number): string {
  return `${fit(title(api, intervalMs, snapshot.timeMs), width)}\n${renderTop(snapshot, previous, width, maxRows)}`
}

/** The terminal's size, or the defaults when stdout is not a terminal or reports none. */
function terminalSize (): { width: number, rows: number } {
  const { columns, rows } = process.stdout
  return { width: columns > 0 ? columns : defaultWidth, rows: rows > 0 ? rows : defaultRows }
}

function title (api: string, intervalMs: number, timeMs: number): string {
  return `keynet top  ${api}  every ${formatInterval(intervalMs)}  ${new Date(timeMs).toLocaleTimeString()}  (q or Ctrl-C quits)`
}

function header (s: NodeSnapshot, previous: NodeSnapshot | undefined, seconds: number): string[] {
  const chain: string[] = []
  if (s.height !== undefined) chain.push(`height ${s.height}`)
  if (s.round !== undefined) chain.push(`round ${s.round}`)
  if (s.peers !== undefined) chain.push(`peers ${s.peers}`)
  if (s.mempool !== undefined) chain.push(`mempool ${s.mempool}`)
  if (s.blocksCommitted !== undefined) {
    chain.push(previous?.blocksCommitted === undefined ? `blocks ${s.blocksCommitted}` : `blocks ${rate(s.blocksCommitted - previous.blocksCommitted, seconds)}/s`)
  }
  if (s.faults !== undefined) chain.push(`faults ${sum(s.faults)}`)
  const content: string[] = []
  if (s.storage !== undefined) content.push(`storage ${formatBytes(s.storage.bytes)} of ${formatBytes(s.storage.capacityBytes)}, ${s.storage.blocks} blocks`)
  if (s.cache !== undefined) {
    const size = s.cache.bytes === undefined ? '' : ` ${formatBytes(s.cache.bytes)}${s.cache.capacityBytes === undefined ? '' : ` of ${formatBytes(s.cache.capacityBytes)}`},`
    const hits = s.cache.hits - (previous?.cache?.hits ?? 0)
    const lookups = hits + s.cache.misses - (previous?.cache?.misses ?? 0)
    content.push(`cache${size} ${lookups <= 0 ? '-' : percent(hits / lookups)} hits`)
  }
  if (s.gatewayRequests !== undefined) {
    const total = sum(s.gatewayRequests)
    const before = previous?.gatewayRequests === undefined ? undefined : sum(previous.gatewayRequests)
    const errors = sum(Object.fromEntries(Object.entries(s.gatewayRequests).filter(([status]) => Number(status) >= 500)))
    content.push(before === undefined ? `gateway ${total} responses (${errors} 5xx)` : `gateway ${rate(total - before, seconds)}/s (${errors} 5xx)`)
  }
  const routing: string[] = []
  if (s.providers.length > 0) {
    const pools = new Set(s.providers.map(p => p.pool)).size
    const states = ['active', 'probation', 'ejected'].map(st => [st, s.providers.filter(p => p.state === st).length] as const).filter(([, n]) => n > 0)
    routing.push(`providers ${s.providers.length} in ${pools} pool${pools === 1 ? '' : 's'}${states.length === 0 ? '' : ` (${states.map(([st, n]) => `${n} ${st}`).join(', ')})`}`)
  }
  const hedges = sum(s.hedges)
  if (hedges > 0) routing.push(`hedges ${hedges}`)
  routing.push(previous === undefined ? 'figures since the node started' : `figures over the last ${formatInterval(seconds * 1000)}`)
  return [chain, content, routing].filter(l => l.length > 0).map(l => l.join('   '))
}

/** Widths of the columns after POOL, and the blanks between all columns. */
const columnWidths = [13, 9, 8, 8, 8, 6, 8]
const fixedColumnsWidth = columnWidths.reduce((a, b) => a + b, 0) + columnWidths.length * 2

function providerLine (row: ProviderRow, before: ProviderRow | undefined, seconds: number | undefined): string[] {
  // A counter lower than before means the node restarted: count from zero again.
  const reset = before !== undefined && sum(row.requests) < sum(before.requests)
  const base = reset ? undefined : before
  const requests = delta(row.requests, base?.requests)
  const answered = sum(requests) - (requests.cancelled ?? 0)
  const failed = failureOutcomes.reduce((n, o) => n + (requests[o] ?? 0), 0)
  const buckets = base === undefined ? row.latency.buckets : bucketDelta(row.latency.buckets, base.latency.buckets)
  const count = row.latency.count - (base?.latency.count ?? 0)
  return [
    row.pool,
    shortId(row.provider),
    row.state ?? '-',
    row.score === undefined ? '-' : formatScore(row.score),
    formatSeconds(histogramQuantile(0.5, buckets, count)),
    formatSeconds(histogramQuantile(0.99, buckets, count)),
    answered === 0 ? '-' : percent(failed / answered),
    seconds === undefined ? String(sum(requests)) : rate(sum(requests), seconds)
  ]
}

function columns (cells: string[], poolWidth: number): string {
  const [pool = '', ...rest] = cells
  return [fitMiddle(pool, poolWidth).padEnd(poolWidth), ...rest.map((c, i) => i === 0 || i === 1 ? c.padEnd(columnWidths[i] ?? 8) : c.padStart(columnWidths[i] ?? 8))].join('  ')
}

function delta (now: Record<string, number>, before: Record<string, number> | undefined): Record<string, number> {
  if (before === undefined) return now
  return Object.fromEntries(Object.entries(now).map(([k, v]) => [k, Math.max(0, v - (before[k] ?? 0))]))
}

function sum (values: Record<string, number>): number {
  return Object.values(values).reduce((a, b) => a + b, 0)
}

/** A peer id as `12D3…Xy9aBc`: the tail tells providers apart, the head what kind of id it is. */
function shortId (id: string): string {
  return id.length <= 13 ? id : `${id.slice(0, 4)}…${id.slice(-8)}`
}

function fit (text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`
}

/** Cuts the middle out: pool names share their start (`cid:bafybei…`), and differ at both ends. */
function fitMiddle (text: string, width: number): string {
  if (text.length <= width) return text
  const head = Math.ceil((width - 1) / 2)
  return `${text.slice(0, head)}…${text.slice(text.length - (width - 1 - head))}`
}

function rate (n: number, seconds: number): string {
  const r = seconds > 0 ? n / seconds : 0
  return r >= 100 ? r.toFixed(0) : r.toFixed(1)
}

function percent (fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`
}

function formatScore (score: number): string {
  return Math.abs(score) >= 1000 ? score.toExponential(1) : score.toFixed(2)
}

function formatSeconds (s: number | undefined): string {
  if (s === undefined) return '-'
  if (s < 0.001) return `${Math.round(s * 1e6)}µs`
  if (s < 1) return `${(s * 1000).toFixed(s < 0.01 ? 1 : 0)}ms`
  return `${s.toFixed(2)}s`
}

function formatInterval (ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${Number((ms / 1000).toFixed(1))}s`
}
