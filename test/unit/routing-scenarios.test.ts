/**
 * Routed calls under load, on virtual time: five simulated providers (test doubles of remote
 * providers: async functions with seeded latency and failure), a steady stream of calls, and the
 * failure modes of the routing issue — one provider killed, one 10× slower, one answering fast
 * garbage, most of the pool failing, a provider that recovers — plus the hedge and retry budgets,
 * region preference and determinism. Assertions are about behaviour (who got traffic, what the
 * callers saw), never wall-clock time.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { seededRandom, type Random } from '../../src/foundations/clock.ts'
import { UnavailableError } from '../../src/foundations/errors.ts'
import type { PoolSnapshot, RoutingConfig } from '../../src/core/routing/index.ts'
import { createRoutingPool, poolSnapshot, routedCall, VirtualTimers, type FailureKind, type RoutingPool } from '../../src/services/routing/index.ts'

/** What a simulated provider does with one request that arrives at `now`. */
interface Behaviour { latencyMs: number, fails?: 'error' | 'garbage' }
type Model = (now: number, jitter: Random) => Behaviour

/** A healthy provider: `baseMs` ± 25%, and 2% of answers 4× slower (a tail). */
const healthy = (baseMs = 20): Model => (_now, j) => ({ latencyMs: baseMs * (0.75 + 0.5 * j.next()) * (j.next() < 0.02 ? 4 : 1) })

class WrongAnswerError extends Error {}
class ProviderDownError extends Error {}
const classify = (err: unknown): FailureKind => err instanceof WrongAnswerError ? 'wrong' : 'error'

interface SimInit {
  providers: Array<{ id: string, region?: string, model: Model }>
  seed?: number
  region?: string
  callsPerSecond?: number
  durationMs?: number
  hedge?: boolean
  retries?: number
  config?: Partial<RoutingConfig>
  /** Take a snapshot every this many ms of virtual time. */
  snapshotEveryMs?: number
}

interface SimRun {
  pool: RoutingPool
  /** Every attempt: provider and start time. */
  attempts: Array<{ id: string, atMs: number }>
  calls: Array<{ startMs: number, endMs: number, ok: boolean, error?: unknown, value?: string }>
  snapshots: PoolSnapshot[]
}

/** Runs a steady call load against simulated providers, all on virtual time. */
async function simulate (init: SimInit): Promise<SimRun> {
  const timers = new VirtualTimers()
  const pool = createRoutingPool({
    name: 'service:sim.key',
    providers: init.providers.map(p => p.region === undefined ? { id: p.id } : { id: p.id, region: p.region }),
    timers,
    random: seededRandom(init.seed ?? 1),
    ...(init.region === undefined ? {} : { region: init.region }),
    ...(init.config === undefined ? {} : { config: init.config })
  })
  const jitter = seededRandom((init.seed ?? 1) + 1000)
  const models = new Map(init.providers.map(p => [p.id, p.model]))
  const run: SimRun = { pool, attempts: [], calls: [], snapshots: [] }
  const attemptFn = async (id: string, signal: AbortSignal): Promise<string> => {
    const b = models.get(id)!(timers.now(), jitter)
    run.attempts.push({ id, atMs: timers.now() })
    await timers.sleep(b.latencyMs, signal)
    if (b.fails === 'error') throw new ProviderDownError(`${id} refused the connection`)
    const body = b.fails === 'garbage' ? 'garbage' : 'the right answer'
    if (body !== 'the right answer') throw new WrongAnswerError(`${id} sent bytes that do not match the hash`) // the client's verification
    return body
  }
  const intervalMs = 1000 / (init.callsPerSecond ?? 100)
  const durationMs = init.durationMs ?? 10_000
  const tick = (): void => {
    if (timers.now() >= durationMs) return
    const startMs = timers.now()
    const opts = { classify, attemptTimeoutMs: 2000, ...(init.hedge === undefined ? {} : { hedge: init.hedge }), ...(init.retries === undefined ? {} : { retries: init.retries }) }
    routedCall(pool, attemptFn, opts).then(
      (value) => { run.calls.push({ startMs, endMs: timers.now(), ok: true, value }) },
      (error: unknown) => { run.calls.push({ startMs, endMs: timers.now(), ok: false, error }) }
    )
    timers.setTimer(tick, intervalMs)
  }
  timers.setTimer(tick, 0)
  if (init.snapshotEveryMs !== undefined) {
    const every = init.snapshotEveryMs
    const snap = (): void => {
      run.snapshots.push(poolSnapshot(pool))
      if (timers.now() < durationMs) timers.setTimer(snap, every)
    }
    timers.setTimer(snap, every)
  }
  await timers.run()
  return run
}

const five = (overrides: Record<string, Model> = {}): SimInit['providers'] =>
  ['p1', 'p2', 'p3', 'p4', 'p5'].map(id => ({ id, model: overrides[id] ?? healthy() }))

/** Share of attempts in [fromMs, toMs) that went to `id`. */
function share (run: SimRun, id: string, fromMs = 0, toMs = Number.POSITIVE_INFINITY): number {
  const inWindow = run.attempts.filter(a => a.atMs >= fromMs && a.atMs < toMs)
  return inWindow.filter(a => a.id === id).length / inWindow.length
}

function quantile (values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!
}

const failed = (run: SimRun): number => run.calls.filter(c => !c.ok).length

describe('routing under failure', () => {
  it('a killed provider: after a few failures it gets only probation probes, and no call fails', async () => {
    const killAtMs = 2000
    const run = await simulate({ providers: five({ p3: (now, j) => now >= killAtMs ? { latencyMs: 1, fails: 'error' } : healthy()(now, j) }), callsPerSecond: 200 })
    assert.equal(run.calls.length, 2000)
    assert.equal(failed(run), 0, 'retries hide the dead provider from every caller')
    const after = run.attempts.filter(a => a.id === 'p3' && a.atMs >= killAtMs)
    const noticed = after.filter(a => a.atMs < killAtMs + 1000).length
    const later = after.filter(a => a.atMs >= killAtMs + 1000).length
    assert.ok(noticed >= 3 && noticed <= 8, `${noticed} requests reached it in its first second dead`)
    assert.ok(later <= 5, `${later} probes in the next 7 s (back-off 1, 2, 4 s)`)
    const p3 = run.pool.state.providers.get('p3')!
    assert.ok(p3.ejections >= 3, `ejected ${p3.ejections} times`)
  })

  it('a 10× slower provider drops below 5% of the traffic within 10 s', async () => {
    const run = await simulate({ providers: five({ p2: healthy(200) }), callsPerSecond: 100 })
    assert.equal(failed(run), 0)
    const firstSecond = share(run, 'p2', 0, 1000)
    const lastFive = share(run, 'p2', 5000, 10_000)
    assert.ok(lastFive < 0.05, `share of the slow one over 5–10 s: ${lastFive}`)
    assert.ok(share(run, 'p2') < 0.05, `share over the whole run: ${share(run, 'p2')}`)
    assert.ok(firstSecond < 0.1, `it was found out within the first second (share ${firstSecond})`)
  })

  it('a provider answering fast garbage is ejected at once, never wins on speed, and callers never see garbage', async () => {
    const run = await simulate({ providers: five({ p4: () => ({ latencyMs: 1, fails: 'garbage' }) }), callsPerSecond: 100, snapshotEveryMs: 100 })
    assert.equal(failed(run), 0)
    assert.ok(run.calls.every(c => c.value === 'the right answer'))
    const first = run.attempts.find(a => a.id === 'p4')!
    const snap = run.pool.state.providers.get('p4')!
    assert.equal(snap.wrong, run.attempts.filter(a => a.id === 'p4').length, 'every request to it was a wrong answer')
    assert.ok(snap.wrong <= 6, `only the first answer and probation probes reached it: ${snap.wrong}`)
    assert.equal(snap.ejections, snap.wrong, 'each wrong answer ejected it at once')
    assert.ok(first.atMs < 1000)
    assert.equal(poolSnapshot(run.pool).providers.find(p => p.id === 'p4')!.p50Ms, undefined, 'its 1 ms answers are no latency samples')
    for (const s of run.snapshots) {
      const [p4, ...others] = [s.providers.find(p => p.id === 'p4')!, ...s.providers.filter(p => p.id !== 'p4')]
      assert.ok(p4.cost > Math.min(...others.map(p => p.cost)), `at ${s.calls} calls it looked cheapest: ${p4.cost}`)
    }
  })

  it('with 4 of 5 failing, at most half the pool is ever ejected and the healthy one serves', async () => {
    const down = (): Behaviour => ({ latencyMs: 2, fails: 'error' })
    const run = await simulate({ providers: five({ p1: down, p2: down, p3: down, p4: down }), callsPerSecond: 50, retries: 4, snapshotEveryMs: 50 })
    const maxEjected = Math.max(...run.snapshots.map(s => s.providers.filter(p => p.state === 'ejected').length))
    assert.equal(maxEjected, 2)
    assert.ok(run.snapshots.every(s => s.providers.find(p => p.id === 'p5')!.state === 'active'))
    const ok = run.calls.filter(c => c.ok).length
    assert.ok(ok > 0.8 * run.calls.length, `${ok} of ${run.calls.length} calls answered by the one healthy provider`)
  })

  it('probation re-admits a provider that recovered, and it gets its share back', async () => {
    const outage: Model = (now, j) => now >= 2000 && now < 4000 ? { latencyMs: 1, fails: 'error' } : healthy()(now, j)
    const run = await simulate({ providers: five({ p1: outage }), callsPerSecond: 100, durationMs: 15_000, snapshotEveryMs: 100 })
    assert.equal(failed(run), 0)
    assert.ok(run.snapshots.some(s => s.providers[0]!.state === 'ejected'), 'ejected during its outage')
    assert.ok(run.snapshots.some(s => s.providers[0]!.state === 'probation'), 'then on probation')
    const p1 = poolSnapshot(run.pool).providers[0]!
    assert.equal(p1.state, 'active')
    const recovered = share(run, 'p1', 10_000, 15_000)
    assert.ok(recovered > 0.1, `its share over 10–15 s: ${recovered}`)
  })

  it('one early failure does not keep a provider out for good', async () => {
    const flakyStart: Model = (now, j) => now < 200 ? { latencyMs: 1, fails: 'error' } : healthy()(now, j)
    const run = await simulate({ providers: five({ p1: flakyStart }), callsPerSecond: 50, durationMs: 40_000 })
    assert.equal(failed(run), 0)
    const back = share(run, 'p1', 30_000, 40_000)
    assert.ok(back > 0.1, `its share over 30–40 s: ${back}`)
  })
})

/**
 * A closed-loop load like the benchmark's: `loops` callers each waiting for an answer before the
 * next call, so requests in flight matter; providers slow down a little with their own load.
 * One provider (`p2`) turns to `fault` at `faultAtMs`. Returns the callers' latencies of the
 * calls started after the fault and every attempt.
 */
async function closedLoop (fault: 'none' | 'slow' | 'error500', seed: number): Promise<{ latencies: number[], attempts: Array<{ id: string, atMs: number }>, failed: number, pool: RoutingPool }> {
  const timers = new VirtualTimers()
  const ids = ['p1', 'p2', 'p3', 'p4', 'p5']
  const pool = createRoutingPool({ name: 'service:loop.key', providers: ids.map(id => ({ id })), timers, random: seededRandom(seed) })
  const jitter = seededRandom(seed + 1000)
  const inFlight = new Map(ids.map(id => [id, 0]))
  const faultAtMs = 2000
  const endMs = 14_000
  const attempts: Array<{ id: string, atMs: number }> = []
  const attempt = async (id: string, signal: AbortSignal): Promise<string> => {
    const now = timers.now()
    attempts.push({ id, atMs: now })
    const load = inFlight.get(id)!
    inFlight.set(id, load + 1)
    try {
      // ~30 ms, up with the provider's load, log-normal-ish spread and a 1.5% 3× tail
      let ms = 30 * (1 + 0.2 * load) * Math.exp(0.35 * (jitter.next() + jitter.next() + jitter.next() - 1.5)) * (jitter.next() < 0.015 ? 3 : 1)
      const faulty = id === 'p2' && now >= faultAtMs
      if (faulty && fault === 'error500') {
        await timers.sleep(ms * 0.4, signal)
        throw new ProviderDownError(`${id} answered 500`)
      }
      if (faulty && fault === 'slow') ms += 300
      await timers.sleep(ms, signal)
      return 'the right answer'
    } finally {
      inFlight.set(id, inFlight.get(id)! - 1)
    }
  }
  const latencies: number[] = []
  let failed = 0
  for (let i = 0; i < 8; i++) {
    void (async () => {
      while (timers.now() < endMs) {
        const startMs = timers.now()
        try {
          await routedCall(pool, attempt, { classify })
          if (startMs >= faultAtMs) latencies.push(timers.now() - startMs)
        } catch {
          failed++
        }
      }
    })()
  }
  await timers.run()
  return { latencies, attempts, failed, pool }
}

describe('routing under failure, closed-loop load', () => {
  const seeds = [1, 2, 3, 4]
  const meanP99 = async (fault: 'none' | 'slow' | 'error500'): Promise<{ p99: number, runs: Array<Awaited<ReturnType<typeof closedLoop>>> }> => {
    const runs = await Promise.all(seeds.map(async seed => await closedLoop(fault, seed)))
    return { p99: runs.reduce((n, r) => n + quantile(r.latencies, 0.99), 0) / runs.length, runs }
  }

  it('a 10× slower provider: under 1% of the attempts after 5 s, and the callers\' p99 within 1.25× of the healthy runs', async () => {
    const healthy = await meanP99('none')
    const slow = await meanP99('slow')
    for (const run of slow.runs) {
      assert.equal(run.failed, 0)
      const late = run.attempts.filter(a => a.atMs >= 7000)
      const share = late.filter(a => a.id === 'p2').length / late.length
      assert.ok(share < 0.01, `its share of attempts 5–12 s after it slowed down: ${share}`)
    }
    assert.ok(slow.p99 <= 1.25 * healthy.p99, `p99 ${slow.p99.toFixed(1)} ms with one slow, ${healthy.p99.toFixed(1)} ms healthy`)
  })

  it('a provider answering 500 fast: ejected, gets next to no traffic, and the callers\' p99 within 1.25× of the healthy runs', async () => {
    const healthy = await meanP99('none')
    const broken = await meanP99('error500')
    for (const run of broken.runs) {
      assert.equal(run.failed, 0, 'every 500 was retried elsewhere')
      const p2 = poolSnapshot(run.pool).providers.find(p => p.id === 'p2')!
      assert.ok(p2.ejections >= 1, 'ejected')
      const after = run.attempts.filter(a => a.atMs >= 3000)
      const share = after.filter(a => a.id === 'p2').length / after.length
      assert.ok(share < 0.005, `its share of attempts after its first second failing: ${share}`)
    }
    assert.ok(broken.p99 <= 1.25 * healthy.p99, `p99 ${broken.p99.toFixed(1)} ms with one answering 500, ${healthy.p99.toFixed(1)} ms healthy`)
  })
})

describe('hedges and retries', () => {
  it('hedging stays within 5% extra requests and cuts the tail', async () => {
    // 2% of answers are 10× slow, from any provider: a tail above the hedge quantile (p97.5)
    const tail: Model = (_now, j) => ({ latencyMs: j.next() < 0.02 ? 200 : 20 })
    const providers = five({ p1: tail, p2: tail, p3: tail, p4: tail, p5: tail })
    const hedged = await simulate({ providers, callsPerSecond: 100, hedge: true })
    const plain = await simulate({ providers, callsPerSecond: 100, hedge: false })
    const s = poolSnapshot(hedged.pool)
    assert.ok(s.hedges > 0)
    assert.ok(s.hedges <= 0.05 * s.calls, `${s.hedges} hedges for ${s.calls} calls`)
    assert.ok(hedged.attempts.length - hedged.calls.length <= 0.05 * hedged.calls.length)
    const p99 = (run: SimRun): number => quantile(run.calls.map(c => c.endMs - c.startMs), 0.99)
    assert.ok(p99(hedged) < p99(plain), `p99 hedged ${p99(hedged)} ms, plain ${p99(plain)} ms`)
    const loserFailures = poolSnapshot(hedged.pool).providers.reduce((n, p) => n + p.errors, 0)
    assert.equal(loserFailures, 0, 'cancelled hedge losers are not failures')
  })

  it('the retry budget stops a retry storm when every provider fails', async () => {
    const down = (): Behaviour => ({ latencyMs: 2, fails: 'error' })
    const run = await simulate({ providers: five({ p1: down, p2: down, p3: down, p4: down, p5: down }), callsPerSecond: 100, retries: 4 })
    assert.equal(run.calls.length, 1000)
    assert.equal(failed(run), 1000)
    assert.ok(run.calls.every(c => c.error instanceof UnavailableError))
    // without a budget: 5 attempts per call; with it: calls + 10% + 10 saved + 5/s
    assert.ok(run.attempts.length <= 1000 + 100 + 10 + 50 + 1, `${run.attempts.length} attempts for 1000 calls`)
    assert.match(String((run.calls.at(-1)!.error as Error).message), /retry budget is spent|retries of this call are used|no other provider/)
  })
})

describe('regions and determinism', () => {
  it('prefers providers in the client\'s region, and spills to others when the near ones are slow', async () => {
    const providers = [
      { id: 'eu1', region: 'eu-west', model: healthy(20) }, { id: 'eu2', region: 'eu-west', model: healthy(20) },
      { id: 'us1', region: 'us-east', model: healthy(20) }, { id: 'us2', region: 'us-east', model: healthy(20) }, { id: 'ap1', region: 'ap-south', model: healthy(20) }
    ]
    const run = await simulate({ providers, region: 'eu-west', callsPerSecond: 20 })
    const near = run.attempts.filter(a => a.id.startsWith('eu')).length / run.attempts.length
    assert.ok(near > 0.9, `near share ${near}`)
    const slowNear = await simulate({ providers: providers.map(p => p.id.startsWith('eu') ? { ...p, model: healthy(100) } : p), region: 'eu-west', callsPerSecond: 20 })
    const nearWhenSlow = slowNear.attempts.filter(a => a.id.startsWith('eu') && a.atMs >= 2000).length / slowNear.attempts.filter(a => a.atMs >= 2000).length
    assert.ok(nearWhenSlow < 0.3, `near share when 5× slower: ${nearWhenSlow}`)
  })

  it('the same seed gives the same run, attempt for attempt', async () => {
    const providers = five({ p2: healthy(60), p3: (now, j) => now > 1000 && now < 2000 ? { latencyMs: 1, fails: 'error' } : healthy()(now, j) })
    const a = await simulate({ providers, seed: 5, durationMs: 3000 })
    const b = await simulate({ providers, seed: 5, durationMs: 3000 })
    const c = await simulate({ providers, seed: 6, durationMs: 3000 })
    assert.deepEqual(a.attempts, b.attempts)
    assert.deepEqual(a.calls.map(x => [x.startMs, x.endMs, x.ok]), b.calls.map(x => [x.startMs, x.endMs, x.ok]))
    assert.notDeepEqual(a.attempts.map(x => x.id), c.attempts.map(x => x.id))
  })
})
