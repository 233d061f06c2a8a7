/**
 * The highest version of each key this client has seen (read or written), so a write can be
 * versioned one past it without reading first. A stale guess costs nothing wrong: replicas refuse
 * a version not above what they hold and report theirs, and the write is sent again one past it.
 * Bounded; the least recently used keys are forgotten first.
 */

/** Keys whose latest version is remembered: a client's working set, ~100 bytes each. */
const maxRememberedKeys = 10_000

/** Latest known versions by name and key. */
export class KvVersions {
  readonly #versions = new Map<string, number>()
  readonly #max: number

  constructor (max = maxRememberedKeys) {
    this.#max = max
  }

  /** The highest version seen of `key` of `name`, or undefined. */
  get (name: string, key: string): number | undefined {
    const id = `${name}\n${key}`
    const v = this.#versions.get(id)
    if (v !== undefined) {
      this.#versions.delete(id)
      this.#versions.set(id, v)
    }
    return v
  }

  /** Records that `key` of `name` is at `version` or higher. */
  saw (name: string, key: string, version: number): void {
    const id = `${name}\n${key}`
    const known = this.#versions.get(id)
    this.#versions.delete(id)
    this.#versions.set(id, Math.max(version, known ?? 0))
    if (this.#versions.size > this.#max) this.#versions.delete(this.#versions.keys().next().value as string)
  }
}
