/**
 * Runs the adversarial market simulation and prints its metrics against the targets.
 *
 * ```
 * npm run sim:market                       # seed 1, 1,000 providers, 200 operators, 30 % adversarial
 * npm run sim:market -- --seed 7 --periods 200
 * npm run sim:market -- --seed 7 --json    # machine-readable
 * ```
 * The same seed gives the same numbers (the run is deterministic). Exit code 1 when a target is missed.
 */
import { parseArgs } from 'node:util'
import { defaultMarketSim, runMarketSimulation, type MarketSimResult } from './market-sim.ts'

const usage = 'usage: node src/sim/market-cli.ts [--seed S] [--periods P] [--providers N] [--operators N] [--adversarial 0.3] [--deals D] [--json] [--no-anchor]'

interface Row { metric: string, value: string, anchor: string, target: string, ok: boolean | undefined }

/** The table: our rules' figures, and beside them the same world under an unchecked market (pays every period, caps per key). */
export function targetRows (r: MarketSimResult, a: MarketSimResult | undefined): Row[] {
  const pct = (x: number, digits = 2): string => `${(x * 100).toFixed(digits)} %`
  const periods = (x: number | undefined): string => x === undefined ? 'n/a' : `${x} periods`
  const anchor = (f: (a: MarketSimResult) => string): string => a === undefined ? '' : f(a)
  return [
    { metric: 'escrow paid to cheating providers (for undelivered periods)', value: pct(r.paidUndeliveredShare, 3), anchor: anchor(a => pct(a.paidUndeliveredShare, 1)), target: '≤ 1 %', ok: r.paidUndeliveredShare <= 0.01 },
    { metric: 'escrow paid to cheating providers (any period, incl. delivered)', value: pct(r.paidToCheatersShare, 3), anchor: anchor(a => pct(a.paidToCheatersShare, 1)), target: '≤ 1 %', ok: r.paidToCheatersShare <= 0.01 },
    { metric: 'honest providers wrongly penalised', value: `${pct(r.honestWronglyPenalisedShare, 3)} (${r.honestWronglyPenalised})`, anchor: anchor(() => 'none (nobody is)'), target: '≤ 0.1 %', ok: r.honestWronglyPenalisedShare <= 0.001 },
    { metric: 'honest providers penalised after a real outage', value: String(r.honestPenalisedForOutage), anchor: '', target: '(context)', ok: undefined },
    { metric: 'largest operator share (peak, real operators)', value: `${pct(r.largestRealOperatorShare, 1)} (group ${r.largestOperatorGroup}: ${pct(r.largestOperatorShare, 1)})`, anchor: anchor(a => pct(a.largestRealOperatorShare, 1)), target: '≤ 20 %', ok: r.largestRealOperatorShare <= 0.2 },
    { metric: 'market HHI (peak, real operators)', value: String(r.hhiRealOperators), anchor: anchor(a => String(a.hhiRealOperators)), target: '≤ 1,800', ok: r.hhiRealOperators <= 1800 },
    { metric: 'newcomers\' share of placements', value: pct(r.newcomerPlacementShare, 1), anchor: anchor(a => pct(a.newcomerPlacementShare, 1)), target: '≥ 5 %', ok: r.newcomerPlacementShare >= 0.05 },
    { metric: 'good newcomer to half a mature share: median / p90', value: `${periods(r.newcomerHalfShareMedian)} / ${periods(r.newcomerHalfShareP90)} (${r.goodNewcomers - r.newcomersNotThere}/${r.goodNewcomers})`, anchor: anchor(a => `${periods(a.newcomerHalfShareMedian)} / ${periods(a.newcomerHalfShareP90)}`), target: '(report)', ok: undefined },
    { metric: 'going bad to replaced: median / p99 / max', value: `${periods(r.replacementMedian)} / ${periods(r.replacementP99)} / ${periods(r.replacementMax)} (${r.replacements})`, anchor: anchor(() => 'never'), target: '≤ 2 periods', ok: (r.replacementP99 ?? 0) <= 2 },
    { metric: 'data lost (deals)', value: String(r.dataLost), anchor: anchor(a => String(a.dataLost)), target: 'none', ok: r.dataLost === 0 },
    { metric: `data lost during the ${r.warmupPeriods}-period launch (no records yet)`, value: String(r.dataLostWarmup), anchor: anchor(a => String(a.dataLostWarmup)), target: '(context)', ok: undefined }
  ]
}

function main (): number {
  let args
  try {
    args = parseArgs({
      options: {
        seed: { type: 'string' }, periods: { type: 'string' }, providers: { type: 'string' }, operators: { type: 'string' },
        adversarial: { type: 'string' }, deals: { type: 'string' }, json: { type: 'boolean' }, 'no-anchor': { type: 'boolean' }, help: { type: 'boolean' }
      },
      strict: true
    }).values
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`)
    return 2
  }
  if (args.help === true) { console.log(usage); return 0 }
  const num = (v: string | undefined, name: string, fallback: number): number => {
    if (v === undefined) return fallback
    const n = Number(v)
    if (!Number.isFinite(n) || n < 0) throw new RangeError(`--${name} must be a non-negative number`)
    return n
  }
  let result: MarketSimResult
  let anchor: MarketSimResult | undefined
  let options
  const started = performance.now()
  try {
    options = {
      seed: num(args.seed, 'seed', defaultMarketSim.seed),
      periods: num(args.periods, 'periods', defaultMarketSim.periods),
      providers: num(args.providers, 'providers', defaultMarketSim.providers),
      operators: num(args.operators, 'operators', defaultMarketSim.operators),
      adversarialShare: num(args.adversarial, 'adversarial', defaultMarketSim.adversarialShare),
      dealsPerPeriod: num(args.deals, 'deals', defaultMarketSim.dealsPerPeriod)
    }
    result = runMarketSimulation(options)
  } catch (err) {
    if (err instanceof RangeError) { console.error(`${err.message}\n${usage}`); return 2 }
    throw err
  }
  const wallMs = Math.round(performance.now() - started)
  if (args['no-anchor'] !== true) anchor = runMarketSimulation({ ...options, unchecked: true })
  const rows = targetRows(result, anchor)
  const ok = rows.every(r => r.ok !== false)
  if (args.json === true) {
    console.log(JSON.stringify({ ...result, targetsMet: ok, wallMs, ...(anchor === undefined ? {} : { anchor }) }, null, 2))
    return ok ? 0 : 1
  }
  console.log(`market simulation, seed ${result.seed}: ${result.providers} providers, ${result.operators} operator keys, ${result.periods} periods (measured after a ${result.warmupPeriods}-period launch), ${result.deals} deals (${wallMs} ms)`)
  console.log('anchor: the same world and load in a market that pays every holder every period without evidence and caps each operator key on its own')
  console.table(rows.map(r => ({ metric: r.metric, value: r.value, anchor: r.anchor, target: r.target, met: r.ok === undefined ? '' : r.ok ? 'yes' : 'NO' })))
  const tx = result.txPerPeriod
  console.log(`ledger load per period: ${tx.auditResults.toFixed(0)} audit-result + ${tx.settles.toFixed(1)} settle + ${tx.answers.toFixed(1)} audit-answer + ${tx.replacements.toFixed(1)} replacement = ${tx.total.toFixed(0)} transactions for ${tx.activeDeals.toFixed(0)} active deals`)
  console.log(`escrow: in ${result.escrow.deposited} = paid ${result.escrow.paid} + refunded ${result.escrow.refunded} + held ${result.escrow.held}; slashed to clients ${result.slashedToClients}, burnt ${result.burnt}`)
  console.log(`reference price (start 100): end ${result.referencePrice.end}, range ${result.referencePrice.min}..${result.referencePrice.max}; peak regional utilisation ${(result.maxUtilisation * 100).toFixed(0)} %`)
  return ok ? 0 : 1
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = main()
