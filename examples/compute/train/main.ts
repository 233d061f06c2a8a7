// Training task: multinomial logistic regression by full-batch gradient descent on a CSV read
// from stdin (numeric feature columns, the class label last; lines starting with "#" set
// options: "#steps 2000", "#learning-rate 0.1", "#checkpoint-every 100"). Every few steps it
// writes its step and weights to /state/checkpoint — or, when the runner sets
// KEYNET_CHECKPOINT_EVERY_MS (`keynet compute run --checkpoint-every`), whenever that much time
// has passed on the task's clock; started with a checkpoint there, it goes on from it (and says
// so on stderr). Everything is deterministic (IEEE doubles, no randomness, a fixed order of
// operations), so an interrupted and resumed run ends with the same model as an uninterrupted
// one. It prints the steps, the loss, the training accuracy and the SHA-256 of the weights.
import { readAll, print, toHex, readStateFile, writeStateFile, exit, getEnv, nowMs } from "../lib/wasi";
import { sha256 } from "../hash/sha256";
export { wasiAbort } from "../lib/wasi";

const checkpointMagic: u32 = 0x4b4e5452; // "KNTR"

let steps = 1000;
let learningRate = 0.1;
let checkpointEvery = 50;

// --- parse the CSV ---------------------------------------------------------------------------
const text = String.UTF8.decode(readAll(0).buffer);
const lines = text.split("\n");
const rows = new Array<Float64Array>();
const labels = new Array<i32>();
const classNames = new Array<string>();
let featureCount = -1;
for (let i = 0; i < lines.length; i++) {
  const line = lines[i].trim();
  if (line.length == 0) continue;
  if (line.startsWith("#")) {
    const parts = line.substring(1).split(" ");
    if (parts.length != 2) continue;
    if (parts[0] == "steps") steps = I32.parseInt(parts[1]);
    else if (parts[0] == "learning-rate") learningRate = F64.parseFloat(parts[1]);
    else if (parts[0] == "checkpoint-every") checkpointEvery = I32.parseInt(parts[1]);
    continue;
  }
  const fields = line.split(",");
  if (fields.length < 2) continue;
  const n = fields.length - 1;
  const value = F64.parseFloat(fields[0]);
  if (isNaN(value)) continue; // a header line
  if (featureCount < 0) featureCount = n;
  if (n != featureCount) {
    print(2, "line " + (i + 1).toString() + " has " + n.toString() + " features, not " + featureCount.toString() + "\n");
    exit(2);
  }
  const row = new Float64Array(n);
  for (let j = 0; j < n; j++) row[j] = F64.parseFloat(fields[j]);
  const name = fields[n].trim();
  let label = classNames.indexOf(name);
  if (label < 0) { label = classNames.length; classNames.push(name); }
  rows.push(row);
  labels.push(label);
}
if (rows.length == 0 || classNames.length < 2) {
  print(2, "the input needs rows of numbers with a class label last, and at least two classes\n");
  exit(2);
}
const m = rows.length;
const d = featureCount;
const k = classNames.length;

// Standardise each feature (mean 0, standard deviation 1) so one learning rate suits all.
for (let j = 0; j < d; j++) {
  let mean = 0.0;
  for (let i = 0; i < m; i++) mean += rows[i][j];
  mean /= <f64>m;
  let variance = 0.0;
  for (let i = 0; i < m; i++) { const x = rows[i][j] - mean; variance += x * x; }
  const sd = Math.sqrt(variance / <f64>m);
  for (let i = 0; i < m; i++) rows[i][j] = sd > 0 ? (rows[i][j] - mean) / sd : 0.0;
}

// --- model: weights[c * (d + 1) + j], the bias last in each class's row ----------------------
const width = d + 1;
const weights = new Float64Array(k * width);
const gradient = new Float64Array(k * width);
const scores = new Float64Array(k);
let step = 0;

function restore(saved: Uint8Array): void {
  const view = new DataView(saved.buffer, saved.byteOffset, saved.byteLength);
  if (saved.length != 12 + weights.length * 8 || view.getUint32(0, true) != checkpointMagic || view.getUint32(8, true) != <u32>weights.length) {
    print(2, "the checkpoint does not belong to this task\n");
    exit(3);
  }
  step = view.getInt32(4, true);
  for (let i = 0; i < weights.length; i++) weights[i] = view.getFloat64(12 + i * 8, true);
}
const saved = readStateFile("checkpoint");
if (saved !== null) {
  restore(changetype<Uint8Array>(saved));
  print(2, "resumed at step " + step.toString() + "\n");
}

// A time interval from the runner replaces the step interval of the input.
let checkpointEveryMs = 0.0;
const everyMsText = getEnv("KEYNET_CHECKPOINT_EVERY_MS");
if (everyMsText !== null) {
  checkpointEveryMs = F64.parseFloat(changetype<string>(everyMsText));
  if (isNaN(checkpointEveryMs) || checkpointEveryMs < 0) checkpointEveryMs = 0;
  checkpointEvery = 0;
}
let lastCheckpointMs = nowMs();

function saveCheckpoint(): void {
  const bytes = new Uint8Array(12 + weights.length * 8);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, checkpointMagic, true);
  view.setInt32(4, step, true);
  view.setUint32(8, weights.length, true);
  for (let i = 0; i < weights.length; i++) view.setFloat64(12 + i * 8, weights[i], true);
  writeStateFile("checkpoint", bytes);
}

/** Softmax probabilities of row `i` into `scores`; returns the index of the largest. */
function predict(i: i32): i32 {
  const row = rows[i];
  let best = 0;
  let top = -Infinity;
  for (let c = 0; c < k; c++) {
    let z = weights[c * width + d];
    for (let j = 0; j < d; j++) z += weights[c * width + j] * row[j];
    scores[c] = z;
    if (z > top) { top = z; best = c; }
  }
  let sum = 0.0;
  for (let c = 0; c < k; c++) { const e = Math.exp(scores[c] - top); scores[c] = e; sum += e; }
  for (let c = 0; c < k; c++) scores[c] /= sum;
  return best;
}

while (step < steps) {
  gradient.fill(0.0);
  for (let i = 0; i < m; i++) {
    predict(i);
    const row = rows[i];
    for (let c = 0; c < k; c++) {
      const error = scores[c] - (labels[i] == c ? 1.0 : 0.0);
      for (let j = 0; j < d; j++) gradient[c * width + j] += error * row[j];
      gradient[c * width + d] += error;
    }
  }
  for (let w = 0; w < weights.length; w++) weights[w] -= learningRate * gradient[w] / <f64>m;
  step++;
  if (checkpointEvery > 0 && step % checkpointEvery == 0 && step < steps) saveCheckpoint();
  if (checkpointEveryMs > 0 && step < steps) {
    const now = nowMs();
    if (now - lastCheckpointMs >= checkpointEveryMs) { saveCheckpoint(); lastCheckpointMs = now; }
  }
}

let loss = 0.0;
let correct = 0;
for (let i = 0; i < m; i++) {
  if (predict(i) == labels[i]) correct++;
  loss -= Math.log(Math.max(scores[labels[i]], 1e-300));
}
const weightBytes = new Uint8Array(weights.length * 8);
const out = new DataView(weightBytes.buffer);
for (let i = 0; i < weights.length; i++) out.setFloat64(i * 8, weights[i], true);
print(1, "steps " + step.toString() + "\n");
print(1, "classes " + classNames.join(",") + "\n");
print(1, "loss " + (loss / <f64>m).toString() + "\n");
print(1, "accuracy " + (<f64>correct / <f64>m).toString() + "\n");
print(1, "model " + toHex(sha256(weightBytes)) + "\n");
