/**
 * Byzantine validators. A Byzantine node runs the same honest core (so it knows the height and
 * round) but every message it would broadcast passes through `ByzantineSender`, which rewrites,
 * multiplies or withholds it according to the node's behaviours:
 * - `silent`: sends nothing;
 * - `equivocate`: each vote goes as signed to some peers and a conflicting vote to the others;
 * - `split-proposals`: as proposer, sends one block to some peers and another to the rest, and
 *   votes for each block to the peers that got it;
 * - `fresh-proposals`: as proposer, ignores its valid value and proposes a new block with no POL
 *   (what an honest node that lost its state would do; honest locks must hold against it);
 * - `invalid-blocks`: as proposer, proposes blocks the application rejects, and votes for them;
 * - `withhold-proposals`: as proposer, sends its proposal to some peers only;
 * - `withhold-precommits`: sends each precommit to one peer only, so peers see different quorums;
 * - `promiscuous`: prevotes and precommits for every proposal it receives, to everyone, whatever
 *   it voted before (the help a second quorum needs when an honest node forgets its lock);
 * - `garbage`: adds validly signed votes for random hashes at later rounds and heights;
 * - `malformed`: adds undecodable bytes, bad signatures, forged signers and invalid fields.
 */
import { toHex } from '../foundations/bytes.ts'
import type { Random } from '../foundations/clock.ts'
import { encode } from '../foundations/encoding.ts'
import { encodeMessage, proposalSignBytes, voteSignBytes } from '../core/consensus/messages.ts'
import type { ConsensusMessage, SignedProposal, SignedVote } from '../core/consensus/types.ts'
import { blockHash } from './app.ts'
import type { ByzantineBehaviour } from './scenario.ts'

/** What a Byzantine sender needs: its behaviours, peers, key and a way to build blocks. */
export interface ByzantineInit {
  readonly behaviours: readonly ByzantineBehaviour[]
  readonly peers: readonly number[]
  readonly random: Random
  readonly chainId: string
  readonly publicKey: Uint8Array
  readonly sign: (bytes: Uint8Array) => Uint8Array
  /** Keys of other validators, for forged-signer messages. */
  readonly otherKeys: readonly Uint8Array[]
  /** A new block for `height` extending this node's chain. */
  readonly freshBlock: (height: number, invalid: boolean) => Uint8Array
}

/** One packet to one peer. */
export interface Send { readonly to: number, readonly bytes: Uint8Array }

/** Rounds remembered for split and replaced proposals; older ones are forgotten. */
const maxRememberedRounds = 64

/** Rewrites a Byzantine validator's outgoing messages according to its behaviours. */
export class ByzantineSender {
  private readonly init: ByzantineInit
  private readonly has: (b: ByzantineBehaviour) => boolean
  /** `height/round` → the hash its own core voted for (hex) and the hash it proposed instead. */
  private readonly replaced = new Map<string, { from: string, to: Uint8Array }>()
  /** `height/round` → a split proposal: the main hash (hex), the other hash, and who got the other. */
  private readonly splits = new Map<string, { main: string, alt: Uint8Array, altPeers: ReadonlySet<number> }>()
  /** `height/round/hash` of proposals a promiscuous node already voted for. */
  private readonly votedFor = new Set<string>()

  constructor (init: ByzantineInit) {
    this.init = init
    const set = new Set(init.behaviours)
    this.has = b => set.has(b)
  }

  /** What the node sends instead of broadcasting `message`. */
  sends (message: ConsensusMessage): Send[] {
    if (this.has('silent')) return []
    const out: Send[] = []
    if (message.type === 'proposal') this.proposal(message.proposal, out)
    else this.vote(message.vote, out)
    if (this.has('garbage')) this.garbage(message, out)
    if (this.has('malformed')) this.malformed(message, out)
    return out
  }

  /**
   * A message the node received (already decoded, not yet checked). A promiscuous node answers
   * every proposal with votes for it.
   */
  observe (message: ConsensusMessage): Send[] {
    if (!this.has('promiscuous') || message.type !== 'proposal') return []
    const p = message.proposal
    const key = `${p.height}/${p.round}/${toHex(blockHash(p.value))}`
    if (this.votedFor.has(key)) return []
    if (this.votedFor.size >= maxRememberedRounds) this.votedFor.clear()
    this.votedFor.add(key)
    const out: Send[] = []
    for (const type of ['prevote', 'precommit'] as const) {
      this.vote(this.signVote({ type, height: p.height, round: p.round, hash: blockHash(p.value), validator: this.init.publicKey, signature: new Uint8Array(0) }), out)
    }
    return out
  }

  private proposal (p: SignedProposal, out: Send[]): void {
    const { peers, freshBlock } = this.init
    const key = `${p.height}/${p.round}`
    let main = p
    if (this.has('invalid-blocks')) main = this.signProposal(p.height, p.round, -1, freshBlock(p.height, true))
    else if (this.has('fresh-proposals') && p.validRound >= 0) main = this.signProposal(p.height, p.round, -1, freshBlock(p.height, false))
    if (main !== p) this.remember(this.replaced, key, { from: toHex(blockHash(p.value)), to: blockHash(main.value) })
    if (!this.has('split-proposals')) {
      const bytes = encodeMessage({ type: 'proposal', proposal: main })
      const targets = this.has('withhold-proposals') ? this.someButNotAll() : peers
      for (const to of targets) out.push({ to, bytes })
      return
    }
    const alt = this.signProposal(p.height, p.round, -1, freshBlock(p.height, false))
    const altPeers = this.randomHalf()
    this.remember(this.splits, key, { main: toHex(blockHash(main.value)), alt: blockHash(alt.value), altPeers })
    const mainBytes = encodeMessage({ type: 'proposal', proposal: main })
    const altBytes = encodeMessage({ type: 'proposal', proposal: alt })
    for (const to of peers) out.push({ to, bytes: altPeers.has(to) ? altBytes : mainBytes })
  }

  private vote (v: SignedVote, out: Send[]): void {
    const { peers, random } = this.init
    const key = `${v.height}/${v.round}`
    let vote = v
    const replaced = this.replaced.get(key)
    if (replaced !== undefined && v.hash !== null && toHex(v.hash) === replaced.from) vote = this.signVote({ ...v, hash: replaced.to })
    const split = this.splits.get(key)
    const splitVote = split !== undefined && vote.hash !== null && toHex(vote.hash) === split.main ? this.signVote({ ...vote, hash: split.alt }) : undefined
    const targets = this.has('withhold-precommits') && v.type === 'precommit' ? [peers[random.int(peers.length)] ?? 0] : peers
    const equivocating = this.has('equivocate') ? this.randomHalf() : new Set<number>()
    const conflicting = this.has('equivocate') ? this.signVote({ ...vote, hash: vote.hash === null ? randomHash(random) : null }) : undefined
    const bytes = encodeMessage({ type: 'vote', vote })
    for (const to of targets) {
      if (splitVote !== undefined && split?.altPeers.has(to) === true) out.push({ to, bytes: encodeMessage({ type: 'vote', vote: splitVote }) })
      else if (conflicting !== undefined && equivocating.has(to)) out.push({ to, bytes: encodeMessage({ type: 'vote', vote: conflicting }) })
      else out.push({ to, bytes })
    }
  }

  private garbage (m: ConsensusMessage, out: Send[]): void {
    const { random } = this.init
    const height = m.type === 'vote' ? m.vote.height : m.proposal.height
    const round = m.type === 'vote' ? m.vote.round : m.proposal.round
    const later = random.next() < 0.5
      ? { height, round: round + 1 + random.int(1000) }
      : { height: height + 1 + random.int(3), round: random.int(3) }
    const vote = this.signVote({ type: random.next() < 0.5 ? 'prevote' : 'precommit', ...later, hash: randomHash(random), validator: this.init.publicKey, signature: new Uint8Array(0) })
    this.toRandomPeer(out, encodeMessage({ type: 'vote', vote }))
  }

  private malformed (m: ConsensusMessage, out: Send[]): void {
    const { random, otherKeys } = this.init
    const bytes = encodeMessage(m)
    const kind = random.int(6)
    if (kind === 0) this.toRandomPeer(out, randomBytes(random, 1 + random.int(64)))
    else if (kind === 1) this.toRandomPeer(out, bytes.subarray(0, random.int(bytes.byteLength)))
    else if (kind === 2 && m.type === 'vote') {
      // A vote claiming another validator's key: its signature cannot verify.
      const victim = otherKeys[random.int(otherKeys.length)] ?? this.init.publicKey
      this.toRandomPeer(out, encodeMessage({ type: 'vote', vote: { ...m.vote, validator: victim } }))
    } else if (kind === 3) {
      const flipped = m.type === 'vote'
        ? { type: 'vote' as const, vote: { ...m.vote, signature: flip(m.vote.signature) } }
        : { type: 'proposal' as const, proposal: { ...m.proposal, signature: flip(m.proposal.signature) } }
      this.toRandomPeer(out, encodeMessage(flipped))
    } else if (kind === 4) {
      this.toRandomPeer(out, encode({ type: 'proposal', height: 1, round: 0, validRound: 5, value: new Uint8Array(1), signature: new Uint8Array(64) }))
    } else {
      this.toRandomPeer(out, encode({ type: 'prevote', height: 2 ** 60, round: -1, hash: 'x', validator: new Uint8Array(3), signature: 7, extra: true }))
    }
  }

  private signVote (v: SignedVote): SignedVote {
    return { ...v, validator: this.init.publicKey, signature: this.init.sign(voteSignBytes(this.init.chainId, v)) }
  }

  private signProposal (height: number, round: number, validRound: number, value: Uint8Array): SignedProposal {
    const header = { height, round, validRound }
    return { ...header, value, signature: this.init.sign(proposalSignBytes(this.init.chainId, header, blockHash(value))) }
  }

  private randomHalf (): Set<number> {
    const { peers, random } = this.init
    const half = new Set<number>()
    for (const p of peers) if (random.next() < 0.5) half.add(p)
    return half
  }

  /** A random non-empty subset of the peers that leaves at least one out. */
  private someButNotAll (): number[] {
    const { peers, random } = this.init
    const left = random.int(peers.length)
    const out = peers.filter((_, i) => i !== left && random.next() < 0.7)
    return out.length > 0 ? out : peers.filter((_, i) => i !== left).slice(0, 1)
  }

  private toRandomPeer (out: Send[], bytes: Uint8Array): void {
    const { peers, random } = this.init
    const to = peers[random.int(peers.length)]
    if (to !== undefined) out.push({ to, bytes })
  }

  private remember<V> (map: Map<string, V>, key: string, value: V): void {
    if (map.size >= maxRememberedRounds) map.clear()
    map.set(key, value)
  }
}

function randomBytes (random: Random, n: number): Uint8Array {
  const b = new Uint8Array(n)
  for (let i = 0; i < n; i++) b[i] = random.int(256)
  return b
}

function randomHash (random: Random): Uint8Array {
  return randomBytes(random, 32)
}

function flip (signature: Uint8Array): Uint8Array {
  const copy = new Uint8Array(signature)
  copy[0] = (copy[0] ?? 0) ^ 1
  return copy
}
