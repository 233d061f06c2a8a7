/**
 * Checks a task module and instruments it for metering, before anything runs:
 *
 * - it must be a WebAssembly module of the features the sandbox runs (MVP, sign extension,
 *   saturating float-to-int, bulk memory, multi-value, reference types, SIMD, tail calls);
 * - it may import only `wasi_snapshot_preview1` functions: an imported memory, table or global,
 *   or a function of any other module, is refused (`UnsupportedImportError`);
 * - it must define one 32-bit, unshared memory exported as `memory`, and export `_start`;
 * - its memory may not start above, or declare a maximum above, the task's memory cap
 *   (`MemoryLimitError`); a memory with no maximum gets the cap as its maximum, so `memory.grow`
 *   past the cap fails inside the task (returns -1) as it would on any full machine;
 * - fuel: a mutable i64 global is added and exported as `keynet_fuel`, and at the start of every
 *   function body and every loop body the instrumenter inserts code that subtracts the number of
 *   instructions of that body (up to its nested loops) and traps with `unreachable` once the
 *   fuel is below zero. An endless loop therefore stops after a bounded number of instructions,
 *   at the same instruction on every machine, and the host tells that trap from others by the
 *   global's value.
 *
 * Pure: bytes in, bytes out.
 */
import { maxBlockDepth, maxModuleBytes, maxModuleFunctions, wasmPageBytes } from './constants.ts'
import { InvalidModuleError, MemoryLimitError, UnsupportedImportError } from './errors.ts'
import { wasiModuleName, wasiPreview1Functions } from './wasi-imports.ts'
import { encodeName, encodeSigned, encodeU32, readSections, sectionId, sectionOrder, wasmHeader, WasmReader, type Limits, type Section } from './wasm-reader.ts'

/** Name of the exported fuel global: the host sets nothing, it only reads what is left. */
export const fuelExportName = 'keynet_fuel'

/** What the checks learned about a module. */
export interface ModuleFacts {
  /** The `wasi_snapshot_preview1` functions it imports. */
  wasiImports: string[]
  /** Memory pages it starts with, and the maximum it runs under (its own, or the cap). */
  memoryMinPages: number
  memoryMaxPages: number
  /** Functions defined in the module (imports not counted). */
  functionCount: number
}

/** A module ready for the sandbox: the instrumented bytes and the facts about it. */
export interface PreparedModule { bytes: Uint8Array, facts: ModuleFacts }

/** Options of `prepareModule`. */
export interface PrepareOptions {
  /** The task's memory cap in bytes. */
  memoryBytes: number
  /** Fuel the task starts with (the instrumented module holds it as the global's initial value). */
  fuel: number
}

/** Checks `bytes` against the sandbox's rules and returns the instrumented module. */
export function prepareModule (bytes: Uint8Array, opts: PrepareOptions): PreparedModule {
  if (bytes.byteLength > maxModuleBytes) throw new InvalidModuleError(`the module is ${bytes.byteLength} bytes, over the ${maxModuleBytes}-byte limit`)
  if (!Number.isSafeInteger(opts.fuel) || opts.fuel < 0) throw new InvalidModuleError('fuel must be a non-negative integer')
  const capPages = Math.floor(opts.memoryBytes / wasmPageBytes)
  const sections = readSections(bytes)
  const find = (id: number): Section | undefined => sections.find(s => s.id === id)

  // Imports: only WASI functions. Count imported functions and globals for index spaces.
  const wasiImports: string[] = []
  const importSection = find(sectionId.import)
  if (importSection !== undefined) {
    const r = new WasmReader(bytes, importSection.start, importSection.end)
    for (let n = r.u32(); n > 0; n--) {
      const module = r.name()
      const field = r.name()
      const kind = r.byte()
      const what = `"${module}" "${field}"`
      if (kind === 0x02) throw new UnsupportedImportError(`the module imports its memory (${what}); a task must define its own memory`)
      if (kind !== 0x00) throw new UnsupportedImportError(`the module imports a ${['function', 'table', 'memory', 'global', 'tag'][kind] ?? 'thing'} (${what}); a task may import only ${wasiModuleName} functions`)
      r.u32()
      if (module !== wasiModuleName) throw new UnsupportedImportError(`the module imports ${what}; a task may import only ${wasiModuleName} functions (is it built for WASI preview1?)`)
      if (!wasiPreview1Functions.has(field)) throw new UnsupportedImportError(`the module imports ${what}, which is not a WASI preview1 function`)
      wasiImports.push(field)
    }
    if (!r.done) throw new InvalidModuleError('the import section has trailing bytes')
  }

  // Memory: exactly one, 32-bit, unshared, within the cap.
  const memorySection = find(sectionId.memory)
  if (memorySection === undefined) throw new InvalidModuleError('the module defines no memory; WASI needs one exported as "memory"')
  const mr = new WasmReader(bytes, memorySection.start, memorySection.end)
  if (mr.u32() !== 1) throw new InvalidModuleError('the module must define exactly one memory')
  const memory: Limits = mr.limits()
  if (memory.is64) throw new InvalidModuleError('64-bit memories are not supported')
  if (memory.shared) throw new InvalidModuleError('shared memory (threads) is not supported')
  if (memory.min > capPages) throw new MemoryLimitError(`the module starts with ${memory.min * wasmPageBytes} bytes of memory, over the task's ${opts.memoryBytes}-byte cap`)
  if (memory.max !== undefined && memory.max > capPages) {
    throw new MemoryLimitError(`the module declares up to ${memory.max * wasmPageBytes} bytes of memory, over the task's ${opts.memoryBytes}-byte cap: raise --memory or lower the module's maximum`)
  }
  const memoryMaxPages = memory.max ?? capPages

  // Exports: `_start` and `memory` are needed; our fuel name must be free.
  const exportSection = find(sectionId.export)
  const exportNames = new Set<string>()
  let exportCount = 0
  if (exportSection !== undefined) {
    const r = new WasmReader(bytes, exportSection.start, exportSection.end)
    for (let n = exportCount = r.u32(); n > 0; n--) {
      exportNames.add(r.name())
      r.byte()
      r.u32()
    }
  }
  if (!exportNames.has('_start')) throw new InvalidModuleError('the module exports no "_start": a task is a WASI command module')
  if (!exportNames.has('memory')) throw new InvalidModuleError('the module does not export its memory as "memory", which WASI needs')
  if (exportNames.has(fuelExportName)) throw new InvalidModuleError(`the module already exports "${fuelExportName}"`)

  // Globals: the fuel global is appended after the module's own.
  const globalSection = find(sectionId.global)
  let definedGlobals = 0
  if (globalSection !== undefined) definedGlobals = new WasmReader(bytes, globalSection.start, globalSection.end).u32()
  const fuelGlobal = definedGlobals // imported globals are refused above, so the index space starts here

  const codeSection = find(sectionId.code)
  const functionCount = codeSection === undefined ? 0 : new WasmReader(bytes, codeSection.start, codeSection.end).u32()
  if (functionCount > maxModuleFunctions) throw new InvalidModuleError(`the module has ${functionCount} functions, over the limit of ${maxModuleFunctions}`)

  // Rebuild: every section as it was except memory, global, export and code.
  const out: Uint8Array[] = [wasmHeader]
  const emit = (id: number, content: Uint8Array | number[]): void => {
    const body = content instanceof Uint8Array ? content : Uint8Array.from(content)
    out.push(Uint8Array.from([id, ...encodeU32(body.byteLength)]), body)
  }
  const fuelGlobalEntry = [0x7e, 0x01, 0x42, ...encodeSigned(BigInt(opts.fuel)), 0x0b]
  const fuelExportEntry = [...encodeName(fuelExportName), 0x03, ...encodeU32(fuelGlobal)]
  let wroteGlobal = false
  let wroteExport = false
  const ensureBefore = (order: number): void => {
    if (!wroteGlobal && order > (sectionOrder[sectionId.global] as number)) {
      emit(sectionId.global, [...encodeU32(1), ...fuelGlobalEntry])
      wroteGlobal = true
    }
    if (!wroteExport && order > (sectionOrder[sectionId.export] as number)) {
      emit(sectionId.export, [...encodeU32(1), ...fuelExportEntry])
      wroteExport = true
    }
  }
  for (const section of sections) {
    const content = bytes.subarray(section.start, section.end)
    if (section.id === sectionId.custom) {
      emit(section.id, content)
      continue
    }
    ensureBefore(sectionOrder[section.id] as number)
    if (section.id === sectionId.memory) {
      emit(section.id, [1, 0x01, ...encodeU32(memory.min), ...encodeU32(memoryMaxPages)])
    } else if (section.id === sectionId.global) {
      const r = new WasmReader(bytes, section.start, section.end)
      r.u32()
      emit(section.id, [...encodeU32(definedGlobals + 1), ...bytes.subarray(r.offset, section.end), ...fuelGlobalEntry])
      wroteGlobal = true
    } else if (section.id === sectionId.export) {
      const r = new WasmReader(bytes, section.start, section.end)
      r.u32()
      emit(section.id, [...encodeU32(exportCount + 1), ...bytes.subarray(r.offset, section.end), ...fuelExportEntry])
      wroteExport = true
    } else if (section.id === sectionId.code) {
      emit(section.id, instrumentCode(bytes, section, fuelGlobal))
    } else {
      emit(section.id, content)
    }
  }
  ensureBefore(Number.MAX_SAFE_INTEGER)

  let total = 0
  for (const part of out) total += part.byteLength
  const result = new Uint8Array(total)
  let at = 0
  for (const part of out) { result.set(part, at); at += part.byteLength }
  return { bytes: result, facts: { wasiImports, memoryMinPages: memory.min, memoryMaxPages, functionCount } }
}

/** The code that charges `cost` fuel and traps once the fuel is below zero. */
function chargeCode (fuelGlobal: number, cost: number): number[] {
  const g = encodeU32(fuelGlobal)
  return [
    0x23, ...g, 0x42, ...encodeSigned(BigInt(cost)), 0x7d, 0x24, ...g, // fuel -= cost
    0x23, ...g, 0x42, 0x00, 0x53, // fuel < 0
    0x04, 0x40, 0x00, 0x0b // if unreachable end
  ]
}

/** Rewrites every function body of the code section with fuel charges. */
function instrumentCode (bytes: Uint8Array, section: Section, fuelGlobal: number): Uint8Array {
  const r = new WasmReader(bytes, section.start, section.end)
  const count = r.u32()
  const parts: number[][] = [encodeU32(count)]
  const bodies: Uint8Array[] = []
  for (let i = 0; i < count; i++) {
    const size = r.u32()
    const bodyEnd = r.offset + size
    if (bodyEnd > section.end) throw new InvalidModuleError(`function body ${i} runs past the code section`)
    bodies.push(instrumentBody(bytes, r.offset, bodyEnd, fuelGlobal, i))
    r.offset = bodyEnd
  }
  if (!r.done) throw new InvalidModuleError('the code section has trailing bytes')
  let total = parts[0]?.length ?? 0
  const sized = bodies.map(body => {
    const prefix = encodeU32(body.byteLength)
    total += prefix.length + body.byteLength
    return { prefix, body }
  })
  const out = new Uint8Array(total)
  out.set(parts[0] as number[], 0)
  let at = (parts[0] as number[]).length
  for (const { prefix, body } of sized) {
    out.set(prefix, at); at += prefix.length
    out.set(body, at); at += body.byteLength
  }
  return out
}

/**
 * One function body: locals are copied, then a charge is inserted at the body's start and right
 * after each `loop`'s block type. Each charge's cost is the number of instructions of its body
 * outside nested loops, known only when the body's `end` is reached, so the body is kept as a
 * list of byte ranges with charge slots between them.
 */
function instrumentBody (bytes: Uint8Array, start: number, end: number, fuelGlobal: number, index: number): Uint8Array {
  const r = new WasmReader(bytes, start, end)
  for (let groups = r.u32(); groups > 0; groups--) {
    r.u32()
    readValueType(r)
  }
  const pieces: Array<{ from: number, to: number } | { slot: number }> = []
  const costs: number[] = [0]
  pieces.push({ from: start, to: r.offset }, { slot: 0 })
  let copyFrom = r.offset
  // Each open block: whether it is a loop, and the slot its instructions count toward.
  const blocks: Array<{ loop: boolean, slot: number }> = [{ loop: false, slot: 0 }]
  while (blocks.length > 0) {
    const current = blocks[blocks.length - 1] as { loop: boolean, slot: number }
    costs[current.slot] = (costs[current.slot] as number) + 1
    const opcode = r.byte()
    switch (opcode) {
      case 0x02: case 0x04: // block, if
        readBlockType(r)
        if (blocks.length >= maxBlockDepth) throw new InvalidModuleError(`function ${index} nests blocks deeper than ${maxBlockDepth}`)
        blocks.push({ loop: false, slot: current.slot })
        break
      case 0x03: { // loop: a new slot right after its block type
        readBlockType(r)
        if (blocks.length >= maxBlockDepth) throw new InvalidModuleError(`function ${index} nests blocks deeper than ${maxBlockDepth}`)
        const slot = costs.length
        costs.push(0)
        pieces.push({ from: copyFrom, to: r.offset }, { slot })
        copyFrom = r.offset
        blocks.push({ loop: true, slot })
        break
      }
      case 0x0b: // end
        blocks.pop()
        break
      default:
        skipImmediates(r, opcode, index)
    }
  }
  if (r.offset !== end) throw new InvalidModuleError(`function ${index} has bytes after its final end`)
  pieces.push({ from: copyFrom, to: end })

  const charges = costs.map(cost => chargeCode(fuelGlobal, cost))
  let total = 0
  for (const piece of pieces) total += 'slot' in piece ? (charges[piece.slot] as number[]).length : piece.to - piece.from
  const out = new Uint8Array(total)
  let at = 0
  for (const piece of pieces) {
    if ('slot' in piece) {
      const code = charges[piece.slot] as number[]
      out.set(code, at)
      at += code.length
    } else {
      out.set(bytes.subarray(piece.from, piece.to), at)
      at += piece.to - piece.from
    }
  }
  return out
}

const valueTypes = new Set([0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f])

function readValueType (r: WasmReader): void {
  const t = r.byte()
  if (!valueTypes.has(t)) throw new InvalidModuleError(`unsupported value type 0x${t.toString(16)} at byte ${r.offset - 1} (garbage collection types are not supported)`)
}

function readBlockType (r: WasmReader): void {
  const first = r.bytes[r.offset]
  if (first === 0x40 || (first !== undefined && valueTypes.has(first))) {
    r.offset++
    return
  }
  const index = r.signed(33)
  if (index < 0n) throw new InvalidModuleError(`unsupported block type at byte ${r.offset}`)
}

function readMemArg (r: WasmReader): void {
  const align = r.u32()
  if ((align & 0x40) !== 0) r.u32() // memory index (multi-memory)
  r.u32()
}

/** Skips the immediates of every instruction but the structured ones; refuses unknown opcodes. */
function skipImmediates (r: WasmReader, opcode: number, index: number): void {
  if (opcode >= 0x45 && opcode <= 0xc4) return // numeric instructions and sign extension
  if (opcode >= 0x28 && opcode <= 0x3e) return readMemArg(r)
  switch (opcode) {
    case 0x00: case 0x01: case 0x05: case 0x0f: case 0x1a: case 0x1b: case 0xd1:
      return
    case 0x0c: case 0x0d: case 0x10: case 0x12: case 0x20: case 0x21: case 0x22: case 0x23: case 0x24:
    case 0x25: case 0x26: case 0x3f: case 0x40: case 0xd2:
      r.u32()
      return
    case 0x11: case 0x13: // call_indirect, return_call_indirect: type, table
      r.u32(); r.u32()
      return
    case 0x0e: // br_table
      for (let n = r.u32(); n > 0; n--) r.u32()
      r.u32()
      return
    case 0x1c: // select with types
      for (let n = r.u32(); n > 0; n--) readValueType(r)
      return
    case 0x41: r.skipSigned(32); return
    case 0x42: r.skipSigned(64); return
    case 0x43: r.skip(4); return
    case 0x44: r.skip(8); return
    case 0xd0: readValueType(r); return // ref.null heap type (func 0x70 / extern 0x6f)
    case 0xfc: return skipPrefixedFc(r)
    case 0xfd: return skipSimd(r)
  }
  if (opcode === 0xfe) throw new InvalidModuleError(`function ${index} uses atomics (threads), which the sandbox does not run`)
  if (opcode >= 0x06 && opcode <= 0x0a) throw new InvalidModuleError(`function ${index} uses exception handling, which the sandbox does not run`)
  throw new InvalidModuleError(`function ${index} has unknown opcode 0x${opcode.toString(16)} at byte ${r.offset - 1}`)
}

function skipPrefixedFc (r: WasmReader): void {
  const sub = r.u32()
  if (sub <= 7) return // saturating float-to-int
  switch (sub) {
    case 8: case 10: case 12: case 14: r.u32(); r.u32(); return // memory.init, memory.copy, table.init, table.copy
    case 9: case 11: case 13: case 15: case 16: case 17: r.u32(); return
  }
  throw new InvalidModuleError(`unknown instruction 0xfc ${sub} at byte ${r.offset}`)
}

function skipSimd (r: WasmReader): void {
  const sub = r.u32()
  if (sub <= 11 || sub === 92 || sub === 93) return readMemArg(r) // loads and stores
  if (sub >= 84 && sub <= 91) { readMemArg(r); r.skip(1); return } // lane loads and stores
  if (sub === 12 || sub === 13) { r.skip(16); return } // v128.const, i8x16.shuffle
  if (sub >= 21 && sub <= 34) { r.skip(1); return } // extract and replace lane
  if (sub <= 255) return
  throw new InvalidModuleError(`SIMD instruction ${sub} at byte ${r.offset} is not supported (relaxed SIMD is not deterministic)`)
}
