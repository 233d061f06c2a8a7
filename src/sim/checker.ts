/**
 * The simulator's judge. It watches what honest nodes do and records every violation of:
 * - agreement: no two different values committed at one height by honest nodes;
 * - validity: every value an honest node commits is a valid block extending the committed chain,
 *   with a certificate that `verifyCommitCertificate` accepts;
 * - no double signing: no honest validator broadcasts two different votes (or proposals) for one
 *   height/round/type, across crashes and restarts;
 * - no false accusations: no equivocation evidence and no penalty against an honest validator.
 * Liveness is judged by the simulation loop, which knows the time.
 */
import { toHex } from '../foundations/bytes.ts'
import { verifyCommitCertificate } from '../core/consensus/certificate.ts'
import type { ConsensusMessage, Equivocation, SignedVote, Validator } from '../core/consensus/types.ts'
import { blockHash, genesisHash, isValidBlock } from './app.ts'

/** What a violation breaks. */
export type ViolationKind =
  | 'agreement' | 'validity' | 'certificate' | 'double-signing' | 'false-evidence' | 'false-penalty'
  | 'liveness' | 'stuck'

/** One broken property, with the details that explain it. */
export interface Violation {
  readonly kind: ViolationKind
  readonly message: string
}

/** Violations kept per kind and run: the first few tell the story, the rest are noise. */
const maxViolationsPerKind = 5

/** Collects the violations of one run (see the module comment for the properties). */
export class Checker {
  readonly violations: Violation[] = []
  private readonly honest: ReadonlySet<number>
  private readonly chainId: string
  private readonly validators: readonly Validator[]
  private readonly verify: (publicKey: Uint8Array, bytes: Uint8Array, signature: Uint8Array) => boolean
  private readonly keyIndex: ReadonlyMap<string, number>
  /** Height → hash (hex) and value first committed by an honest node. */
  private readonly committed = new Map<number, { hash: string, value: Uint8Array, node: number }>()
  /** `validator/height/round/type` → hash (hex, or 'nil') an honest validator signed. */
  private readonly signed = new Map<string, string>()
  /** Highest height committed per node. */
  readonly heights: number[]
  evidenceCount = 0

  constructor (init: {
    honest: ReadonlySet<number>
    chainId: string
    validators: readonly Validator[]
    verify: (publicKey: Uint8Array, bytes: Uint8Array, signature: Uint8Array) => boolean
  }) {
    this.honest = init.honest
    this.chainId = init.chainId
    this.validators = init.validators
    this.verify = init.verify
    this.keyIndex = new Map(init.validators.map((v, i) => [toHex(v.publicKey), i]))
    this.heights = init.validators.map(() => 0)
  }

  get ok (): boolean {
    return this.violations.length === 0
  }

  fail (kind: ViolationKind, message: string): void {
    if (this.violations.filter(v => v.kind === kind).length < maxViolationsPerKind) this.violations.push({ kind, message })
  }

  /** An honest node broadcast `message` it signed (directly or re-sent after a restart). */
  onBroadcast (node: number, message: ConsensusMessage, now: number): void {
    if (!this.honest.has(node)) return
    const key = message.type === 'vote'
      ? `${node}/${message.vote.height}/${message.vote.round}/${message.vote.type}`
      : `${node}/${message.proposal.height}/${message.proposal.round}/proposal`
    const what = message.type === 'vote' ? (message.vote.hash === null ? 'nil' : toHex(message.vote.hash)) : toHex(blockHash(message.proposal.value))
    const before = this.signed.get(key)
    if (before === undefined) this.signed.set(key, what)
    else if (before !== what) this.fail('double-signing', `t=${ms(now)} honest node ${node} signed two different ${key} (${before.slice(0, 8)} then ${what.slice(0, 8)})`)
  }

  /** An honest node committed `value` at `height`, by consensus or by block sync. */
  onCommit (node: number, height: number, value: Uint8Array, certificate: readonly SignedVote[], via: 'consensus' | 'sync', now: number): void {
    if (!this.honest.has(node)) return
    const hash = blockHash(value)
    const hex = toHex(hash)
    const previous = this.committed.get(height - 1)
    const parent = height === 1 ? genesisHash : previous === undefined ? undefined : blockHash(previous.value)
    if (parent !== undefined && !isValidBlock(value, height, parent)) this.fail('validity', `t=${ms(now)} node ${node} committed an invalid block at height ${height} (${via})`)
    if (!verifyCommitCertificate(this.chainId, this.validators, height, hash, certificate, this.verify)) {
      this.fail('certificate', `t=${ms(now)} node ${node} committed height ${height} (${via}) without a valid commit certificate`)
    }
    const first = this.committed.get(height)
    if (first === undefined) this.committed.set(height, { hash: hex, value, node })
    else if (first.hash !== hex) this.fail('agreement', `t=${ms(now)} height ${height} committed as ${first.hash.slice(0, 8)} by node ${first.node} and as ${hex.slice(0, 8)} by node ${node} (${via})`)
    if (height > (this.heights[node] ?? 0)) this.heights[node] = height
  }

  onEvidence (node: number, evidence: Equivocation, now: number): void {
    this.evidenceCount++
    const accused = this.keyIndex.get(toHex(evidence.first.validator))
    if (accused !== undefined && this.honest.has(accused) && this.honest.has(node)) {
      this.fail('false-evidence', `t=${ms(now)} node ${node} holds equivocation evidence against honest validator ${accused} at height ${evidence.first.height} round ${evidence.first.round}`)
    }
  }

  /** An honest node penalised a peer: only Byzantine peers ever deserve it. */
  onPenalty (node: number, peer: number, reason: string, now: number): void {
    if (this.honest.has(node) && this.honest.has(peer)) this.fail('false-penalty', `t=${ms(now)} node ${node} penalised honest node ${peer}: ${reason}`)
  }

  /** The highest height every honest node has committed. */
  minHonestHeight (): number {
    let min = Infinity
    for (const n of this.honest) min = Math.min(min, this.heights[n] ?? 0)
    return min === Infinity ? 0 : min
  }

  maxHonestHeight (): number {
    let max = 0
    for (const n of this.honest) max = Math.max(max, this.heights[n] ?? 0)
    return max
  }
}

function ms (t: number): string {
  return `${Math.round(t)}ms`
}
