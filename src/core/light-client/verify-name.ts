import { fromHex, utf8 } from '../../foundations/bytes.ts'
import { verifyBytes } from '../../foundations/crypto.ts'
import { decode } from '../../foundations/encoding.ts'
import { ProofInvalidError } from '../../foundations/errors.ts'
import { decodeProof, verifyStateProof } from '../auth-map/index.ts'
import { decodeCertificate, verifyCommitCertificate } from '../consensus/index.ts'
import { blockHash, decodeHeader } from '../ledger/block.ts'
import { nameStatus, subNameExpiry, type NameStatus } from '../ledger/names.ts'
import { stateKey } from '../ledger/state-keys.ts'
import type { BlockHeader, Genesis, NameEntry } from '../ledger/types.ts'
import { parseName } from '../names/grammar.ts'
import type { Freshness } from './freshness.ts'

/** A name answer with its proof, as the node API sends it (bytes as hex). */
export interface NameProofInput {
  name: string
  /** Encoded name entry, or null when the proof shows the name is absent. */
  entry: string | null
  /** Encoded state proof against the header's state root. */
  proof: string
  /** Encoded block header whose state root the proof is against. */
  header: string
  /** Encoded commit certificate (>2/3 precommits) for that header. */
  certificate: string
  /** For a sub-name: the same for its root name, whose expiry it follows. */
  root?: { entry: string | null, proof: string }
}

/** What a verified answer establishes. */
export interface VerifiedName {
  name: string
  /** The entry, or undefined when the proof shows the name is not registered. */
  entry: NameEntry | undefined
  status: NameStatus | 'unregistered'
  /** Expiry that applies (a sub-name's is its root's). */
  expiresAt: number | undefined
  header: BlockHeader
  /** Voting power that signed the header, out of the total. */
  signedPower: number
  totalPower: number
  proofBytes: number
}

/**
 * The light-client check: accepts a name answer only if its state proof leads to the state root
 * of a block header that more than two thirds of the trusted validator set signed. Trusts
 * nothing about the node that sent it; throws `ProofInvalidError` naming the failed check. With
 * `freshness`, a header older than its limit is refused too (see `Freshness`).
 */
export function verifyNameProof (trusted: Pick<Genesis, 'chainId' | 'validators' | 'params'>, input: NameProofInput, requestedName?: string, freshness?: Freshness): VerifiedName {
  const parsed = parseName(requestedName ?? input.name)
  if (parsed.name !== input.name) throw new ProofInvalidError(`the answer is for ${input.name}, not ${parsed.name}`)
  let header: BlockHeader
  let certificate
  let proofBytes = 0
  try {
    const headerBytes = fromHex(input.header)
    const certBytes = fromHex(input.certificate)
    proofBytes += headerBytes.byteLength + certBytes.byteLength
    header = decodeHeader(headerBytes)
    certificate = decodeCertificate(certBytes)
  } catch (err) {
    throw new ProofInvalidError(`malformed header or certificate: ${(err as Error).message}`)
  }
  if (header.chainId !== trusted.chainId) throw new ProofInvalidError(`header is from chain ${header.chainId}, not ${trusted.chainId}`)
  if (freshness !== undefined && freshness.now - header.time > freshness.maxAgeMs) {
    const age = Math.round((freshness.now - header.time) / 1000)
    throw new ProofInvalidError(`the answer is from block ${header.height}, ${age} s old (the limit is ${Math.round(freshness.maxAgeMs / 1000)} s): the node is behind or withholding newer blocks; ask another node (--api), or accept older answers with keynet name show --verify --max-age`)
  }
  const validators = trusted.validators.map(v => ({ publicKey: v.publicKey, power: v.power }))
  if (!verifyCommitCertificate(trusted.chainId, validators, header.height, blockHash(header), certificate, verifyBytes)) {
    throw new ProofInvalidError(`block ${header.height} is not signed by more than 2/3 of the trusted validators`)
  }
  const totalPower = validators.reduce((s, v) => s + v.power, 0)
  const signers = new Set(certificate.map(v => Buffer.from(v.validator).toString('hex')))
  const signedPower = validators.filter(v => signers.has(Buffer.from(v.publicKey).toString('hex'))).reduce((s, v) => s + v.power, 0)

  const check = (name: string, entryHex: string | null, proofHex: string): NameEntry | undefined => {
    let value: Uint8Array | undefined
    let ok = false
    try {
      value = entryHex === null ? undefined : fromHex(entryHex)
      const proof = fromHex(proofHex)
      proofBytes += proof.byteLength + (value?.byteLength ?? 0)
      ok = verifyStateProof(header.stateRoot, utf8.encode(stateKey.name(name)), value, decodeProof(proof))
    } catch {
      ok = false
    }
    if (!ok) throw new ProofInvalidError(`the state proof for ${name} does not match block ${header.height}'s state root`)
    const entry = value === undefined ? undefined : decode<NameEntry>(value)
    if (entry !== undefined && entry.name !== name) throw new ProofInvalidError(`the proven entry is for ${entry.name}, not ${name}`)
    return entry
  }

  const entry = check(parsed.name, input.entry, input.proof)
  let expiresAt = entry?.expiresAt
  if (parsed.parent !== undefined && entry !== undefined) {
    if (input.root === undefined) throw new ProofInvalidError(`a sub-name answer must include the proof for ${parsed.root}`)
    expiresAt = subNameExpiry(entry, check(parsed.root, input.root.entry, input.root.proof))
  }
  const status = entry === undefined || expiresAt === undefined ? 'unregistered' : nameStatus(expiresAt, header.time, trusted.params)
  return { name: parsed.name, entry, status, expiresAt, header, signedPower, totalPower, proofBytes }
}
