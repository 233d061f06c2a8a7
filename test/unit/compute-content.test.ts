// The content side of compute: run requests that name their module, input and checkpoint by CID
// (and still decode those of clients that send everything inline), checkpoint watches answered
// with a CID, and the rules that keep what a runner pins on the network bounded.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { MalformedMessageError } from '../../src/foundations/errors.ts'
import { encode } from '../../src/foundations/encoding.ts'
import { pinStored, releaseActions, runEnded, runsLost, type CheckpointPin, type CheckpointPinRules } from '../../src/core/compute/checkpoint-pins.ts'
import {
  decodeCheckpointUpdate, decodeRunRequest, encodeCheckpointUpdate, encodeRunRequest, runIdBytes, type RunRequest
} from '../../src/services/compute/compute-protocol.ts'

const cidA = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'
const cidB = 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi'

describe('run requests with content by CID', () => {
  const base: RunRequest = { module: new Uint8Array(0), input: new Uint8Array(0), memoryBytes: 1 << 20, timeoutMs: 1000, maxOutputBytes: 100 }

  it('carry module, input and checkpoint references, with or without a root to ask', () => {
    const request: RunRequest = { ...base, moduleRef: { cid: cidA }, inputRef: { cid: cidA, root: cidB }, checkpointRef: { cid: cidB }, checkpointEveryMs: 1000, runId: new Uint8Array(runIdBytes) }
    assert.deepEqual(decodeRunRequest(encodeRunRequest(request)), request)
  })

  it('without references decode as before (inline)', () => {
    const inline: RunRequest = { ...base, module: new Uint8Array([1, 2]), input: new Uint8Array([3]) }
    const decoded = decodeRunRequest(encodeRunRequest(inline))
    assert.deepEqual(decoded, inline)
    assert.equal(decoded.inputRef, undefined)
  })

  it('refuse malformed references with a clear error', () => {
    const raw = (ref: unknown): Uint8Array => encode({ module: new Uint8Array(0), input: new Uint8Array(0), memoryBytes: 1, timeoutMs: 1, maxOutputBytes: 1, checkpoint: null, inputRef: ref })
    assert.throws(() => decodeRunRequest(raw({ cid: 5 })), (e: Error) => e instanceof MalformedMessageError && /inputRef/.test(e.message))
    assert.throws(() => decodeRunRequest(raw({ cid: 'x'.repeat(201) })), MalformedMessageError)
    assert.throws(() => decodeRunRequest(raw({ cid: cidA, root: 7 })), MalformedMessageError)
    assert.throws(() => decodeRunRequest(raw('bafy')), MalformedMessageError)
  })

  it('checkpoint updates carry the CID of a checkpoint stored as content instead of its bytes', () => {
    assert.deepEqual(decodeCheckpointUpdate(encodeCheckpointUpdate({ seq: 3, checkpoint: undefined, ended: false, cid: cidA })), { seq: 3, checkpoint: undefined, ended: false, cid: cidA })
    assert.deepEqual(decodeCheckpointUpdate(encodeCheckpointUpdate({ seq: 1, checkpoint: new Uint8Array([9]), ended: true })), { seq: 1, checkpoint: new Uint8Array([9]), ended: true })
    assert.throws(() => decodeCheckpointUpdate(encode({ seq: 1, checkpoint: null, ended: false, cid: 12 })), MalformedMessageError)
  })
})

describe('checkpoint pins of a runner', () => {
  const rules: CheckpointPinRules = { keptPerRun: 2, endedKeepMs: 60_000, maxPinned: 5, unpinRetryMs: 15_000, unconfirmedForgetMs: 120_000 }
  const due = (pins: CheckpointPin[], now: number): string[] => pins.filter(p => p.releaseAt !== undefined && p.releaseAt <= now).map(p => p.cid)

  it('a running task keeps its latest checkpoints; older ones are due at once', () => {
    let pins: CheckpointPin[] = []
    for (let i = 0; i < 5; i++) pins = pinStored(pins, 'r1', `c${i}`, i * 1000, rules)
    assert.deepEqual(due(pins, 4000), ['c0', 'c1', 'c2'])
    assert.deepEqual(pins.filter(p => p.releaseAt === undefined).map(p => p.cid), ['c3', 'c4'])
    // Storing the same CID again (an unchanged state) adds no pin.
    assert.equal(pinStored(pins, 'r1', 'c4', 5000, rules).length, 5)
  })

  it('a completed run releases all; a lost one keeps its last for a while', () => {
    let pins: CheckpointPin[] = []
    pins = pinStored(pins, 'done', 'd0', 0, rules)
    pins = pinStored(pins, 'done', 'd1', 1000, rules)
    pins = pinStored(pins, 'lost', 'l0', 0, rules)
    pins = pinStored(pins, 'lost', 'l1', 1000, rules)
    pins = runEnded(pins, 'done', true, 2000, rules)
    pins = runEnded(pins, 'lost', false, 2000, rules)
    assert.deepEqual(due(pins, 2000), ['d0', 'd1', 'l0'])
    assert.deepEqual(due(pins, 2000 + rules.endedKeepMs), ['d0', 'd1', 'l0', 'l1'])
  })

  it('after a restart, the runs that were going on count as lost', () => {
    let pins: CheckpointPin[] = []
    pins = pinStored(pins, 'r', 'a', 0, rules)
    pins = pinStored(pins, 'r', 'b', 1000, rules)
    pins = runsLost(pins, 5000, rules)
    assert.deepEqual(due(pins, 5000), ['a'])
    assert.equal(pins.find(p => p.cid === 'b')?.releaseAt, 5000 + rules.endedKeepMs)
  })

  it('never keeps more than maxPinned: ended runs\' go first, then the oldest', () => {
    let pins: CheckpointPin[] = []
    pins = pinStored(pins, 'old', 'o0', 0, rules)
    pins = runEnded(pins, 'old', false, 1, rules)
    for (let i = 0; i < 6; i++) pins = pinStored(pins, `run${i}`, `c${i}`, 10 + i, rules)
    const kept = pins.filter(p => p.releaseAt === undefined || p.releaseAt > 20)
    assert.equal(kept.length, rules.maxPinned)
    assert.deepEqual(due(pins, 20).sort(), ['c0', 'o0'])
  })

  it('unpins only what the ledger holds, retries late unpins, forgets what is gone', () => {
    const pins: CheckpointPin[] = [
      { cid: 'onLedger', run: 'r', at: 0, releaseAt: 10 },
      { cid: 'notYet', run: 'r', at: 0, releaseAt: 10 },
      { cid: 'never', run: 'r', at: 0, releaseAt: 10 },
      { cid: 'sent', run: 'r', at: 0, releaseAt: 10, unpinSentAt: 20 },
      { cid: 'unpinned', run: 'r', at: 0, releaseAt: 10, unpinSentAt: 20 },
      { cid: 'kept', run: 'r', at: 0 }
    ]
    const ledger = new Set(['onLedger', 'sent', 'kept'])
    assert.deepEqual(releaseActions(pins, 30, c => ledger.has(c), rules), [{ cid: 'onLedger', action: 'unpin' }, { cid: 'unpinned', action: 'forget' }])
    const later = 20 + rules.unpinRetryMs + rules.unconfirmedForgetMs
    assert.deepEqual(releaseActions(pins, later, c => ledger.has(c), rules).map(a => `${a.cid}:${a.action}`),
      ['onLedger:unpin', 'notYet:forget', 'never:forget', 'sent:unpin', 'unpinned:forget'])
  })
})
