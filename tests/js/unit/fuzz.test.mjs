// Fuzzing the stored loader.js's inflate() and decodePng(), which users call on bytes of their
// own, against node:zlib (tests/js/unit/fuzzing.mjs): valid streams of random data, sizes and
// deflate options must inflate to node:zlib's bytes; mutated ones and noise to node:zlib's bytes
// or an Error from bad(), never bytes where node:zlib refuses the stream (the Adler-32 is
// checked) and never a hang; a mutated PNG to the pixels node:zlib and the spec's unfiltering
// give, or an Error naming the file.
//
// Seeded and bounded in time: FUZZ_SEED (default: a random one, printed), FUZZ_MS for each of
// the four kinds (default 800; FUZZ_SECONDS, as `make fuzz` sets it, splits its time among
// them). A failure names its seed, case and input; FUZZ_SEED=<seed> runs the same cases again.
import assert from "node:assert/strict";
import {randomInt} from "node:crypto";
import {test} from "node:test";
import {Worker} from "node:worker_threads";

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : randomInt(2 ** 31);
const KINDS = ["valid", "mutated", "noise", "png"];
const MS = process.env.FUZZ_MS ? Number(process.env.FUZZ_MS) :
  process.env.FUZZ_SECONDS ? 1000 * Number(process.env.FUZZ_SECONDS) / KINDS.length : 800;
const HANG_MS = 30_000;  // past its time by this much, a Worker is stuck in one case: a hang

function fuzz(kind, seed) {
  const progress = new SharedArrayBuffer(4);
  const worker = new Worker(new URL("./fuzzing.mjs", import.meta.url),
                            {workerData: {kind, seed, ms: MS, progress}});
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      const n = Atomics.load(new Int32Array(progress), 0);
      worker.terminate();
      resolve({failure: `case ${n} did not end within ${HANG_MS / 1000} s: a hang`});
    }, MS + HANG_MS);
    worker.on("message", (m) => (clearTimeout(timer), worker.terminate(), resolve(m)));
    worker.on("error", (e) => (clearTimeout(timer), resolve({failure: `the Worker threw: ${e.stack}`})));
  });
}

KINDS.forEach((kind, k) => {
  test(`fuzz ${kind} against node:zlib (FUZZ_SEED=${SEED})`, async (t) => {
    const seed = (SEED + k * 0x9e3779b9) >>> 0;  // each kind its own cases from the one seed
    const result = await fuzz(kind, seed);
    t.diagnostic(`FUZZ_SEED=${SEED}: ${result.cases ?? 0} ${kind} cases`);
    assert.ok(!result.failure, `FUZZ_SEED=${SEED} (${kind}): ${result.failure}\n` +
      `again: FUZZ_SEED=${SEED} node --test tests/js/unit/fuzz.test.mjs`);
  });
});
