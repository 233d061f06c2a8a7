// SHA-256 (FIPS 180-4) over a byte array.

const K: StaticArray<u32> = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
];

const W = new StaticArray<u32>(64);
const H = new StaticArray<u32>(8);

@inline function rotr(x: u32, n: u32): u32 { return (x >>> n) | (x << (32 - n)); }

function compress(block: usize): void {
  for (let t = 0; t < 16; t++) unchecked(W[t] = bswap<u32>(load<u32>(block + (<usize>t << 2))));
  for (let t = 16; t < 64; t++) {
    const w15 = unchecked(W[t - 15]);
    const w2 = unchecked(W[t - 2]);
    const s0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >>> 3);
    const s1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >>> 10);
    unchecked(W[t] = unchecked(W[t - 16]) + s0 + unchecked(W[t - 7]) + s1);
  }
  let a = unchecked(H[0]), b = unchecked(H[1]), c = unchecked(H[2]), d = unchecked(H[3]);
  let e = unchecked(H[4]), f = unchecked(H[5]), g = unchecked(H[6]), h = unchecked(H[7]);
  for (let t = 0; t < 64; t++) {
    const t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + unchecked(K[t]) + unchecked(W[t]);
    const t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  unchecked(H[0] += a); unchecked(H[1] += b); unchecked(H[2] += c); unchecked(H[3] += d);
  unchecked(H[4] += e); unchecked(H[5] += f); unchecked(H[6] += g); unchecked(H[7] += h);
}

/** Streaming SHA-256: `reset`, `update` with any number of chunks, then `digest`. */
export class Sha256 {
  private readonly pending: Uint8Array = new Uint8Array(64);
  private pendingLength: i32 = 0;
  private total: u64 = 0;

  constructor() { this.reset(); }

  reset(): void {
    unchecked(H[0] = 0x6a09e667); unchecked(H[1] = 0xbb67ae85); unchecked(H[2] = 0x3c6ef372); unchecked(H[3] = 0xa54ff53a);
    unchecked(H[4] = 0x510e527f); unchecked(H[5] = 0x9b05688c); unchecked(H[6] = 0x1f83d9ab); unchecked(H[7] = 0x5be0cd19);
    this.pendingLength = 0;
    this.total = 0;
  }

  /** Hashes `length` bytes at `ptr`. */
  update(ptr: usize, length: i32): void {
    this.total += <u64>length;
    let at = 0;
    if (this.pendingLength > 0) {
      const take = min(64 - this.pendingLength, length);
      memory.copy(this.pending.dataStart + <usize>this.pendingLength, ptr, <usize>take);
      this.pendingLength += take;
      at = take;
      if (this.pendingLength < 64) return;
      compress(this.pending.dataStart);
      this.pendingLength = 0;
    }
    while (length - at >= 64) {
      compress(ptr + <usize>at);
      at += 64;
    }
    if (at < length) {
      memory.copy(this.pending.dataStart, ptr + <usize>at, <usize>(length - at));
      this.pendingLength = length - at;
    }
  }

  digest(): Uint8Array {
    const tail = new Uint8Array(128);
    const rest = this.pendingLength;
    memory.copy(tail.dataStart, this.pending.dataStart, <usize>rest);
    tail[rest] = 0x80;
    const tailLength = rest < 56 ? 64 : 128;
    store<u64>(tail.dataStart + <usize>tailLength - 8, bswap<u64>(this.total << 3));
    compress(tail.dataStart);
    if (tailLength == 128) compress(tail.dataStart + 64);
    const out = new Uint8Array(32);
    for (let i = 0; i < 8; i++) store<u32>(out.dataStart + (<usize>i << 2), bswap<u32>(unchecked(H[i])));
    return out;
  }
}

/** The SHA-256 digest of `data`. */
export function sha256(data: Uint8Array): Uint8Array {
  const hasher = new Sha256();
  hasher.update(data.dataStart, data.length);
  return hasher.digest();
}
