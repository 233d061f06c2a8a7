/**
 * Operator identity: which providers count as one party. Nodes that share an operator key, a
 * stake source (the account that funded the operator's stake) or a network prefix (IPv4 /24,
 * IPv6 /48) are one operator group, transitively — an operator that splits into many keys but
 * funds them from one wallet or runs them in one subnet stays one operator for the cap and for
 * the replica policy.
 */

export interface ProviderIdentity {
  /** Provider address (hex). */
  id: string
  /** Operator address (hex) that endorsed the node. */
  operator: string
  /** Accounts (hex) that funded the operator's stake. */
  stakeSources: string[]
  /** Network prefixes the node announces (see `networkPrefix`). */
  prefixes: string[]
}

/** The network a multiaddr is in: `ip4/a.b.c` (a /24) or `ip6/xxxx:xxxx:xxxx` (a /48); undefined for other addresses. */
export function networkPrefix (multiaddr: string): string | undefined {
  const v4 = /^\/ip4\/(\d+)\.(\d+)\.(\d+)\.\d+(\/|$)/.exec(multiaddr)
  if (v4 !== null) {
    // Loopback and private ranges say nothing about who runs a node (every devnet shares them).
    if (v4[1] === '127' || v4[1] === '10' || (v4[1] === '192' && v4[2] === '168') || (v4[1] === '172' && Number(v4[2]) >= 16 && Number(v4[2]) < 32)) return undefined
    return `ip4/${v4[1]}.${v4[2]}.${v4[3]}`
  }
  const v6 = /^\/ip6\/([0-9a-f]{0,4}):([0-9a-f]{0,4}):([0-9a-f]{0,4})/i.exec(multiaddr)
  if (v6 !== null && v6[1] !== '' && v6[1] !== 'fe80') return `ip6/${v6[1]}:${v6[2]}:${v6[3]}`.toLowerCase()
  return undefined
}

/**
 * Maps every provider id to its operator group: the smallest operator address among everything
 * linked to it, so the same inputs give the same group names in any order.
 */
export function operatorGroups (providers: readonly ProviderIdentity[]): Map<string, string> {
  const parent = new Map<string, string>()
  const find = (x: string): string => {
    let root = x
    while (parent.get(root) !== undefined && parent.get(root) !== root) root = parent.get(root)!
    // Path compression keeps repeated lookups near O(1).
    let node = x
    while (node !== root) { const next = parent.get(node)!; parent.set(node, root); node = next }
    return root
  }
  const union = (a: string, b: string): void => {
    if (!parent.has(a)) parent.set(a, a)
    if (!parent.has(b)) parent.set(b, b)
    const ra = find(a), rb = find(b)
    if (ra !== rb) parent.set(ra < rb ? rb : ra, ra < rb ? ra : rb)
  }
  for (const p of providers) {
    const op = `op:${p.operator}`
    union(op, op)
    for (const s of p.stakeSources) union(op, `src:${s}`)
    for (const prefix of p.prefixes) union(op, `net:${prefix}`)
  }
  // Name each group by its smallest operator, not by a source or prefix (those are not accounts).
  const name = new Map<string, string>()
  for (const p of providers) {
    const root = find(`op:${p.operator}`)
    const current = name.get(root)
    if (current === undefined || p.operator < current) name.set(root, p.operator)
  }
  return new Map(providers.map(p => [p.id, name.get(find(`op:${p.operator}`))!]))
}
