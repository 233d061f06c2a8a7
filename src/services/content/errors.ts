/** Operating errors of content resolution, matched by `.name`. */
import { errorWithStatus } from '../../foundations/errors.ts'

/** The name is registered but points at no content. */
export class NoContentError extends errorWithStatus(404) {}
