/**
 * The ledger's authenticated state map: a persistent (immutable, structurally shared) Merkle
 * radix tree over SHA-256 key positions, and the proofs a light client checks against a
 * block's state root. Layout, hashing and proof bytes: docs/protocol/state-proofs.md.
 *
 * ```ts
 * const m = emptyAuthMap().set(utf8.encode('alice'), utf8.encode('1'))
 * const proof = decodeProof(encodeProof(m.prove(utf8.encode('alice'))))
 * verifyStateProof(m.root, utf8.encode('alice'), utf8.encode('1'), proof)   // true
 * verifyStateProof(m.root, utf8.encode('bob'), undefined, m.prove(utf8.encode('bob')))   // true: absent
 * ```
 */
export type { AuthMap } from './map.ts'
export { authMapFrom, emptyAuthMap, emptyMapRoot } from './map.ts'
export type { ProofLeaf, ProofStep, StateProof } from './proof.ts'
export { decodeProof, encodeProof, maxProofBytes, verifyStateProof } from './proof.ts'
