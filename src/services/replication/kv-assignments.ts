/**
 * Which key-value shards this storage node holds, read from the names' `shard` records: the
 * names are learned from committed blocks (the state map has no prefix scan) and remembered in
 * `<data>/kv-names.json`, so a restarted node still syncs its shards.
 */
import { existsSync, readFileSync } from 'node:fs'
import { replaceFileSync } from '../store/atomic-file.ts'
import { toHex, utf8 } from '../../foundations/bytes.ts'
import { getProvider } from '../../core/ledger/providers.ts'
import type { LedgerNode, CommittedBlock } from '../ledger/ledger-node.ts'
import { peerIdOfPublicKey } from '../p2p/index.ts'
import { p2pAddrs } from '../storage/http-addr.ts'
import type { HeldShard, ReplicaAddress } from '../kv/kv-replicator.ts'
import type { HeldShards } from '../kv/kv-protocol.ts'

/** Names with shards on one node: bounds the file and the sync loop. */
const maxKvNames = 10_000

export class KvAssignments {
  private readonly ledger: LedgerNode
  private readonly address: string
  private readonly file: string
  private readonly names: Set<string>
  private readonly onCommit = (c: CommittedBlock): void => { this.committed(c) }

  constructor (init: { ledger: LedgerNode, address: Uint8Array, file: string }) {
    this.ledger = init.ledger
    this.address = toHex(init.address)
    this.file = init.file
    this.names = new Set(existsSync(init.file) ? JSON.parse(readFileSync(init.file, 'utf8')) as string[] : [])
  }

  start (): void { this.ledger.on('commit', this.onCommit) }
  stop (): void { this.ledger.off('commit', this.onCommit) }

  /** The owner address of a name in this node's ledger view. */
  readonly ownerOf = (name: string): Uint8Array | undefined => this.ledger.view().name(name)?.owner

  /** The shards of `name` this node holds. */
  readonly shardsHeld = (name: string): HeldShards | undefined => {
    const shard = this.ledger.view().name(name)?.records.shard
    if (shard === undefined) return undefined
    const held = (shard.providers ?? []).flatMap((holders, i) => holders.includes(this.address) ? [i] : [])
    return held.length === 0 ? undefined : { shards: shard.shards, held }
  }

  /** Every (name, shard) held here, for the anti-entropy loop. */
  readonly heldShards = (): HeldShard[] => [...this.names].flatMap(name => {
    const held = this.shardsHeld(name)
    return held === undefined ? [] : held.held.map(shard => ({ name, shards: held.shards, shard }))
  })

  /** The other replicas of a shard, addressed from the provider registry. */
  readonly replicasOf = (name: string, shard: number): ReplicaAddress[] => {
    const view = this.ledger.view()
    const holders = view.name(name)?.records.shard?.providers?.[shard] ?? []
    return holders.filter(h => h !== this.address).flatMap(h => {
      const p = getProvider(view, hexBytes(h))
      if (p === undefined) return []
      const peerId = peerIdOfPublicKey(p.node)
      return [{ peerId, addrs: p2pAddrs(p.addrs).map(a => `${a}/p2p/${peerId}`) }]
    })
  }

  private committed (c: CommittedBlock): void {
    let changed = false
    for (const change of c.outcome.changes) {
      const key = utf8.decode(change.key)
      if (!key.startsWith('name/')) continue
      const name = key.slice(5)
      const mine = this.shardsHeld(name) !== undefined
      if (mine && !this.names.has(name) && this.names.size < maxKvNames) { this.names.add(name); changed = true }
      if (!mine && this.names.delete(name)) changed = true
    }
    if (changed) {
      replaceFileSync(this.file, JSON.stringify([...this.names]))
    }
  }
}

function hexBytes (hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'))
}
