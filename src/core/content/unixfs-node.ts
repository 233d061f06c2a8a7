/**
 * Reading one block of a UnixFS DAG: what it is (file chunk, file node, directory) and what it
 * links to, with every field checked, so the exporter works on plain, consistent values.
 */
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import { dagPbCode, rawCode } from './cid.ts'
import type { CID } from './cid.ts'
import { maxBlockBytes } from './constants.ts'
import { InvalidDagError, UnsupportedDagError } from './errors.ts'

/**
 * A decoded block: a raw chunk (`data` is the whole block); a UnixFS file node (its own `data`,
 * then children of `childSizes[i]` content bytes each); or a directory (named links).
 */
export type UnixfsNode =
  | { kind: 'raw', data: Uint8Array, fileBytes: number }
  | { kind: 'file', data: Uint8Array, children: CID[], childSizes: number[], fileBytes: number }
  | { kind: 'directory', entries: Array<{ name: string, cid: CID }> }

/** The links of a dag-pb block, in order; `[]` for raw. */
export function blockLinks (cid: CID, bytes: Uint8Array): CID[] {
  if (cid.code === rawCode) return []
  return decodePb(cid, bytes).Links.map(link => link.Hash)
}

/** Decodes one verified block of a UnixFS DAG. */
export function decodeUnixfsNode (cid: CID, bytes: Uint8Array): UnixfsNode {
  if (cid.code === rawCode) {
    if (bytes.byteLength > maxBlockBytes) throw new InvalidDagError(`block ${cid} is ${bytes.byteLength} bytes, over the ${maxBlockBytes}-byte limit`)
    return { kind: 'raw', data: bytes, fileBytes: bytes.byteLength }
  }
  const pb = decodePb(cid, bytes)
  if (pb.Data === undefined) throw new InvalidDagError(`dag-pb block ${cid} has no UnixFS data`)
  let unixfs: UnixFS
  try {
    unixfs = UnixFS.unmarshal(pb.Data)
  } catch (err) {
    throw new InvalidDagError(`dag-pb block ${cid} holds no valid UnixFS data: ${(err as Error).message}`)
  }
  switch (unixfs.type) {
    case 'file':
    case 'raw': {
      if (pb.Links.length !== unixfs.blockSizes.length) {
        throw new InvalidDagError(`file node ${cid} has ${pb.Links.length} links but ${unixfs.blockSizes.length} block sizes`)
      }
      const childSizes = unixfs.blockSizes.map(size => safeNumber(size, cid))
      return {
        kind: 'file',
        data: unixfs.data ?? new Uint8Array(),
        children: pb.Links.map(link => link.Hash),
        childSizes,
        fileBytes: safeNumber(unixfs.fileSize(), cid)
      }
    }
    case 'directory':
      return {
        kind: 'directory',
        entries: pb.Links.map(link => {
          if (link.Name === undefined || link.Name === '') throw new InvalidDagError(`directory ${cid} has a link without a name`)
          return { name: link.Name, cid: link.Hash }
        })
      }
    default:
      throw new UnsupportedDagError(`block ${cid} is a UnixFS ${unixfs.type}, which Keynet does not read (only files and plain directories)`)
  }
}

function decodePb (cid: CID, bytes: Uint8Array): dagPb.PBNode {
  if (cid.code !== dagPbCode) throw new UnsupportedDagError(`block ${cid} has codec 0x${cid.code.toString(16)}; Keynet reads raw (0x55) and dag-pb (0x70) only`)
  if (bytes.byteLength > maxBlockBytes) throw new InvalidDagError(`block ${cid} is ${bytes.byteLength} bytes, over the ${maxBlockBytes}-byte limit`)
  try {
    return dagPb.decode(bytes)
  } catch (err) {
    throw new InvalidDagError(`block ${cid} is not valid dag-pb: ${(err as Error).message}`)
  }
}

function safeNumber (n: bigint, cid: CID): number {
  if (n < 0n || n > BigInt(Number.MAX_SAFE_INTEGER)) throw new InvalidDagError(`file node ${cid} declares an impossible size ${n}`)
  return Number(n)
}
