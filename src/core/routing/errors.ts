/**
 * Operating errors of provider selection, one class per condition, matched by `.name`. A
 * malformed provider entry (empty or over-long id) is the foundation's `MalformedMessageError`.
 */
import { errorWithStatus } from '../../foundations/errors.ts'

/** A pool was given more providers than `maxProvidersPerPool`. */
export class TooManyProvidersError extends errorWithStatus(413) {}
