/**
 * Unit tests of the consensus step function: one node, messages from the other validators signed
 * by hand. Line numbers refer to Algorithm 1 of arXiv:1807.04938.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { equalBytes } from '../../src/foundations/bytes.ts'
import { encode } from '../../src/foundations/encoding.ts'
import { MalformedMessageError } from '../../src/foundations/errors.ts'
import { decodeCertificate, encodeCertificate, verifyCommitCertificate } from '../../src/core/consensus/certificate.ts'
import { maxFutureMessagesPerSigner, maxRoundsAhead, maxMessageBytes } from '../../src/core/consensus/constants.ts'
import { decodeEvidence, encodeEvidence, evidenceId } from '../../src/core/consensus/evidence.ts'
import { gossipMessages } from '../../src/core/consensus/gossip.ts'
import { decodeMessage, encodeMessage } from '../../src/core/consensus/messages.ts'
import { proposerFor } from '../../src/core/consensus/proposer.ts'
import { canSign, decodeSigningRecord, emptySigningRecord, encodeSigningRecord } from '../../src/core/consensus/signing.ts'
import { step } from '../../src/core/consensus/step.ts'
import type { ConsensusAction, SignedVote, Validator } from '../../src/core/consensus/types.ts'
import { isQuorum } from '../../src/core/consensus/validators.ts'
import {
  actionTypes, broadcastVotes, chainId, ctxFor, hashOf, keys, Node, nonProposer, proposerOf, signedProposal, signedVote, validators, value
} from './consensus-fixtures.ts'

const v = value('block-a')
const w = value('block-b')

/** A node that has started height 1 and proposes in none of its rounds 0–2. */
function started (): Node {
  const node = new Node(nonProposer(1, [0, 1, 2]))
  node.start()
  return node
}

/** Drives `node` through round 0 to a lock on `v`: proposal, then prevotes from all. */
function lockedOnV (): Node {
  const node = started()
  node.propose(0, v)
  for (const i of node.others()) node.vote(i, 'prevote', 0, hashOf(v))
  return node
}

/** Moves `node` to `round` with nil precommits from the others (lines 47 and 65). */
function toRound (node: Node, round: number): void {
  while (node.state.round < round) {
    const r = node.state.round
    for (const i of node.others()) node.vote(i, 'precommit', r, null)
    node.feed({ type: 'timeout', height: node.state.height, round: r, step: 'precommit' })
  }
}

describe('proposer rotation', () => {
  it('visits every validator of equal power once per four rounds, whatever the input order', () => {
    const seen = [0, 1, 2, 3].map(r => proposerFor(validators, 1, r).publicKey)
    assert.equal(new Set(seen.map(k => Buffer.from(k).toString('hex'))).size, 4)
    const reversed = [...validators].reverse()
    for (let r = 0; r < 8; r++) assert.ok(equalBytes(proposerFor(reversed, 5, r).publicKey, proposerFor(validators, 5, r).publicKey))
  })

  it('gives each validator as many turns as its power over a full cycle', () => {
    const weighted: Validator[] = validators.map((val, i) => ({ ...val, power: [5, 1, 3, 2][i] ?? 1 }))
    const counts = new Map<string, number>()
    for (let r = 0; r < 11; r++) {
      const k = Buffer.from(proposerFor(weighted, 1, r).publicKey).toString('hex')
      counts.set(k, (counts.get(k) ?? 0) + 1)
    }
    for (const val of weighted) assert.equal(counts.get(Buffer.from(val.publicKey).toString('hex')), val.power)
  })
})

describe('proposing and prevoting (lines 11–33)', () => {
  it('the proposer asks for a value, then persists before it broadcasts the proposal and its prevote', () => {
    const node = new Node(proposerOf(1, 0))
    const startActions = node.start()
    assert.deepEqual(actionTypes(startActions), ['schedule-timeout', 'need-value'])
    const actions = node.feed({ type: 'value', height: 1, round: 0, value: v })
    assert.deepEqual(actionTypes(actions), ['persist-signing', 'broadcast:proposal', 'persist-signing', 'broadcast:prevote'])
    const [vote] = broadcastVotes(actions)
    assert.ok(vote?.hash !== null && vote !== undefined && equalBytes(vote.hash, hashOf(v)))
    assert.equal(node.state.step, 'prevote')
  })

  it('a validator prevotes a valid proposal and nil for an invalid one', () => {
    const a = started()
    assert.deepEqual(broadcastVotes(a.propose(0, v)).map(x => x.hash), [hashOf(v)])
    const b = started()
    assert.deepEqual(broadcastVotes(b.propose(0, value('invalid block'))).map(x => x.hash), [null])
  })

  it('prevotes nil when the propose timeout fires first, and ignores stale timeouts', () => {
    const node = started()
    assert.deepEqual(broadcastVotes(node.feed({ type: 'timeout', height: 1, round: 0, step: 'propose' })).map(x => x.hash), [null])
    assert.deepEqual(node.feed({ type: 'timeout', height: 1, round: 0, step: 'propose' }), [])
    assert.deepEqual(node.feed({ type: 'timeout', height: 1, round: 7, step: 'precommit' }), [])
  })

  it('rejects a proposal signed by a validator that is not the round\'s proposer', () => {
    const node = started()
    const forged = signedProposal(1, 0, v, -1, (proposerOf(1, 0) + 1) % 4)
    const actions = node.feed({ type: 'proposal', proposal: forged, from: 'mallory' })
    assert.deepEqual(actions, [{ type: 'reject', from: 'mallory', reason: 'proposal not signed by the proposer of its round', penalise: true }])
    assert.equal(node.state.step, 'propose')
  })
})

describe('locking and POL (lines 22–46)', () => {
  it('locks on a value with a proposal and >2/3 prevotes, and precommits it', () => {
    const node = lockedOnV()
    assert.equal(node.state.step, 'precommit')
    assert.equal(node.state.lockedRound, 0)
    assert.ok(node.state.lock !== null && equalBytes(node.state.lock.hash, hashOf(v)))
    assert.equal(node.state.validRound, 0)
    const precommits = broadcastVotes(node.log).filter(x => x.type === 'precommit')
    assert.equal(precommits.length, 1)
    assert.ok(precommits[0]?.hash !== null && equalBytes(precommits[0]?.hash as Uint8Array, hashOf(v)))
    // The record that covers the precommit carries the lock and its POL.
    const record = node.log.filter(a => a.type === 'persist-signing').at(-1)
    assert.ok(record?.type === 'persist-signing' && record.record.lock?.pol.length === 3, 'own prevote and the first two others made the quorum')
  })

  it('does not precommit on 2/3 prevotes exactly (quorum is more than two thirds)', () => {
    const node = started()
    node.propose(0, v)
    const [other] = node.others()
    node.vote(other as number, 'prevote', 0, hashOf(v))
    assert.equal(node.state.step, 'prevote', 'own + one other = 2 of 4')
    assert.equal(isQuorum(2, 3), false)
    assert.equal(isQuorum(3, 4), true)
    assert.equal(isQuorum(2, 4), false)
  })

  it('a locked validator prevotes nil for a different value without a newer POL', () => {
    const node = lockedOnV()
    toRound(node, 1)
    const actions = node.propose(1, w)
    assert.deepEqual(broadcastVotes(actions).map(x => x.hash), [null])
  })

  it('a locked validator prevotes its locked value when it is re-proposed with its POL round', () => {
    const node = lockedOnV()
    toRound(node, 1)
    assert.deepEqual(broadcastVotes(node.propose(1, v, 0)).map(x => x.hash), [hashOf(v)])
  })

  it('a newer POL for another value unlocks (line 29: lockedRound <= vr)', () => {
    const node = lockedOnV()
    toRound(node, 1)
    // Round 1: others prevote w (the node itself timed out to nil).
    node.feed({ type: 'timeout', height: 1, round: 1, step: 'propose' })
    for (const i of node.others()) node.vote(i, 'prevote', 1, hashOf(w))
    toRound(node, 2)
    assert.deepEqual(broadcastVotes(node.propose(2, w, 1)).map(x => x.hash), [hashOf(w)])
  })

  it('waits for the POL of a re-proposal and prevotes once it arrives (line 28)', () => {
    const node = started()
    toRound(node, 1)
    assert.deepEqual(broadcastVotes(node.propose(1, w, 0)), [], 'no POL for round 0 yet')
    const others = node.others()
    node.vote(others[0] as number, 'prevote', 0, hashOf(w))
    node.vote(others[1] as number, 'prevote', 0, hashOf(w))
    const actions = node.vote(others[2] as number, 'prevote', 0, hashOf(w))
    assert.deepEqual(broadcastVotes(actions).map(x => x.hash), [hashOf(w)])
  })

  it('precommits nil on >2/3 nil prevotes, and after the prevote timeout otherwise', () => {
    const a = started()
    a.feed({ type: 'timeout', height: 1, round: 0, step: 'propose' })
    for (const i of a.others()) a.vote(i, 'prevote', 0, null)
    assert.deepEqual(broadcastVotes(a.log).filter(x => x.type === 'precommit').map(x => x.hash), [null])

    const b = started()
    b.propose(0, v)
    const [x, y] = b.others()
    b.vote(x as number, 'prevote', 0, null)
    const waiting = b.vote(y as number, 'prevote', 0, hashOf(w))
    assert.deepEqual(waiting.filter(act => act.type === 'schedule-timeout').map(act => act.type === 'schedule-timeout' && act.step), ['prevote'])
    assert.deepEqual(broadcastVotes(b.feed({ type: 'timeout', height: 1, round: 0, step: 'prevote' })).map(z => z.hash), [null])
  })
})

describe('deciding (lines 47–56)', () => {
  it('commits with a certificate that verifyCommitCertificate accepts', () => {
    const node = lockedOnV()
    const others = node.others()
    node.vote(others[0] as number, 'precommit', 0, hashOf(v))
    const actions = node.vote(others[1] as number, 'precommit', 0, hashOf(v))
    const commit = actions.find(a => a.type === 'commit')
    assert.ok(commit?.type === 'commit')
    assert.equal(commit.height, 1)
    assert.ok(equalBytes(commit.value, v))
    assert.equal(commit.certificate.length, 3)
    assert.ok(verifyCommitCertificate(chainId, validators, 1, hashOf(v), commit.certificate, keys.verify))
    assert.equal(node.state.step, 'decided')
    // Late votes for the decided height change nothing.
    assert.deepEqual(node.vote(others[2] as number, 'precommit', 0, hashOf(v)), [])
  })

  it('commits in an earlier round even after moving on, once its precommits complete', () => {
    const node = started()
    node.propose(0, v)
    node.feed({ type: 'timeout', height: 1, round: 0, step: 'propose' })
    toRound(node, 1)
    let commit: ConsensusAction | undefined
    for (const i of node.others()) commit = node.vote(i, 'precommit', 0, hashOf(v)).find(a => a.type === 'commit') ?? commit
    assert.ok(commit?.type === 'commit' && commit.round === 0)
  })

  it('skips to a later round seen from more than 1/3 of the power (line 55)', () => {
    const node = started()
    const [x, y] = node.others()
    node.vote(x as number, 'prevote', 3, null)
    assert.equal(node.state.round, 0, 'one validator of four is not more than 1/3')
    node.vote(y as number, 'precommit', 9, null)
    assert.equal(node.state.round, 3, 'two validators are at round 3 or later')
  })

  it('schedules the precommit timeout on >2/3 precommits of any kind, then starts the next round', () => {
    const node = started()
    const [x, y, z] = node.others()
    node.vote(x as number, 'precommit', 0, null)
    node.vote(y as number, 'precommit', 0, hashOf(w))
    const actions = node.vote(z as number, 'precommit', 0, null)
    assert.ok(actions.some(a => a.type === 'schedule-timeout' && a.step === 'precommit'))
    node.feed({ type: 'timeout', height: 1, round: 0, step: 'precommit' })
    assert.equal(node.state.round, 1)
    assert.equal(node.state.step, 'propose')
  })
})

describe('input from peers', () => {
  it('rejects bad signatures and unknown validators, and does not count them', () => {
    const node = started()
    const [x] = node.others()
    const good = signedVote(x as number, 'prevote', 1, 0, hashOf(v))
    const bad = { ...good, signature: new Uint8Array(32) }
    assert.deepEqual(node.feed({ type: 'vote', vote: bad, from: 'p' }), [{ type: 'reject', from: 'p', reason: 'bad vote signature', penalise: true }])
    const stranger = { ...good, validator: new Uint8Array(32).fill(9) }
    assert.equal(node.feed({ type: 'vote', vote: stranger, from: 'p' })[0]?.type, 'reject')
    assert.equal(node.state.log.get(0)?.prevotes.power ?? 0, 0)
  })

  it('rejects malformed bytes and malformed typed events without throwing', () => {
    const node = started()
    for (const bytes of [new Uint8Array([0xff, 0x00]), encode({ type: 'prevote', height: 1 }), encode({ type: 'proposal', height: 1, round: 0, validRound: 0, value: v, signature: new Uint8Array(64) })]) {
      const actions = node.feed({ type: 'message', bytes, from: 'p' })
      assert.equal(actions.length, 1)
      assert.ok(actions[0]?.type === 'reject' && actions[0].penalise)
    }
    const weird = { type: 'prevote', height: -1, round: 0, hash: null, validator: new Uint8Array(32), signature: new Uint8Array(64) } as unknown as SignedVote
    assert.equal(node.feed({ type: 'vote', vote: weird })[0]?.type, 'reject')
  })

  it('emits equivocation evidence once per validator, round and type, and the evidence checks out', () => {
    const node = started()
    const [x] = node.others()
    node.vote(x as number, 'prevote', 0, hashOf(v))
    const actions = node.vote(x as number, 'prevote', 0, null)
    const evidence = actions.find(a => a.type === 'evidence')
    assert.ok(evidence?.type === 'evidence')
    assert.deepEqual(node.vote(x as number, 'prevote', 0, hashOf(w)).filter(a => a.type === 'evidence'), [])
    const encoded = encodeEvidence(evidence.evidence)
    const id = evidenceId(chainId, validators, encoded, keys.verify)
    assert.ok(id !== undefined && id.byteLength === 32)
    assert.deepEqual(decodeEvidence(encoded), evidence.evidence)
    // The same vote twice proves nothing.
    const same = encodeEvidence({ first: evidence.evidence.first, second: evidence.evidence.first })
    assert.equal(evidenceId(chainId, validators, same, keys.verify), undefined)
    assert.equal(evidenceId(chainId, validators, new Uint8Array([1, 2, 3]), keys.verify), undefined)
  })

  it('counts an equivocator\'s vote for a proposed value even after a conflicting one, so its POL is seen', () => {
    const node = started()
    node.propose(0, v)
    const [x, y] = node.others()
    node.vote(x as number, 'prevote', 0, null)
    node.vote(y as number, 'prevote', 0, hashOf(v))
    assert.equal(node.state.lockedRound, -1, 'own, y: two of four for v')
    const actions = node.vote(x as number, 'prevote', 0, hashOf(v))
    assert.ok(actions.some(a => a.type === 'evidence'))
    assert.equal(node.state.lockedRound, 0, 'x\'s second vote completes the POL, as in the paper\'s message log')
    assert.equal(node.state.log.get(0)?.prevotes.power, 3, 'x counts once toward votes of any kind')
  })

  it('does not count conflicting votes for values nobody proposed', () => {
    const node = started()
    const [x] = node.others()
    node.vote(x as number, 'prevote', 0, null)
    node.vote(x as number, 'prevote', 0, hashOf(w))
    assert.equal(node.state.log.get(0)?.prevotes.powerByKey.get(Buffer.from(hashOf(w)).toString('hex')) ?? 0, 0)
  })

  it('keeps messages for the next height and replays them when it starts', () => {
    const node = started()
    const [x] = node.others()
    node.vote(x as number, 'prevote', 0, hashOf(w), 2)
    assert.equal(node.state.future.length, 1)
    assert.equal(node.state.log.get(0)?.prevotes.power ?? 0, 0)
    node.start(2)
    assert.equal(node.state.height, 2)
    assert.equal(node.state.log.get(0)?.prevotes.power, 1)
  })

  it('bounds the next-height buffer per signer', () => {
    const node = started()
    const [x] = node.others()
    for (let r = 0; r < 20; r++) node.vote(x as number, 'prevote', r, null, 2)
    assert.equal(node.state.future.length, maxFutureMessagesPerSigner)
  })

  it('does not store votes far ahead of the current round, but counts them for the round skip', () => {
    const node = started()
    const [x] = node.others()
    node.vote(x as number, 'prevote', maxRoundsAhead + 5, null)
    assert.equal(node.state.log.has(maxRoundsAhead + 5), false)
    assert.equal(node.state.maxRoundSeen.size, 1)
  })

  it('reports being behind when more than 1/3 of the power is at a later height', () => {
    const node = started()
    const [x, y] = node.others()
    assert.equal(node.vote(x as number, 'precommit', 0, hashOf(v), 5).filter(a => a.type === 'behind').length, 0)
    assert.deepEqual(node.vote(y as number, 'precommit', 0, hashOf(v), 4).filter(a => a.type === 'behind'), [{ type: 'behind', height: 4 }])
  })

  it('is not behind when, having decided, it sees the others at the next height', () => {
    const node = lockedOnV()
    for (const i of node.others()) node.vote(i, 'precommit', 0, hashOf(v))
    assert.equal(node.state.step, 'decided')
    const actions = node.others().flatMap(i => node.vote(i, 'prevote', 0, null, 2))
    assert.deepEqual(actions.filter(a => a.type === 'behind'), [])
    node.start(2)
    assert.equal(node.state.log.get(0)?.prevotes.power, 3, 'the buffered next-height votes were replayed')
    assert.ok(gossipMessages(node.state).some(m => m.type === 'vote' && m.vote.height === 1 && m.vote.type === 'precommit'), 'gossips the last commit')
  })

  it('asks for sync when a commit quorum exists for a value it never received', () => {
    const node = started()
    let behind: ConsensusAction[] = []
    for (const i of node.others()) behind = [...behind, ...node.vote(i, 'precommit', 0, hashOf(v)).filter(a => a.type === 'behind')]
    assert.deepEqual(behind, [{ type: 'behind', height: 2 }])
  })
})

describe('restart from the signing record', () => {
  it('never signs a second, different prevote for a round it already prevoted in', () => {
    const node = started()
    node.propose(0, v)
    const record = node.state.signing
    assert.equal(record.step, 'prevote')
    const restarted = new Node(node.index, { signingRecord: record })
    const actions = restarted.start(1)
    assert.equal(restarted.state.step, 'prevote')
    assert.deepEqual(broadcastVotes(actions).map(x => x.hash), [hashOf(v)], 're-broadcasts the recorded vote')
    // A propose timeout of the same round would have produced a nil prevote before the restart.
    assert.deepEqual(restarted.feed({ type: 'timeout', height: 1, round: 0, step: 'propose' }), [])
  })

  it('keeps its lock, valid value and POL across a restart', () => {
    const node = lockedOnV()
    const restarted = new Node(node.index, { signingRecord: decodeSigningRecord(encodeSigningRecord(node.state.signing)) })
    restarted.start(1)
    assert.equal(restarted.state.lockedRound, 0)
    assert.ok(restarted.state.validValue !== null && equalBytes(restarted.state.validValue, v))
    assert.equal(restarted.state.log.get(0)?.prevotes.power, 3, 'the POL is back in the log, for gossip')
    toRound(restarted, 1)
    assert.deepEqual(broadcastVotes(restarted.propose(1, w)).map(x => x.hash), [null])
  })

  it('re-broadcasts its votes of the previous round too, which peers still in it may need', () => {
    const node = started()
    node.feed({ type: 'timeout', height: 1, round: 0, step: 'propose' })
    for (const i of node.others()) node.vote(i, 'prevote', 0, null)
    toRound(node, 1)
    node.feed({ type: 'timeout', height: 1, round: 1, step: 'propose' })
    const restarted = new Node(node.index, { signingRecord: node.state.signing })
    const resent = broadcastVotes(restarted.start(1)).map(x => `${x.round}/${x.type}`)
    assert.deepEqual(resent, ['0/prevote', '0/precommit', '1/prevote'])
  })

  it('orders signing steps strictly', () => {
    const rec = { ...emptySigningRecord, height: 3, round: 2, step: 'prevote' as const }
    assert.equal(canSign(rec, 3, 2, 'prevote'), false)
    assert.equal(canSign(rec, 3, 2, 'propose'), false)
    assert.equal(canSign(rec, 3, 2, 'precommit'), true)
    assert.equal(canSign(rec, 3, 3, 'propose'), true)
    assert.equal(canSign(rec, 2, 9, 'precommit'), false)
    assert.equal(canSign(rec, 4, 0, 'propose'), true)
  })
})

describe('wire format and certificates', () => {
  it('round-trips messages and rejects smuggled fields and oversize input', () => {
    const vote = signedVote(1, 'precommit', 3, 2, hashOf(v))
    assert.deepEqual(decodeMessage(encodeMessage({ type: 'vote', vote })), { type: 'vote', vote })
    const proposal = signedProposal(3, 2, v, 1)
    assert.deepEqual(decodeMessage(encodeMessage({ type: 'proposal', proposal })), { type: 'proposal', proposal })
    assert.throws(() => decodeMessage(encode({ ...vote, extra: 1 })), MalformedMessageError)
    assert.throws(() => decodeMessage(encode({ ...vote, hash: new Uint8Array(31) })), MalformedMessageError)
    assert.throws(() => decodeMessage(new Uint8Array(maxMessageBytes + 1)), MalformedMessageError)
  })

  it('accepts only >2/3 of distinct validators, one round, one hash, valid signatures', () => {
    const cert = [0, 1, 2].map(i => signedVote(i, 'precommit', 4, 1, hashOf(v)))
    const ok = (c: SignedVote[]): boolean => verifyCommitCertificate(chainId, validators, 4, hashOf(v), c, keys.verify)
    assert.ok(ok(cert))
    assert.deepEqual(decodeCertificate(encodeCertificate(cert)), cert)
    assert.equal(ok(cert.slice(0, 2)), false, 'two of four')
    assert.equal(ok([...cert.slice(0, 2), cert[0] as SignedVote]), false, 'duplicate signer')
    assert.equal(ok([...cert.slice(0, 2), signedVote(3, 'precommit', 4, 2, hashOf(v))]), false, 'mixed rounds')
    assert.equal(ok([...cert.slice(0, 2), signedVote(3, 'prevote', 4, 1, hashOf(v))]), false, 'a prevote')
    assert.equal(ok([...cert.slice(0, 2), { ...signedVote(3, 'precommit', 4, 1, hashOf(v)), signature: new Uint8Array(32) }]), false, 'bad signature')
    assert.equal(verifyCommitCertificate(chainId, validators, 4, hashOf(w), cert, keys.verify), false, 'another hash')
    assert.equal(verifyCommitCertificate(chainId, validators, 4, hashOf(v), [{ bogus: true } as unknown as SignedVote], keys.verify), false)
  })
})

describe('purity and gossip', () => {
  it('never modifies the state it is given', () => {
    const node = lockedOnV()
    const before = node.state
    const snapshot = structuredClone(before)
    for (const i of node.others()) step(before, { type: 'vote', vote: signedVote(i, 'precommit', 1, 0, hashOf(v)) }, ctxFor(node.index))
    step(before, { type: 'timeout', height: 1, round: 0, step: 'precommit' }, ctxFor(node.index))
    assert.deepEqual(structuredClone(before), snapshot)
  })

  it('gossips the current round and the POL of its valid value', () => {
    const node = lockedOnV()
    toRound(node, 3)
    const messages = gossipMessages(node.state)
    assert.ok(messages.some(m => m.type === 'proposal' && m.proposal.round === 0), 'the valid round proposal')
    assert.equal(messages.filter(m => m.type === 'vote' && m.vote.round === 0 && m.vote.type === 'prevote').length, 4, 'all held, not only the quorum')
    assert.ok(messages.some(m => m.type === 'vote' && m.vote.round === 2))
  })
})

describe('planted bugs (test-only switches)', () => {
  it('quorum-2f lowers the quorum to 2f', () => {
    assert.equal(isQuorum(2, 4, 'quorum-2f'), true)
    assert.equal(isQuorum(2, 4), false)
  })

  it('ignore-lock makes a locked validator prevote another value', () => {
    const node = lockedOnV()
    const buggy = new Node(node.index, { ctx: { plantedBug: 'ignore-lock' } })
    buggy.state = node.state
    toRound(buggy, 1)
    assert.deepEqual(broadcastVotes(buggy.propose(1, w)).map(x => x.hash), [hashOf(w)])
  })

  it('sign-before-persist broadcasts before persisting', () => {
    const node = new Node(nonProposer(1, [0]), { ctx: { plantedBug: 'sign-before-persist' } })
    node.start()
    assert.deepEqual(actionTypes(node.propose(0, v)), ['broadcast:prevote', 'persist-signing'])
  })
})
