/**
 * Resolves a `.key` name to its content root from the node's own ledger state, which the node
 * checked block by block against the validators' commit certificates — so the answer is
 * verified, not taken from any peer's word.
 */
import { NameExpiredError, NameNotFoundError, errorWithStatus } from '../../foundations/errors.ts'
import { effectiveExpiry, nameStatus } from '../../core/ledger/names.ts'
import { parseName } from '../../core/names/grammar.ts'
import { parseCid, type CID } from '../../core/content/cid.ts'
import type { LedgerNode } from '../ledger/ledger-node.ts'

/** The name is registered but points at no content. */
export class NoContentError extends errorWithStatus(404) {}

export interface ResolvedName { name: string, cid: CID, version: number, replicas: number }

export class LedgerResolver {
  private readonly ledger: LedgerNode

  constructor (ledger: LedgerNode) {
    this.ledger = ledger
  }

  async resolve (input: string): Promise<ResolvedName> {
    const parsed = parseName(input)
    const view = this.ledger.view()
    const entry = view.name(parsed.name)
    if (entry === undefined) throw new NameNotFoundError(`${parsed.name} is not registered`)
    const status = nameStatus(effectiveExpiry(view, parsed, entry), this.ledger.chain.time, this.ledger.chain.genesis.params)
    if (status === 'expired') throw new NameExpiredError(`${parsed.name} has expired`)
    const content = entry.records.content
    if (content === undefined) throw new NoContentError(`${parsed.name} has no content record: publish with \`keynet publish <dir> --name ${parsed.name}\``)
    return { name: parsed.name, cid: parseCid(content.cid), version: entry.version, replicas: content.replicas }
  }
}
