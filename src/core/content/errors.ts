/**
 * Operating errors of content addressing. Bad input strings and paths use the foundation's
 * `MalformedMessageError`, missing names its `NotFoundError`; these are the content-specific ones.
 */
import { errorWithStatus } from '../../foundations/errors.ts'

/** A block's bytes do not hash to its CID: the sender is faulty or lying. */
export class BlockMismatchError extends errorWithStatus(422) {}

/** A block is not a valid dag-pb / UnixFS node, or its sizes contradict its children. */
export class InvalidDagError extends errorWithStatus(422) {}

/** The DAG uses something Keynet does not read: another hash or codec, HAMT-sharded directories, symlinks. */
export class UnsupportedDagError extends errorWithStatus(422) {}

/** A DAG is deeper or has more blocks than Keynet walks. */
export class DagTooLargeError extends errorWithStatus(413) {}

/** A directory has more entries, or a bigger node, than a plain (unsharded) directory may. */
export class DirectoryTooLargeError extends errorWithStatus(413) {}

/** Two imported paths collide: the same file twice, or a file and a directory of one name. */
export class PathConflictError extends errorWithStatus(409) {}

/** Bytes that are not a CAR v1 file, or are one cut short. */
export class InvalidCarError extends errorWithStatus(400) {}
