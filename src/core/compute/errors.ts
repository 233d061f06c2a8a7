/** Operating errors of compute tasks, each with a stable `name` the API and CLI pass through. */
import { errorWithStatus } from '../../foundations/errors.ts'

/** The bytes are not a WebAssembly module, or use a feature the sandbox does not run. */
export class InvalidModuleError extends errorWithStatus(400) {}
/** The module imports something the sandbox does not offer (only `wasi_snapshot_preview1` functions). */
export class UnsupportedImportError extends errorWithStatus(400) {}
/** The module declares or imports more memory than the task may use. */
export class MemoryLimitError extends errorWithStatus(413) {}
/** A task spec is malformed or asks for more than the limits allow. */
export class InvalidTaskError extends errorWithStatus(400) {}
