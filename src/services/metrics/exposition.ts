/**
 * The Prometheus text exposition format, version 0.0.4: what `GET /metrics` answers. Each
 * family is a `# HELP` line, a `# TYPE` line and its samples, one per line:
 *
 * ```text
 * # HELP keynet_gateway_requests_total Gateway responses by HTTP status.
 * # TYPE keynet_gateway_requests_total counter
 * keynet_gateway_requests_total{status="200"} 1027
 * ```
 *
 * Label values escape `\`, `"` and newline; help text escapes `\` and newline.
 */
import { formatNumber, type MetricFamily } from './family.ts'

/** The Content-Type of a metrics page in this format. */
export const expositionContentType = 'text/plain; version=0.0.4; charset=utf-8'

/** Renders families as a metrics page (ends with a newline; empty for no families). */
export function renderExposition (families: readonly MetricFamily[]): string {
  const lines: string[] = []
  for (const family of families) {
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`)
    lines.push(`# TYPE ${family.name} ${family.type}`)
    for (const sample of family.samples) {
      const labels = Object.entries(sample.labels).map(([name, value]) => `${name}="${escapeLabelValue(value)}"`)
      lines.push(`${sample.name}${labels.length === 0 ? '' : `{${labels.join(',')}}`} ${formatNumber(sample.value)}`)
    }
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`
}

/** A label value as it goes between the quotes. */
export function escapeLabelValue (value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

function escapeHelp (help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}
