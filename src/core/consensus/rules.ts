/**
 * The upon-rules of Algorithm 1 (Buchman, Kwon, Milosevic, "The latest gossip on BFT consensus",
 * arXiv:1807.04938). Line numbers refer to the paper; the mapping is tabled in
 * docs/protocol/consensus.md.
 *
 * After every event `runRules` re-evaluates all rules until none fires: the paper's "upon"
 * conditions are predicates over the message log and the state, so evaluating them to a fixed
 * point after each change is exactly its semantics.
 */
import assert from 'node:assert/strict'
import { equalBytes } from '../../foundations/bytes.ts'
import { maxRuleFirings } from './constants.ts'
import { castVote, scheduleTimeout, startRound } from './round.ts'
import type { ConsensusState } from './state.ts'
import { emit, oneThird, quorum, type Transition } from './transition.ts'
import { powerOf } from './validators.ts'
import { emptyRoundLog, nilKey, powerFor, proposalFor, votesFor, type ProposalEntry } from './votes.ts'

/** True in the three steps of a round, where the rules apply. */
export function inRound (s: ConsensusState): boolean {
  return s.step === 'propose' || s.step === 'prevote' || s.step === 'precommit'
}

/** Evaluates the upon-rules until none fires. */
export function runRules (t: Transition): void {
  for (let firings = 0; inRound(t.s); firings++) {
    assert.ok(firings < maxRuleFirings, 'consensus rules did not reach a fixed point')
    const fired = decideRule(t) || roundSkipRule(t) || proposalRule(t) || prevoteWaitRule(t) ||
      polRule(t) || nilPolRule(t) || precommitWaitRule(t)
    if (!fired) return
  }
}

function lockAllows (t: Transition, entry: ProposalEntry, polRound: number): boolean {
  const s = t.s
  if (t.ctx.plantedBug === 'ignore-lock') return true
  return s.lockedRound <= polRound || (s.lock !== null && equalBytes(s.lock.hash, entry.hash))
}

/** Lines 49–54: a proposal with >2/3 precommits in any round decides it. */
function decideRule (t: Transition): boolean {
  const s = t.s
  for (const [round, log] of s.log) {
    for (const [key, power] of log.precommits.powerByKey) {
      if (key === nilKey || !quorum(t, power)) continue
      const entry = proposalFor(log, key)
      if (entry === undefined) {
        // Decided elsewhere, but the value never reached us: fetch the block by sync.
        if (s.behindReported > s.height) continue
        t.s = { ...s, behindReported: s.height + 1 }
        emit(t, { type: 'behind', height: s.height + 1 })
        return true
      }
      if (!entry.valid) continue
      const certificate = votesFor(log.precommits, key)
      t.s = {
        ...s,
        step: 'decided',
        decision: { round, value: entry.proposal.value, hash: entry.hash },
        lastCommit: { height: s.height, round, hash: entry.hash, certificate }
      }
      emit(t, { type: 'commit', height: s.height, round, value: entry.proposal.value, hash: entry.hash, certificate })
      return true
    }
  }
  return false
}

/** Lines 55–56: more than 1/3 of the power is in a later round: move to it. */
function roundSkipRule (t: Transition): boolean {
  const s = t.s
  const ahead: Array<[round: number, power: number]> = []
  let aheadPower = 0
  for (const [index, round] of s.maxRoundSeen) {
    if (round <= s.round) continue
    const power = powerOf(s.validators, index)
    ahead.push([round, power])
    aheadPower += power
  }
  if (!oneThird(t, aheadPower)) return false
  // The highest round that more than 1/3 of the power has reached (so an honest validator has).
  ahead.sort((a, b) => b[0] - a[0])
  let power = 0
  for (const [round, p] of ahead) {
    power += p
    if (oneThird(t, power)) {
      startRound(t, round)
      return true
    }
  }
  return false
}

/** Lines 22–27 (validRound = -1) and 28–33 (a POL round vr with >2/3 prevotes). */
function proposalRule (t: Transition): boolean {
  const s = t.s
  if (s.step !== 'propose') return false
  for (const entry of s.log.get(s.round)?.proposals ?? []) {
    const vr = entry.proposal.validRound
    let accept: boolean
    if (vr === -1) {
      accept = entry.valid && lockAllows(t, entry, -1)
    } else {
      const pol = s.log.get(vr)
      if (vr >= s.round || pol === undefined || !quorum(t, powerFor(pol.prevotes, entry.key))) continue
      accept = entry.valid && lockAllows(t, entry, vr)
    }
    castVote(t, 'prevote', accept ? entry.hash : null)
    t.s = { ...t.s, step: 'prevote' }
    return true
  }
  return false
}

/** Lines 34–35: >2/3 prevotes of any kind: start the prevote timeout. */
function prevoteWaitRule (t: Transition): boolean {
  const s = t.s
  if (s.step !== 'prevote' || s.flags.prevoteTimeoutScheduled) return false
  if (!quorum(t, s.log.get(s.round)?.prevotes.power ?? 0)) return false
  t.s = { ...s, flags: { ...s.flags, prevoteTimeoutScheduled: true } }
  scheduleTimeout(t, 'prevote')
  return true
}

/** Lines 36–43: a valid proposal with >2/3 prevotes: lock and precommit it (if still prevoting), and remember it as valid. */
function polRule (t: Transition): boolean {
  const s = t.s
  if ((s.step !== 'prevote' && s.step !== 'precommit') || s.flags.polSeen) return false
  const log = s.log.get(s.round)
  const entry = log?.proposals.find(e => e.valid && quorum(t, powerFor(log.prevotes, e.key)))
  if (log === undefined || entry === undefined) return false
  if (s.step === 'prevote') {
    const pol = votesFor(log.prevotes, entry.key)
    t.s = { ...s, lockedRound: s.round, lock: { round: s.round, hash: entry.hash, value: entry.proposal.value, pol } }
    castVote(t, 'precommit', entry.hash)
    t.s = { ...t.s, step: 'precommit' }
  }
  t.s = { ...t.s, validRound: s.round, validValue: entry.proposal.value, flags: { ...t.s.flags, polSeen: true } }
  return true
}

/** Lines 44–46: >2/3 prevotes for nil: precommit nil. */
function nilPolRule (t: Transition): boolean {
  const s = t.s
  if (s.step !== 'prevote') return false
  if (!quorum(t, powerFor(s.log.get(s.round)?.prevotes ?? emptyRoundLog.prevotes, nilKey))) return false
  castVote(t, 'precommit', null)
  t.s = { ...t.s, step: 'precommit' }
  return true
}

/** Lines 47–48: >2/3 precommits of any kind: start the precommit timeout. */
function precommitWaitRule (t: Transition): boolean {
  const s = t.s
  if (s.flags.precommitTimeoutScheduled) return false
  if (!quorum(t, s.log.get(s.round)?.precommits.power ?? 0)) return false
  t.s = { ...s, flags: { ...s.flags, precommitTimeoutScheduled: true } }
  scheduleTimeout(t, 'precommit')
  return true
}
