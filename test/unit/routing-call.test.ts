/**
 * `routedCall` case by case, on virtual time with simulated providers (test doubles of remote
 * providers): the first answer wins and the hedge loser is aborted without blame, the caller's
 * signal aborts everything, the deadline, per-attempt timeouts, fatal errors, the message when
 * every provider failed; and the `RoutingPools` registry.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { seededRandom } from '../../src/foundations/clock.ts'
import { MalformedMessageError, TimeoutError, UnavailableError } from '../../src/foundations/errors.ts'
import { createRoutingPool, poolSnapshot, routedCall, RoutingPools, VirtualTimers, type RoutingEvents, type RoutingPool } from '../../src/services/routing/index.ts'

function poolOf (timers: VirtualTimers, n: number, seed = 1): RoutingPool {
  return createRoutingPool({ name: 'service:t.key', providers: Array.from({ length: n }, (_, i) => ({ id: `p${i}` })), timers, random: seededRandom(seed) })
}

/** Warms a pool up with `calls` quick answers of `ms` each, so it has a p95 and hedge tokens. */
async function warm (timers: VirtualTimers, pool: RoutingPool, calls: number, ms: number): Promise<void> {
  for (let i = 0; i < calls; i++) await timers.runUntil(routedCall(pool, async (id, signal) => { await timers.sleep(ms, signal); return id }, { hedge: false }))
}

const provider = (s: ReturnType<typeof poolSnapshot>, id: string): ReturnType<typeof poolSnapshot>['providers'][number] => s.providers.find(p => p.id === id)!

describe('routedCall', () => {
  it('returns the answer and measures it', async () => {
    const timers = new VirtualTimers()
    const pool = poolOf(timers, 3)
    const answer = await timers.runUntil(routedCall(pool, async (id, signal) => { await timers.sleep(25, signal); return `hello from ${id}` }))
    assert.match(answer, /^hello from p\d$/)
    assert.equal(timers.now(), 25)
    const s = poolSnapshot(pool)
    assert.equal(s.calls, 1)
    assert.equal(s.providers.reduce((n, p) => n + p.ok, 0), 1)
    assert.equal(s.p50Ms, 25)
  })

  it('hedges a slow call after the pool\'s hedge quantile on another provider; the first answer wins, the loser runs on to be measured, is not blamed, and its late answer is discarded', async () => {
    const timers = new VirtualTimers()
    const pool = poolOf(timers, 3)
    await warm(timers, pool, 40, 20)
    const signals = new Map<string, AbortSignal>()
    const discarded: string[] = []
    let slowOne: string | undefined
    const t0 = timers.now()
    const call = routedCall(pool, async (id, signal) => {
      signals.set(id, signal)
      slowOne ??= id
      await timers.sleep(id === slowOne ? 1000 : 20, signal)
      return id
    }, { discard: (late) => { discarded.push(late) } })
    const winner = await timers.runUntil(call)
    assert.notEqual(winner, slowOne)
    assert.equal(timers.now() - t0, 20 + 20, 'hedged at the hedge quantile (20 ms), answered 20 ms later')
    assert.equal(signals.get(slowOne!)!.aborted, false, 'the loser is not cut off')
    assert.equal(provider(poolSnapshot(pool), slowOne!).inFlight, 1, 'and still counts as in flight')
    await timers.run()
    assert.deepEqual(discarded, [slowOne], 'its late answer went to discard, not to the caller')
    const s = poolSnapshot(pool)
    assert.equal(s.hedges, 1)
    const loser = provider(s, slowOne!)
    assert.equal(loser.errors, 0)
    assert.equal(loser.inFlight, 0)
    assert.equal(loser.state, 'active')
    assert.equal(loser.peakEwmaMs, 1000, 'its real latency was measured, not just the hedge delay')
  })

  it('a hedge loser that hangs times out as a failure of its provider after the call answered', async () => {
    const timers = new VirtualTimers()
    const pool = poolOf(timers, 3)
    await warm(timers, pool, 40, 20)
    let hung: string | undefined
    const call = routedCall(pool, async (id, signal) => {
      hung ??= id
      await timers.sleep(id === hung ? 1_000_000 : 20, signal)
      return id
    }, { attemptTimeoutMs: 500 })
    assert.notEqual(await timers.runUntil(call), hung)
    await timers.run()
    const loser = provider(poolSnapshot(pool), hung!)
    assert.equal(loser.timeouts, 1)
    assert.equal(loser.inFlight, 0)
    assert.ok(loser.peakEwmaMs! >= 500, `measured at least its timeout: ${loser.peakEwmaMs}`)
  })

  it('does not hedge when told not to, or before the pool has a p95', async () => {
    const timers = new VirtualTimers()
    const pool = poolOf(timers, 3)
    let attempts = 0
    await timers.runUntil(routedCall(pool, async (_id, signal) => { attempts++; await timers.sleep(500, signal) }))
    assert.equal(attempts, 1, 'no p95 yet')
    await warm(timers, pool, 40, 20)
    attempts = 0
    await timers.runUntil(routedCall(pool, async (_id, signal) => { attempts++; await timers.sleep(500, signal) }, { hedge: false }))
    assert.equal(attempts, 1)
  })

  it('retries a failure on another provider', async () => {
    const timers = new VirtualTimers()
    const pool = poolOf(timers, 3)
    const asked: string[] = []
    const answer = await timers.runUntil(routedCall(pool, async (id, signal) => {
      asked.push(id)
      await timers.sleep(5, signal)
      if (asked.length === 1) throw new Error('connection reset')
      return id
    }))
    assert.equal(asked.length, 2)
    assert.notEqual(asked[0], asked[1])
    assert.equal(answer, asked[1])
    const s = poolSnapshot(pool)
    assert.equal(provider(s, asked[0]!).errors, 1)
    assert.equal(s.retries, 1)
  })

  it('the caller\'s signal aborts every attempt at once, with its reason, and blames no one', async () => {
    const timers = new VirtualTimers()
    const pool = poolOf(timers, 3)
    await warm(timers, pool, 40, 20)
    const controller = new AbortController()
    const signals: AbortSignal[] = []
    const t0 = timers.now()
    const call = routedCall(pool, async (_id, signal) => { signals.push(signal); await timers.sleep(1000, signal) }, { signal: controller.signal })
    timers.setTimer(() => { controller.abort(new Error('user went away')) }, 100)
    await assert.rejects(timers.runUntil(call), /user went away/)
    assert.equal(signals.length, 2, 'the first attempt and its hedge')
    assert.ok(signals.every(s => s.aborted))
    assert.equal(timers.now() - t0, 100)
    const s = poolSnapshot(pool)
    assert.ok(s.providers.every(p => p.inFlight === 0 && p.errors === 0))
    assert.equal(timers.pending, 0, 'no timer of the call is left behind')
    await assert.rejects(routedCall(pool, async () => 1, { signal: controller.signal }), /user went away/, 'an aborted signal fails at once')
  })

  it('the deadline ends the call with a TimeoutError naming what each provider did', async () => {
    const timers = new VirtualTimers()
    const pool = poolOf(timers, 2)
    const signals: AbortSignal[] = []
    const call = routedCall(pool, async (_id, signal) => { signals.push(signal); await timers.sleep(10_000, signal) }, { deadlineMs: 300, hedge: false })
    const err = await timers.runUntil(call).then(() => undefined, (e: unknown) => e)
    assert.ok(err instanceof TimeoutError)
    assert.match(err.message, /within the call's deadline of 300 ms/)
    assert.match(err.message, /p\d: still running/)
    assert.equal(timers.now(), 300)
    assert.ok(signals.every(s => s.aborted))
    assert.ok(poolSnapshot(pool).providers.every(p => p.errors === 0 && p.inFlight === 0))
  })

  it('an attempt silent past attemptTimeoutMs is a timeout, and the call moves on', async () => {
    const timers = new VirtualTimers()
    const pool = poolOf(timers, 2)
    let first: string | undefined
    const answer = await timers.runUntil(routedCall(pool, async (id, signal) => {
      first ??= id
      await timers.sleep(id === first ? 60_000 : 10, signal)
      return id
    }, { attemptTimeoutMs: 500, hedge: false }))
    assert.notEqual(answer, first)
    assert.equal(timers.now(), 510)
    const s = provider(poolSnapshot(pool), first!)
    assert.equal(s.timeouts, 1)
    assert.ok(s.peakEwmaMs! >= 500, 'a timeout is a lower bound on its latency')
  })

  it('a fatal error (the caller\'s fault) is thrown as is: no retry, no blame', async () => {
    const timers = new VirtualTimers()
    const pool = poolOf(timers, 3)
    class BadRequest extends Error {}
    let attempts = 0
    const call = routedCall(pool, async (_id, signal) => { attempts++; await timers.sleep(5, signal); throw new BadRequest('no such key') }, {
      classify: (err) => err instanceof BadRequest ? 'fatal' : 'error'
    })
    await assert.rejects(timers.runUntil(call), BadRequest)
    assert.equal(attempts, 1)
    assert.ok(poolSnapshot(pool).providers.every(p => p.errors === 0 && p.consecutiveFailures === 0))
  })

  it('when every provider failed, an UnavailableError says what each one did', async () => {
    const timers = new VirtualTimers()
    const pool = poolOf(timers, 3)
    const call = routedCall(pool, async (id, signal) => { await timers.sleep(5, signal); throw new Error(`${id} is on fire`) }, { retries: 5 })
    const err = await timers.runUntil(call).then(() => undefined, (e: unknown) => e)
    assert.ok(err instanceof UnavailableError)
    for (const id of ['p0', 'p1', 'p2']) assert.match(err.message, new RegExp(`${id}: error \\(Error: ${id} is on fire\\)`))
    assert.match(err.message, /no other provider is selectable/)
    const noRetry = routedCall(pool, async () => { throw new Error('down') }, { retries: 0 })
    await assert.rejects(timers.runUntil(noRetry), /retries are off for this call/)
  })

  it('an attempt that throws synchronously counts as a failure like any other', async () => {
    const timers = new VirtualTimers()
    const pool = poolOf(timers, 2)
    let n = 0
    const answer = await timers.runUntil(routedCall(pool, (id) => {
      if (n++ === 0) throw new Error('sync boom')
      return Promise.resolve(id)
    }))
    assert.equal(n, 2)
    assert.match(answer, /^p\d$/)
  })

  it('a classify that throws rejects the call with its error and leaves nothing in flight', async () => {
    const timers = new VirtualTimers()
    const pool = poolOf(timers, 2)
    const call = routedCall(pool, async () => { throw new Error('down') }, { classify: () => { throw new RangeError('classify is broken') } })
    await assert.rejects(timers.runUntil(call), RangeError)
    assert.ok(poolSnapshot(pool).providers.every(p => p.inFlight === 0))
  })

  it('runs on real time by default', async () => {
    const pool = createRoutingPool({ name: 'real', providers: [{ id: 'a' }, { id: 'b' }] })
    const answer = await routedCall(pool, async (id, signal) => {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, 5)
        signal.addEventListener('abort', () => { clearTimeout(t); reject(signal.reason) }, { once: true })
      })
      return id
    })
    assert.ok(answer === 'a' || answer === 'b')
    const hung = routedCall(pool, async (_id, signal) => new Promise<never>((_resolve, reject) => { signal.addEventListener('abort', () => { reject(signal.reason) }) }), { deadlineMs: 30 })
    await assert.rejects(hung, TimeoutError)
    assert.ok(poolSnapshot(pool).providers.every(p => p.inFlight === 0))
  })

  it('refuses options out of bounds', async () => {
    const pool = poolOf(new VirtualTimers(), 1)
    await assert.rejects(routedCall(pool, async () => 1, { retries: 99 }), assert.AssertionError)
    await assert.rejects(routedCall(pool, async () => 1, { attemptTimeoutMs: 0 }), assert.AssertionError)
  })
})

describe('RoutingPools', () => {
  it('keeps one pool per resource, updates its members, and drops the least recently used past its bound', () => {
    const timers = new VirtualTimers()
    const pools = new RoutingPools({ timers, random: seededRandom(1), maxPools: 2, region: 'eu-west' })
    const a = pools.pool('cid:a', [{ id: 'x' }, { id: 'y' }])
    assert.equal(a.state.region, 'eu-west')
    assert.equal(pools.pool('cid:a', [{ id: 'y' }, { id: 'z', region: 'us-east' }]), a)
    assert.deepEqual([...a.state.providers.keys()], ['y', 'z'])
    pools.pool('cid:b', [{ id: 'x' }])
    pools.pool('cid:a', [{ id: 'y' }]) // a is now the most recently used
    pools.pool('cid:c', [{ id: 'x' }])
    assert.equal(pools.size, 2)
    assert.equal(pools.get('cid:b'), undefined)
    assert.ok(pools.get('cid:a') !== undefined)
    assert.deepEqual(pools.snapshot().map(s => s.name), ['cid:a', 'cid:c'])
    assert.equal(pools.delete('cid:a'), true)
    assert.throws(() => pools.pool('cid:d', [{ id: 'x' }, { id: 'x' }]), MalformedMessageError)
  })
})

describe('events and views', () => {
  it('reports every attempt\'s end, each hedge and each ejection, and gives each provider\'s state and score', async () => {
    const timers = new VirtualTimers()
    const log: string[] = []
    const events: RoutingEvents = {
      request: (pool, provider, outcome, seconds) => { log.push(`${pool} ${provider} ${outcome} ${seconds}`) },
      ejected: (pool, provider) => { log.push(`${pool} ${provider} ejected`) },
      hedged: (pool) => { log.push(`${pool} hedged`) }
    }
    const pools = new RoutingPools({ timers, random: seededRandom(3), events })
    const pool = pools.pool('cid:x', [{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'd' }])
    await warm(timers, pool, 40, 20)
    assert.equal(log.length, 40)
    assert.ok(log.every(l => / (a|b|c|d) ok 0\.02$/.test(l)))
    log.length = 0
    let slow: string | undefined
    await timers.runUntil(routedCall(pool, async (id, signal) => { slow ??= id; await timers.sleep(id === slow ? 500 : 20, signal); return id }))
    await timers.run()
    assert.deepEqual(log.filter(l => !/ (a|b|c|d) ok 0\.02$/.test(l)), ['cid:x hedged', `cid:x ${slow!} ok 0.5`], 'the hedge loser ran on and was measured')
    log.length = 0
    class Mismatch extends Error {}
    const fresh = pools.pool('cid:y', [{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'd' }])
    for (let i = 0; i < 100 && !log.some(l => l.startsWith('cid:y a ')); i++) {
      await timers.runUntil(routedCall(fresh, async (id, signal) => { await timers.sleep(5, signal); if (id === 'a') throw new Mismatch('bad bytes'); return id }, {
        hedge: false, classify: (err) => err instanceof Mismatch ? 'wrong' : 'error'
      }))
    }
    assert.deepEqual(log.filter(l => l.startsWith('cid:y a ')), ['cid:y a wrong 0.005', 'cid:y a ejected'])
    const views = pools.views()
    assert.deepEqual(views.map(v => v.pool), ['cid:x', 'cid:y'])
    assert.deepEqual(views[1]!.providers.map(p => [p.provider, p.state]), [['a', 'ejected'], ['b', 'active'], ['c', 'active'], ['d', 'active']])
    assert.ok(views.every(v => v.providers.every(p => p.score > 0)))
  })
})

describe('VirtualTimers', () => {
  it('fires timers in time order, same-time ones in the order set, and cancels', async () => {
    const timers = new VirtualTimers(1000)
    const fired: string[] = []
    timers.setTimer(() => fired.push('b'), 20)
    timers.setTimer(() => fired.push('a'), 10)
    timers.setTimer(() => fired.push('c'), 20)
    const cancel = timers.setTimer(() => fired.push('never'), 15)
    cancel()
    await timers.run(1015)
    assert.deepEqual(fired, ['a'])
    assert.equal(timers.now(), 1015)
    await timers.run()
    assert.deepEqual(fired, ['a', 'b', 'c'])
    assert.equal(timers.now(), 1020)
    await assert.rejects(timers.runUntil(new Promise(() => {})), /ran out of timers/)
  })
})
