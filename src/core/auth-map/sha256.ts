/**
 * SHA-256 (FIPS 180-4) in plain JavaScript, working in 32-bit words, for the many short inputs
 * of the state tree. Tests check it against `node:crypto`.
 *
 * Why not `node:crypto`: a 100k-key tree needs about 450k hashes of 64–65 bytes, and for such
 * inputs the native call costs more than the hash, and each result is one more buffer for the
 * garbage collector. Here a tree node's hash is computed from its children's words straight
 * into its own fields (hashing.ts), with no allocation at all.
 */

/** A SHA-256 digest as eight big-endian 32-bit words (held as int32). */
export type Words = readonly number[]

const K = Int32Array.of(
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
)
const initial = Int32Array.of(0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19)
const state = new Int32Array(8)
const w = new Int32Array(64)
const tail = new Uint8Array(128)

/** Extends the first 16 words of a message schedule to all 64. */
function expand (s: Int32Array): void {
  for (let i = 16; i < 64; i++) {
    const x = s[i - 15]!
    const y = s[i - 2]!
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10)
    s[i] = (s[i - 16]! + s0 + s[i - 7]! + s1) | 0
  }
}

/** The 64 rounds over the expanded schedule `s`, added into `state`. */
function rounds (s: Int32Array): void {
  let a = state[0]!; let b = state[1]!; let c = state[2]!; let d = state[3]!
  let e = state[4]!; let f = state[5]!; let g = state[6]!; let h = state[7]!
  for (let i = 0; i < 64; i++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))
    // Ch and Maj in their cheaper equivalent forms: g ^ (e & (f ^ g)), (a & b) | (c & (a | b)).
    const t1 = (h + s1 + (g ^ (e & (f ^ g))) + K[i]! + s[i]!) | 0
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))
    const t2 = (s0 + ((a & b) | (c & (a | b)))) | 0
    h = g; g = f; f = e; e = (d + t1) | 0
    d = c; c = b; b = a; a = (t1 + t2) | 0
  }
  state[0] = (state[0]! + a) | 0; state[1] = (state[1]! + b) | 0
  state[2] = (state[2]! + c) | 0; state[3] = (state[3]! + d) | 0
  state[4] = (state[4]! + e) | 0; state[5] = (state[5]! + f) | 0
  state[6] = (state[6]! + g) | 0; state[7] = (state[7]! + h) | 0
}

/** Mixes the 64-byte block at `block[offset]` into `state`. */
function compressBytes (block: Uint8Array, offset: number): void {
  for (let i = 0; i < 16; i++) {
    const j = offset + i * 4
    w[i] = (block[j]! << 24) | (block[j + 1]! << 16) | (block[j + 2]! << 8) | block[j + 3]!
  }
  expand(w)
  rounds(w)
}

function digest (): Words {
  return [state[0]!, state[1]!, state[2]!, state[3]!, state[4]!, state[5]!, state[6]!, state[7]!]
}

/** SHA-256 of `data`, as words. */
export function sha256Words (data: Uint8Array): Words {
  state.set(initial)
  const n = data.byteLength
  const whole = n - (n % 64)
  for (let off = 0; off < whole; off += 64) compressBytes(data, off)
  // The last partial block, the 0x80 marker and the 64-bit length in bits: one or two blocks.
  const rest = n - whole
  tail.fill(0)
  for (let i = 0; i < rest; i++) tail[i] = data[whole + i]!
  tail[rest] = 0x80
  const end = rest + 9 <= 64 ? 64 : 128
  const bits = n * 8
  const high = Math.floor(bits / 0x100000000)
  tail[end - 8] = high >>> 24; tail[end - 7] = high >>> 16; tail[end - 6] = high >>> 8; tail[end - 5] = high
  tail[end - 4] = bits >>> 24; tail[end - 3] = bits >>> 16; tail[end - 2] = bits >>> 8; tail[end - 1] = bits
  compressBytes(tail, 0)
  if (end === 128) compressBytes(tail, 64)
  return digest()
}

/**
 * The expanded schedule of the last block of a message `a ‖ b ‖ suffix` (`a`, `b` 32 bytes,
 * `suffix` at most 55): that block holds only the suffix and padding, so it can be worked out
 * once per suffix and reused by `hashPair`.
 */
export function suffixSchedule (suffix: readonly number[]): Int32Array {
  const block = new Uint8Array(64)
  block.set(suffix)
  block[suffix.length] = 0x80
  const bits = (64 + suffix.length) * 8
  block[62] = bits >>> 8
  block[63] = bits & 0xff
  const s = new Int32Array(64)
  for (let i = 0; i < 16; i++) s[i] = (block[i * 4]! << 24) | (block[i * 4 + 1]! << 16) | (block[i * 4 + 2]! << 8) | block[i * 4 + 3]!
  expand(s)
  return s
}

/**
 * Input of `hashPair`: fill words 0–7 with `a` and 8–15 with `b` (words 16–63 are scratch).
 * The tree copies its nodes' hashes straight in here, so hashing a node allocates nothing.
 */
export const pairInput = new Int32Array(64)

/**
 * SHA-256 of `a ‖ b ‖ suffix`, with `a ‖ b` in `pairInput` and the suffix given by its
 * `suffixSchedule`. Returns the digest words in a shared buffer, valid until the next hash.
 */
export function hashPair (suffix: Int32Array): Int32Array {
  state.set(initial)
  expand(pairInput)
  rounds(pairInput)
  rounds(suffix)
  return state
}

export function wordsToBytes (h: Words): Uint8Array {
  const out = new Uint8Array(32)
  for (let i = 0; i < 8; i++) {
    const v = h[i]!
    out[i * 4] = v >>> 24; out[i * 4 + 1] = v >>> 16; out[i * 4 + 2] = v >>> 8; out[i * 4 + 3] = v
  }
  return out
}

/** The words of a 32-byte hash. */
export function bytesToWords (b: Uint8Array): Words {
  const out: number[] = []
  for (let i = 0; i < 32; i += 4) out.push((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!)
  return out
}

export function equalWords (a: Words, b: Words): boolean {
  for (let i = 0; i < 8; i++) if (a[i] !== b[i]) return false
  return true
}
