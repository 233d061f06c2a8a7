/**
 * Which representation a client wants: the content itself (a file, or a folder's index page),
 * the DAG below the path as a CAR v1 stream, or the single raw block. `?format=` wins over the
 * `Accept` header.
 */
import { MalformedMessageError } from '../../foundations/errors.ts'

/** The representation to send. */
export type ResponseFormat = 'content' | 'car' | 'raw'

/** Media type of a CAR v1 response. */
export const carContentType = 'application/vnd.ipld.car; version=1'
/** Media type of a raw block response. */
export const rawContentType = 'application/vnd.ipld.raw'

/** Picks the representation from `?format=` and then `Accept`; an unknown `format` is a 400. */
export function responseFormat (query: URLSearchParams, accept: string | undefined): ResponseFormat {
  const format = query.get('format')
  if (format !== null) {
    if (format === 'car' || format === 'raw') return format
    throw new MalformedMessageError(`format "${format.slice(0, 32)}" is not served; use format=car or format=raw, or leave it out for the content itself`)
  }
  if (accept === undefined) return 'content'
  for (const item of accept.split(',')) {
    const type = (item.split(';')[0] ?? '').trim().toLowerCase()
    if (type === 'application/vnd.ipld.car') return 'car'
    if (type === 'application/vnd.ipld.raw') return 'raw'
  }
  return 'content'
}
