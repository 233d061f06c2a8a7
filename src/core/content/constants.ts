/**
 * Bounds of content addressing, each with its reason. The layout ones (`chunkBytes`,
 * `maxLinksPerNode`, `maxDirectoryBlockBytes`) are fixed by the `unixfs-v1-2025` profile: changing
 * them changes every CID. The others cap the memory and work one DAG, path or CAR can cost.
 */
import assert from 'node:assert/strict'

/** Bytes of one file chunk (a raw leaf): the `unixfs-v1-2025` profile's fixed chunk size. */
export const chunkBytes = 1_048_576
/** Links of one file node (balanced layout): the profile's `maxChildrenPerNode`. */
export const maxLinksPerNode = 1024
/** Largest block accepted anywhere: a full chunk, plus room for a chunk that another importer wrapped in a dag-pb leaf. */
export const maxBlockBytes = chunkBytes + 16 * 1024
/** Encoded size of a plain directory node; the reference importer shards (HAMT) above it, which Keynet does not write. */
export const maxDirectoryBlockBytes = 262_144
/** Entries of one directory: keeps a directory one small block that a gateway lists at once. */
export const maxDirectoryEntries = 10_000
/** Bytes (UTF-8) of one file or directory name, as in common file systems. */
export const maxNameBytes = 255
/** Segments of one path: deeper than any real site, shallow enough to resolve quickly. */
export const maxPathSegments = 64
/** Characters of one whole path. */
export const maxPathChars = 4096
/** Files of one `importTree` call: the in-memory tree of names and CIDs stays a few tens of MB. */
export const maxTreeFiles = 100_000
/** Depth of a file DAG read back: balanced 1024-ary reaches 1 PiB at depth 4, other layouts stay far below; stops a hostile DAG from recursing without end. */
export const maxDagDepth = 64
/** Blocks `walkDag` visits: 1 TiB of 1 MiB chunks; bounds its set of seen CIDs. */
export const maxWalkBlocks = 1_048_576
/** Leaves (or blocks) fetched ahead by default while reading or walking a DAG. */
export const defaultFetchConcurrency = 16
/** Most leaves (or blocks) fetched ahead at once: caps memory at this many blocks in flight. */
export const maxFetchConcurrency = 128
/** Characters of a CID string: a CIDv1 sha2-256 is 59 in base32; the rest is room for other bases. */
export const maxCidChars = 128
/** Bytes of a CAR header: a few roots fit many times over. */
export const maxCarHeaderBytes = 8192
/** Roots of one CAR. */
export const maxCarRoots = 64
/** Bytes of a whole CAR read by `readCar`, which holds every block in memory; bigger content goes through the streaming importer. */
export const maxCarBytes = 256 * 1024 * 1024

assert.ok(maxLinksPerNode >= 2, 'a file node must be able to join two children')
assert.ok(maxDirectoryBlockBytes < maxBlockBytes, 'a directory node must fit in a block')
assert.ok(maxLinksPerNode * 64 < maxBlockBytes, 'a full file node (~50 bytes a link) must fit in a block')
assert.ok(defaultFetchConcurrency <= maxFetchConcurrency)
assert.ok(maxCarHeaderBytes < maxBlockBytes && maxBlockBytes < maxCarBytes)
