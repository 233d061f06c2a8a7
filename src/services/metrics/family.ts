/**
 * Metric families as plain data: what a registry produces at scrape time, what the text format
 * renders, and what the parser gives back, so `parseExposition(renderExposition(f))` equals `f`.
 */

/** A family's type as the text format declares it (pages from other software may hold any). */
export type FamilyType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'

/** One line of a metrics page: a sample name, its labels in order, and its value. */
export interface Sample {
  /** The family name, or for a histogram the family name plus `_bucket`, `_sum` or `_count`. */
  name: string
  labels: Record<string, string>
  value: number
}

/** All samples of one metric, with its help text and type. */
export interface MetricFamily {
  name: string
  help: string
  type: FamilyType
  samples: Sample[]
}

/** A number as the text format writes it: `+Inf`, `-Inf`, `NaN`, else the shortest exact decimal. */
export function formatNumber (value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Infinity) return '+Inf'
  if (value === -Infinity) return '-Inf'
  return String(value)
}
