import { errorWithStatus } from '../../foundations/errors.ts'

/** An import stopped at one of its limits; the message names the flag that raises it. */
export class ImportLimitError extends errorWithStatus(413) {}
