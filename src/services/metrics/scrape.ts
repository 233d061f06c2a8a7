/**
 * Reads a node's metrics page over HTTP, bounded in time (`scrapeTimeoutMs`) and size
 * (`maxExpositionBytes`), with errors that say what to check.
 *
 * @example
 * ```ts
 * const families = parseExposition(await fetchMetrics('http://127.0.0.1:7700'))
 * ```
 */
import { NotFoundError, TimeoutError, UnavailableError } from '../../foundations/errors.ts'
import { maxExpositionBytes, scrapeTimeoutMs } from './constants.ts'
import { MetricsFormatError } from './errors.ts'

/** The text of `GET <api>/metrics`; throws `UnavailableError`, `TimeoutError`, `NotFoundError` or `MetricsFormatError`. */
export async function fetchMetrics (api: string, signal?: AbortSignal): Promise<string> {
  const url = `${api.replace(/\/+$/, '')}/metrics`
  const timeout = AbortSignal.timeout(scrapeTimeoutMs)
  const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout])
  try {
    const res = await fetch(url, { signal: combined })
    if (res.status === 404) throw new NotFoundError(`${url} answered 404: that node has no metrics page (an older version?); upgrade it or pass --api with another node`)
    if (!res.ok) throw new UnavailableError(`${url} answered HTTP ${res.status}; check the node's log`)
    return await readBounded(res, url)
  } catch (err) {
    if (signal?.aborted === true) throw err
    if (timeout.aborted) throw new TimeoutError(`${url} did not answer within ${scrapeTimeoutMs} ms; is the node overloaded?`)
    if (err instanceof TypeError) throw new UnavailableError(`cannot reach ${url} (${causeOf(err)}); is the node running? Pass --api URL or set KEYNET_API`)
    throw err
  }
}

async function readBounded (res: Response, url: string): Promise<string> {
  const tooBig = (): MetricsFormatError => new MetricsFormatError(`${url} sent more than ${maxExpositionBytes} bytes; that is not a Keynet metrics page`)
  if (Number(res.headers.get('content-length') ?? 0) > maxExpositionBytes) throw tooBig()
  if (res.body === null) return ''
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of res.body) {
    size += chunk.byteLength
    if (size > maxExpositionBytes) throw tooBig() // leaving the loop cancels the body
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function causeOf (err: TypeError): string {
  const cause = (err as { cause?: { code?: string, message?: string } }).cause
  return cause?.code ?? cause?.message ?? err.message
}
