/**
 * The bindings a service node holds, persisted as one JSON file in its data directory (rewritten
 * whole, atomically, after each change) and bounded: `maxBindings` in all, `maxBindingsPerName`
 * per name. It also remembers recent unbinds for the accepted clock skew, so a bind signed
 * before an unbind cannot be replayed after it.
 *
 * File format (`service-bindings.json`):
 * `{ "version": 1, "bindings": [{ name, pathPrefix, backend, owner (hex), time }], "unbinds": [{ name, pathPrefix, time }] }`
 */
import { mkdir, readFile } from 'node:fs/promises'
import { replaceFileDurably } from '../store/atomic-file.ts'
import { dirname } from 'node:path'
import { fromHex, toHex } from '../../foundations/bytes.ts'
import type { Clock } from '../../foundations/clock.ts'
import { MalformedMessageError } from '../../foundations/errors.ts'
import * as shape from '../../foundations/shape.ts'
import { canonicalName } from '../../core/names/grammar.ts'
import { checkBackendUrl, checkPathPrefix, type Binding } from './binding.ts'
import { maxBackendUrlChars, maxBindClockSkewMs, maxBindings, maxBindingsPerName, maxPathPrefixChars, maxRecentUnbinds } from './constants.ts'
import { ServiceBusyError, TooManyBindingsError } from './errors.ts'

/** The name of the bindings file inside a node's data directory. */
export const bindingsFileName = 'service-bindings.json'

const fileVersion = 1

/** The persisted, bounded set of bindings of one node. */
export class BindingTable {
  readonly #file: string
  readonly #clock: Clock
  /** name → pathPrefix → binding. */
  readonly #byName = new Map<string, Map<string, Binding>>()
  /** `name pathPrefix` → time of its last unbind, kept for the clock skew. */
  readonly #unbinds = new Map<string, number>()
  #size = 0
  #writing: Promise<void> = Promise.resolve()

  private constructor (file: string, clock: Clock) {
    this.#file = file
    this.#clock = clock
  }

  /** Loads the table from `file` (an absent file is an empty table); a corrupt file throws `MalformedMessageError`. */
  static async open (file: string, clock: Clock): Promise<BindingTable> {
    const table = new BindingTable(file, clock)
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return table
      throw err
    }
    try {
      table.#load(JSON.parse(text))
    } catch (err) {
      throw new MalformedMessageError(`${file} is not a valid bindings file (${(err as Error).message}); fix or remove it`)
    }
    return table
  }

  /** Bindings held in all. */
  get size (): number {
    return this.#size
  }

  /** The bindings of a name. */
  forName (name: string): Binding[] {
    return [...this.#byName.get(name)?.values() ?? []]
  }

  /** Every binding. */
  all (): Binding[] {
    return [...this.#byName.values()].flatMap(m => [...m.values()])
  }

  /** The binding of a name's exact prefix. */
  get (name: string, pathPrefix: string): Binding | undefined {
    return this.#byName.get(name)?.get(pathPrefix)
  }

  /** Time of the last change (bind or unbind) of a name's prefix still remembered. */
  lastChangeAt (name: string, pathPrefix: string): number | undefined {
    this.#pruneUnbinds()
    return this.get(name, pathPrefix)?.time ?? this.#unbinds.get(key(name, pathPrefix))
  }

  /** Adds or replaces a binding and persists the table. Throws `TooManyBindingsError` past the limits. */
  async put (binding: Binding): Promise<void> {
    let forName = this.#byName.get(binding.name)
    const replacing = forName?.has(binding.pathPrefix) === true
    if (!replacing) {
      if ((forName?.size ?? 0) >= maxBindingsPerName) throw new TooManyBindingsError(`${binding.name} already has ${maxBindingsPerName} bindings on this node; unbind one first`)
      if (this.#size >= maxBindings) throw new TooManyBindingsError(`this node holds ${maxBindings} bindings, its limit; try another service node`)
    }
    if (forName === undefined) {
      forName = new Map()
      this.#byName.set(binding.name, forName)
    }
    forName.set(binding.pathPrefix, { ...binding, owner: new Uint8Array(binding.owner) })
    if (!replacing) this.#size++
    this.#unbinds.delete(key(binding.name, binding.pathPrefix))
    await this.#persist()
  }

  /**
   * Removes a binding (if held), remembers the unbind's time and persists the table. Returns
   * whether a binding was removed. Throws `ServiceBusyError` when too many unbinds are recent.
   */
  async remove (name: string, pathPrefix: string, time: number): Promise<boolean> {
    this.#pruneUnbinds()
    if (this.#unbinds.size >= maxRecentUnbinds && !this.#unbinds.has(key(name, pathPrefix))) {
      throw new ServiceBusyError(`more than ${maxRecentUnbinds} unbinds in the last ${maxBindClockSkewMs / 60_000} minutes; retry later`)
    }
    const forName = this.#byName.get(name)
    const removed = forName?.delete(pathPrefix) === true
    if (removed) {
      this.#size--
      if (forName?.size === 0) this.#byName.delete(name)
    }
    this.#unbinds.set(key(name, pathPrefix), time)
    await this.#persist()
    return removed
  }

  #pruneUnbinds (): void {
    // A change older than the skew is refused anyway; its tombstone has done its work.
    const cutoff = this.#clock.now() - maxBindClockSkewMs
    for (const [k, time] of this.#unbinds) if (time < cutoff) this.#unbinds.delete(k)
  }

  async #persist (): Promise<void> {
    const text = JSON.stringify({
      version: fileVersion,
      bindings: this.all().map(b => ({ name: b.name, pathPrefix: b.pathPrefix, backend: b.backend, owner: toHex(b.owner), time: b.time })),
      unbinds: [...this.#unbinds].map(([k, time]) => {
        const [name, pathPrefix] = k.split(' ')
        return { name, pathPrefix, time }
      })
    }, null, 1)
    // Writes go one after the other, each of the state when it was queued at the latest.
    const write = this.#writing.then(async () => {
      await mkdir(dirname(this.#file), { recursive: true })
      await replaceFileDurably(this.#file, text)
    })
    this.#writing = write.catch(() => {})
    await write
  }

  #load (json: unknown): void {
    const r = shape.record(json, 'bindings file')
    if (r.version !== fileVersion) throw new MalformedMessageError(`version must be ${fileVersion}`)
    for (const [i, v] of shape.list(r.bindings, 'bindings', maxBindings).entries()) {
      const b = shape.record(v, `bindings[${i}]`)
      const name = canonicalName(shape.str(b.name, `bindings[${i}].name`, 1024))
      const pathPrefix = checkPathPrefix(shape.str(b.pathPrefix, `bindings[${i}].pathPrefix`, maxPathPrefixChars))
      const backend = shape.str(b.backend, `bindings[${i}].backend`, maxBackendUrlChars)
      checkBackendUrl(backend)
      const owner = fromHex(shape.str(b.owner, `bindings[${i}].owner`, 40))
      if (owner.byteLength !== 20) throw new MalformedMessageError(`bindings[${i}].owner must be a 20-byte address`)
      const time = shape.uint(b.time, `bindings[${i}].time`)
      let forName = this.#byName.get(name)
      if (forName === undefined) {
        forName = new Map()
        this.#byName.set(name, forName)
      }
      if (!forName.has(pathPrefix)) this.#size++
      forName.set(pathPrefix, { name, pathPrefix, backend, owner, time })
    }
    for (const [i, v] of shape.list(r.unbinds ?? [], 'unbinds', maxRecentUnbinds).entries()) {
      const u = shape.record(v, `unbinds[${i}]`)
      const name = shape.str(u.name, `unbinds[${i}].name`, 1024)
      const pathPrefix = shape.str(u.pathPrefix, `unbinds[${i}].pathPrefix`, maxPathPrefixChars)
      this.#unbinds.set(key(name, pathPrefix), shape.uint(u.time, `unbinds[${i}].time`))
    }
    this.#pruneUnbinds()
  }
}

// Names and prefixes hold no spaces, so a space separates them unambiguously.
function key (name: string, pathPrefix: string): string {
  return `${name} ${pathPrefix}`
}
