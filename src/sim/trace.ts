/** One-line descriptions of consensus events, messages and actions, for `--trace` output. */
import { toHex } from '../foundations/bytes.ts'
import { decodeMessage } from '../core/consensus/messages.ts'
import type { ConsensusAction, ConsensusEvent, ConsensusMessage } from '../core/consensus/types.ts'
import { blockHash } from './app.ts'

/** One line for an event a node handles. */
export function describeEvent (e: ConsensusEvent): string {
  switch (e.type) {
    case 'message': {
      try {
        return `${describeMessage(decodeMessage(e.bytes))} from ${String(e.from)}`
      } catch {
        return `malformed message from ${String(e.from)}`
      }
    }
    case 'vote': return describeMessage({ type: 'vote', vote: e.vote })
    case 'proposal': return describeMessage({ type: 'proposal', proposal: e.proposal })
    case 'timeout': return `timeout ${e.step} ${e.height}/${e.round}`
    case 'start-height': return `start-height ${e.height}`
    case 'value': return `value ${e.height}/${e.round}`
  }
}

/** One line for a consensus message. */
export function describeMessage (m: ConsensusMessage): string {
  if (m.type === 'proposal') return `proposal ${m.proposal.height}/${m.proposal.round} vr=${m.proposal.validRound} ${toHex(blockHash(m.proposal.value)).slice(0, 6)}`
  const v = m.vote
  return `${v.type} ${v.height}/${v.round} ${v.hash === null ? 'nil' : toHex(v.hash).slice(0, 6)} by ${toHex(v.validator).slice(0, 4)}`
}

/** One line for an action a node takes. */
export function describeAction (a: ConsensusAction): string {
  switch (a.type) {
    case 'broadcast': return `broadcast ${describeMessage(a.message)}`
    case 'persist-signing': return `persist ${a.record.height}/${a.record.round}/${String(a.record.step)}`
    case 'schedule-timeout': return `schedule ${a.step} ${a.height}/${a.round} +${a.delayMs}ms`
    case 'commit': return `COMMIT ${a.height}/${a.round} ${toHex(a.hash).slice(0, 6)}`
    case 'reject': return `reject (${a.reason})`
    case 'evidence': return `evidence against ${toHex(a.evidence.first.validator).slice(0, 4)}`
    case 'need-value': return `need-value ${a.height}/${a.round}`
    case 'behind': return `behind ${a.height}`
  }
}
