import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { cidForBlock, rawCode } from '../../src/core/content/index.ts'
import {
  checkTaskSpec, defaultReplicas, fuelExportName, InvalidTaskError, matchTask, prepareModule, quorumFor, resultDigest,
  spotCheckDetection, spotCheckDrawn, startVerification, step, taskId, unfitReason,
  type ComputeOffer, type VerificationAction, type VerificationEvent, type VerificationState
} from '../../src/core/compute/index.ts'
import { command } from './compute-wat.ts'

const cid = (text: string): string => cidForBlock(rawCode, new TextEncoder().encode(text)).toString()
const GiB = 1024 ** 3

describe('compute task spec', () => {
  it('fills defaults and names a task by its content', () => {
    const spec = checkTaskSpec({ module: cid('m'), input: cid('i') })
    assert.equal(spec.replicas, defaultReplicas)
    assert.equal(spec.spotCheckBps, 0)
    assert.equal(taskId(spec, 'alice', 1), taskId(checkTaskSpec({ module: cid('m'), input: cid('i') }), 'alice', 1))
    assert.notEqual(taskId(spec, 'alice', 1), taskId(spec, 'alice', 2))
  })

  it('refuses bad fields with the field named', () => {
    assert.throws(() => checkTaskSpec({ module: 'nope', input: cid('i') }), /CID/)
    assert.throws(() => checkTaskSpec({ module: cid('m'), input: cid('i'), replicas: 0 }), InvalidTaskError)
    assert.throws(() => checkTaskSpec({ module: cid('m'), input: cid('i'), replicas: 2, spotCheckBps: 500 }), /single-replica/)
    assert.throws(() => checkTaskSpec({ module: cid('m'), input: cid('i'), checkpointEveryMs: 10 }), /at least/)
    assert.throws(() => checkTaskSpec({ module: cid('m'), input: cid('i'), memoryBytes: 8 * GiB }), /memory/)
  })
})

describe('compute matching', () => {
  const offer = (provider: string, operator: string, extra: Partial<ComputeOffer> = {}): ComputeOffer =>
    ({ provider, operator, region: 'eu', cores: 2, freeCores: 2, memoryBytes: 4 * GiB, price: 10, score: 0.9, ...extra })
  const spec = checkTaskSpec({ module: cid('m'), input: cid('i'), memoryBytes: GiB, maxPrice: 20 })

  it('keeps only offers that fit: memory, a free core, price, region', () => {
    assert.match(unfitReason(spec, offer('a', 'x', { memoryBytes: GiB / 2 })) ?? '', /memory/)
    assert.match(unfitReason(spec, offer('a', 'x', { freeCores: 0 })) ?? '', /free core/)
    assert.match(unfitReason(spec, offer('a', 'x', { price: 30 })) ?? '', /over/)
    assert.match(unfitReason({ ...spec, region: 'us' }, offer('a', 'x')) ?? '', /not us/)
    assert.equal(unfitReason(spec, offer('a', 'x')), undefined)
  })

  it('picks best value first, one provider per operator, the same set on every node', () => {
    const offers = [offer('a1', 'A', { price: 5 }), offer('a2', 'A', { price: 4 }), offer('b', 'B', { price: 10 }), offer('c', 'C', { price: 10, score: 0.5 }), offer('d', 'D', { price: 50 })]
    const picked = matchTask(spec, offers, { count: 3, taskId: 't1' })
    assert.deepEqual(picked.map(o => o.provider), ['a2', 'b', 'c'])
    assert.deepEqual(matchTask(spec, [...offers].reverse(), { count: 3, taskId: 't1' }).map(o => o.provider), ['a2', 'b', 'c'])
    const third = matchTask(spec, offers, { count: 1, taskId: 't1', excludeOperators: new Set(['A', 'B']) })
    assert.deepEqual(third.map(o => o.provider), ['c'])
  })

  it('spreads ties across equal providers by task', () => {
    const offers = ['p', 'q', 'r', 's'].map(p => offer(p, p.toUpperCase()))
    const first = new Set<string>()
    for (let t = 0; t < 40; t++) first.add((matchTask(spec, offers, { count: 1, taskId: `task-${t}` })[0] as ComputeOffer).provider)
    assert.equal(first.size, 4)
  })
})

describe('compute verification', () => {
  const seed = new TextEncoder().encode('client secret')
  const drive = (state: VerificationState, events: VerificationEvent[]): { state: VerificationState, actions: VerificationAction[] } => {
    let actions: VerificationAction[] = []
    for (const event of events) {
      const next = step(state, event)
      state = next.state
      actions = [...actions, ...next.actions]
    }
    return { state, actions }
  }
  const assigned = (p: string): VerificationEvent => ({ kind: 'assigned', provider: p, operator: `op-${p}` })
  const reported = (p: string, digest: string): VerificationEvent => ({ kind: 'reported', provider: p, digest })

  it('accepts two matching results and pays both', () => {
    const start = startVerification('t', { replicas: 2, spotCheckBps: 0 }, seed)
    assert.deepEqual(start.actions, [{ kind: 'assign', count: 2 }])
    const { state, actions } = drive(start.state, [assigned('a'), assigned('b'), reported('a', 'h'), reported('b', 'h')])
    assert.deepEqual(state.outcome, { kind: 'accepted', digest: 'h', paid: ['a', 'b'], slashed: [] })
    assert.deepEqual(actions.at(-1), { kind: 'settle', outcome: state.outcome })
  })

  it('on a mismatch brings in a third provider; the minority is not paid and is named for slashing', () => {
    let { state, actions } = drive(startVerification('t', { replicas: 2, spotCheckBps: 0 }, seed).state, [assigned('a'), assigned('cheat'), reported('a', 'h'), reported('cheat', 'made-up')])
    assert.deepEqual(actions, [{ kind: 'assign', count: 1 }])
    ;({ state, actions } = drive(state, [assigned('c'), reported('c', 'h')]))
    assert.deepEqual(state.outcome, { kind: 'accepted', digest: 'h', paid: ['a', 'c'], slashed: ['cheat'] })
  })

  it('refuses a second provider of the same operator', () => {
    const { state } = drive(startVerification('t', { replicas: 2, spotCheckBps: 0 }, seed).state, [assigned('a'), { kind: 'assigned', provider: 'a2', operator: 'op-a' }])
    assert.equal(state.runs.length, 1)
  })

  it('replaces a crashed provider, resuming its lineage, and pays it nothing', () => {
    const { state, actions } = drive(startVerification('t', { replicas: 2, spotCheckBps: 0 }, seed).state, [assigned('a'), assigned('b'), { kind: 'failed', provider: 'b' }, assigned('c'), reported('a', 'h'), reported('c', 'h')])
    assert.deepEqual(actions[0], { kind: 'assign', count: 1, resumeFrom: 'b' })
    assert.deepEqual(state.outcome, { kind: 'accepted', digest: 'h', paid: ['a', 'c'], slashed: [] })
  })

  it('gives up without paying or slashing when no quorum forms within the provider cap', () => {
    let state = startVerification('t', { replicas: 2, spotCheckBps: 0 }, seed).state
    let last: VerificationAction[] = []
    const names = ['a', 'b', 'c', 'd', 'e']
    for (const [i, p] of names.entries()) ({ state, actions: last } = drive(state, [assigned(p), reported(p, `h${i}`)]))
    assert.equal(state.outcome?.kind, 'unresolved')
    assert.equal(last.at(-1)?.kind, 'settle')
  })

  it('with three replicas accepts at two and cancels the third', () => {
    assert.equal(quorumFor(3), 2)
    const { state, actions } = drive(startVerification('t', { replicas: 3, spotCheckBps: 0 }, seed).state, [assigned('a'), assigned('b'), assigned('c'), reported('a', 'h'), reported('b', 'h')])
    assert.equal(state.outcome?.kind, 'accepted')
    assert.deepEqual(actions[0], { kind: 'cancel', providers: ['c'] })
  })

  it('spot-checks at the stated rate, and states the detection probability', () => {
    let checked = 0
    const draws = 20_000
    for (let i = 0; i < draws; i++) if (spotCheckDrawn(1000, `task-${i}`, seed)) checked++
    assert.ok(Math.abs(checked / draws - 0.1) < 0.01, `${checked / draws}`)
    const single = startVerification('t', { replicas: 1, spotCheckBps: 0 }, seed)
    assert.deepEqual(single.actions, [{ kind: 'assign', count: 1 }])
    assert.equal(single.state.quorum, 1)
    assert.ok(Math.abs(spotCheckDetection(1000) - 0.1) < 1e-12)
    assert.ok(Math.abs(spotCheckDetection(1000, 20) - (1 - 0.9 ** 20)) < 1e-12)
    assert.ok(spotCheckDetection(1000, 20) > 0.87)
  })

  it('digests a result from its status, exit code and output CID', () => {
    const out = cidForBlock(rawCode, new Uint8Array([1]))
    assert.equal(resultDigest({ status: 'ok', exitCode: 0, outputCid: out }), resultDigest({ status: 'ok', exitCode: 0, outputCid: out }))
    assert.notEqual(resultDigest({ status: 'ok', exitCode: 0, outputCid: out }), resultDigest({ status: 'out-of-fuel', exitCode: undefined, outputCid: out }))
  })
})

describe('compute module preparation', () => {
  it('adds an exported fuel global, caps a memory with no maximum, and keeps the module valid', async () => {
    const module = await command('(loop $l (br_if $l (i32.const 0)))')
    const prepared = prepareModule(module, { memoryBytes: 2 * 65_536, fuel: 1234 })
    assert.ok(WebAssembly.validate(prepared.bytes))
    const exports = WebAssembly.Module.exports(new WebAssembly.Module(prepared.bytes)).map(e => `${e.name}:${e.kind}`)
    assert.ok(exports.includes(`${fuelExportName}:global`))
    assert.equal(prepared.facts.memoryMaxPages, 2)
    assert.deepEqual(prepared.facts.wasiImports, ['proc_exit', 'fd_write', 'path_open'])
  })
})
