/**
 * What a node re-sends so that peers which lost messages catch up. The paper assumes gossip:
 * a message received by one correct process is eventually received by all. Over a lossy network
 * the driver provides it by periodically re-broadcasting `gossipMessages(state)` while the node
 * makes no progress (and always after a partition heals).
 */
import type { ConsensusState } from './state.ts'
import type { ConsensusMessage } from './types.ts'
import { allVotes } from './votes.ts'

/**
 * The proposals and votes a stalled node should re-send: everything it holds for the current and
 * previous round, the proposal and prevotes of its valid round (the POL a re-proposal needs), and
 * the precommits that decided the previous height (for peers still at it). Bounded by the log
 * limits: at most three rounds of one vote per validator and type.
 */
export function gossipMessages (s: ConsensusState): ConsensusMessage[] {
  const out: ConsensusMessage[] = []
  if (s.step === 'idle') return out
  if (s.lastCommit !== null && s.lastCommit.height === s.height - 1) {
    for (const vote of s.lastCommit.certificate) out.push({ type: 'vote', vote })
  }
  if (s.step === 'decided') {
    if (s.decision !== null) pushRound(s, s.decision.round, out, true)
    return out
  }
  const rounds = new Set([s.round - 1, s.round])
  for (const r of rounds) pushRound(s, r, out, true)
  if (s.validRound >= 0 && !rounds.has(s.validRound)) pushRound(s, s.validRound, out, false)
  return out
}

function pushRound (s: ConsensusState, round: number, out: ConsensusMessage[], precommits: boolean): void {
  const log = s.log.get(round)
  if (log === undefined) return
  for (const proposal of log.proposals) out.push({ type: 'proposal', proposal: proposal.proposal })
  for (const vote of allVotes(log.prevotes)) out.push({ type: 'vote', vote })
  if (precommits) for (const vote of allVotes(log.precommits)) out.push({ type: 'vote', vote })
}
