/**
 * Peer exchange, the codec (no I/O). A node asks a connected peer for the peers that peer is
 * connected to, so nodes that only know a bootstrap peer still end up fully connected in a small
 * network (the mesh of a 4–10 validator set). Request body: empty. Response body: canonical CBOR
 * `[[peerId, [multiaddr, …]], …]`, bounded by `maxExchangePeers` and friends.
 */
import { decode, encode } from '../../foundations/encoding.ts'
import { MalformedMessageError } from '../../foundations/errors.ts'
import { multiaddr } from '@multiformats/multiaddr'
import {
  maxExchangeAddrChars, maxExchangeAddrsPerPeer, maxExchangePeers, maxExchangeResponseBytes, maxPeerIdChars
} from './constants.ts'
import { isPeerId } from './libp2p-identity.ts'

export const peerExchangeProtocol = '/keynet/peers/1.0.0'

export interface ExchangedPeer { peer: string, addrs: string[] }

/** Encodes at most the bounded number of peers and addresses; longer ones are skipped. */
export function encodePeerList (peers: ExchangedPeer[]): Uint8Array {
  const list: Array<[string, string[]]> = []
  for (const { peer, addrs } of peers) {
    if (list.length >= maxExchangePeers) break
    if (peer.length > maxPeerIdChars) continue
    const kept = addrs.filter(a => a.length <= maxExchangeAddrChars).slice(0, maxExchangeAddrsPerPeer)
    if (kept.length > 0) list.push([peer, kept])
  }
  return encode(list)
}

/**
 * Decodes and validates a peer list from the network: throws `MalformedMessageError` when the
 * shape is wrong or a bound is exceeded; drops entries whose peer id or addresses do not parse.
 */
export function decodePeerList (bytes: Uint8Array): ExchangedPeer[] {
  if (bytes.byteLength > maxExchangeResponseBytes) throw new MalformedMessageError('peer list too large')
  const value = decode<unknown>(bytes)
  if (!Array.isArray(value) || value.length > maxExchangePeers) throw new MalformedMessageError('peer list is not a bounded array')
  const out: ExchangedPeer[] = []
  for (const entry of value) {
    if (!Array.isArray(entry) || entry.length !== 2) throw new MalformedMessageError('peer entry is not [peer, addrs]')
    const [peer, addrs] = entry as [unknown, unknown]
    if (typeof peer !== 'string' || peer.length > maxPeerIdChars) throw new MalformedMessageError('peer id is not a bounded string')
    if (!Array.isArray(addrs) || addrs.length > maxExchangeAddrsPerPeer) throw new MalformedMessageError('addresses are not a bounded array')
    if (!isPeerId(peer)) continue
    const valid: string[] = []
    for (const addr of addrs) {
      if (typeof addr !== 'string' || addr.length > maxExchangeAddrChars) throw new MalformedMessageError('address is not a bounded string')
      if (isDialableAddr(addr)) valid.push(addr)
    }
    if (valid.length > 0) out.push({ peer, addrs: valid })
  }
  return out
}

/** A TCP address over IPv4/IPv6/DNS without a peer id: the only kind the host dials from an exchange. */
function isDialableAddr (addr: string): boolean {
  try {
    const names = multiaddr(addr).getComponents().map(c => c.name)
    return names.length === 2 && ['ip4', 'ip6', 'dns', 'dns4', 'dns6'].includes(names[0] as string) && names[1] === 'tcp'
  } catch {
    return false
  }
}
