/** Operating errors of the metrics module. */
import { errorWithStatus } from '../../foundations/errors.ts'

/** A metrics page that is not in the Prometheus text format 0.0.4 (or is past the parser's bounds). */
export class MetricsFormatError extends errorWithStatus(400) {}
