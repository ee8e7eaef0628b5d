// The stored mnist_sprite/loader.js, imported as it is, on data made here: toFloat32's
// rounding proved exact for every byte; nextBatch's seeded walk on rows it can tell apart; and
// load() and batches() on a bundle laid out as pack lays one out (pngs.mjs), of the stored
// module's own numbers (28x28 gray, 10 classes), with each broken file an Error naming it.
import assert from "node:assert/strict";
import {mkdtempSync, rmSync, unlinkSync, writeFileSync, readFileSync} from "node:fs";
import {tmpdir} from "node:os";
import {join} from "node:path";
import {after, test} from "node:test";
import {pathToFileURL} from "node:url";
import * as loader from "../../../mnist_sprite/loader.js";
import {random, rejection, same, writeBundle} from "./pngs.mjs";

const {CHANNELS, IMAGE_H, IMAGE_SIZE, IMAGE_W, NUM_CLASSES, batches, load, nextBatch,
       toFloat32} = loader;
const DIR = mkdtempSync(join(tmpdir(), "loader-unit-"));
after(() => rmSync(DIR, {recursive: true, force: true}));

test("the stored module's numbers are those of --name data: 28x28 gray, 10 classes", () => {
  assert.deepEqual([IMAGE_H, IMAGE_W, CHANNELS, NUM_CLASSES, IMAGE_SIZE], [28, 28, 1, 10, 784]);
});

// The float32 values next to f, below and above.
function neighbours(f) {
  const bits = new Uint32Array(new Float32Array([f]).buffer)[0];
  const at = (b) => new Float32Array(new Uint32Array([b]).buffer)[0];
  return f === 0 ? [-at(1), at(1)] : [at(bits - 1), at(bits + 1)];
}

test("toFloat32 of every byte k is float32(k / 255), correctly rounded (as numpy divides)", () => {
  const k = Uint8Array.from({length: 256}, (_, i) => i), got = toFloat32(k);
  assert.ok(got instanceof Float32Array && got.length === 256);
  for (let i = 0; i < 256; i++) {
    // k / 255 lies strictly between the midpoints to f's neighbours: f is the nearest float32
    // (no tie: k / 255 is no dyadic fraction unless it is 0 or 1). The midpoints take 25 bits
    // and 255 times them 33: exact in doubles.
    const f = got[i], [below, above] = neighbours(f);
    assert.ok(255 * ((f + below) / 2) < i && i < 255 * ((f + above) / 2), `byte ${i}: ${f}`);
  }
  const out = new Float32Array(300);
  assert.equal(toFloat32(k, out.subarray(10)).buffer, out.buffer);
  assert.equal(out[10 + 255], 1);
});

// Data as load() gives it, with rows it can tell apart: row r's first byte is r.
function rowsData({train = 23, test = 9, height = 2, width = 3, channels = 1, classes = 4} = {}) {
  const n = train + test, values = height * width * channels;
  const images = new Uint8Array(n * values), labels = new Uint8Array(n * classes);
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < values; i++) images[r * values + i] = (r + 37 * i) & 255;
    labels[r * classes + (r % classes)] = 1;
  }
  return {images, labels, imageHeight: height, imageWidth: width, channels, classes,
          classNames: null, trainImages: train, testImages: test};
}

// Which rows of `data` a batch holds (their first value, and every value and label checked).
function rowsOf(batch, data) {
  const values = data.imageHeight * data.imageWidth * data.channels, c = data.classes, rows = [];
  for (let i = 0; i < batch.xsShape[0]; i++) {
    const r = Math.round(batch.xs[i * values] * 255);
    assert.ok(same(batch.xs.subarray(i * values, (i + 1) * values),
                   toFloat32(data.images.subarray(r * values, (r + 1) * values))), `row ${r}`);
    assert.ok(same(batch.labels.subarray(i * c, (i + 1) * c), data.labels.subarray(r * c, (r + 1) * c)));
    rows.push(r);
  }
  return rows;
}

const range = (first, n) => Array.from({length: n}, (_, i) => first + i);
const sorted = (a) => [...a].sort((x, y) => x - y);

test("nextBatch walks each part in a seeded shuffle, every row once an epoch, then again", () => {
  const data = rowsData();
  const first = nextBatch(data, "train", 23);
  assert.ok(first.xs instanceof Float32Array && first.labels instanceof Uint8Array);
  assert.deepEqual([first.xsShape, first.labelsShape], [[23, 6], [23, 4]]);
  const order = rowsOf(first, data);
  assert.deepEqual(sorted(order), range(0, 23));
  assert.notDeepEqual(order, range(0, 23), "not shuffled");
  const more = rowsOf(nextBatch(data, "train", 30), data);  // the walk starts over at its end
  assert.deepEqual(more, [...order, ...order.slice(0, 7)]);
  const tests = rowsOf(nextBatch(data, "test", 9), data);
  assert.deepEqual(sorted(tests), range(23, 9));
  const again = rowsData();  // the same seed: the same order; another seed: another
  assert.deepEqual(rowsOf(nextBatch(again, "train", 23), again), order);
  const other = rowsData();
  const seeded = rowsOf(nextBatch(other, "train", 23, {seed: 1}), other);
  assert.notDeepEqual(seeded, order);
  assert.deepEqual(sorted(seeded), range(0, 23));
  // the seed of the first call for a data object holds for it
  assert.deepEqual(rowsOf(nextBatch(other, "train", 23, {seed: 0}), other), seeded);
});

test("nextBatch refuses a part, a batch size or an empty part, saying which", () => {
  const data = rowsData({test: 0});
  assert.throws(() => nextBatch(data, "validation", 1), /part validation: give "train" or "test"/);
  for (const n of [0, -1, 1.5, "8", null]) {
    assert.throws(() => nextBatch(data, "train", n), /batch size .*: give a whole number above 0/);
  }
  assert.throws(() => nextBatch(data, "test", 1), /there are no test images/);
  assert.equal(nextBatch(data, "train", 1).xsShape[0], 1);
});

// A bundle of the stored module's numbers: 37 images, 30 training, shards of 10 rows.
function bundle(name, options = {}) {
  const next = random(7), n = 37;
  const images = Uint8Array.from({length: n * 784}, () => Math.floor(next() * 256));
  const ids = Array.from({length: n}, (_, i) => (i * 7) % 10);
  const made = writeBundle(join(DIR, name), {images, ids, train: 30, height: 28, width: 28,
                                              classes: 10, shardRows: 10, ...options});
  return {...made, images, ids};
}

test("load() of a bundle from a path and a file: URL gives its bytes and facts", async () => {
  const b = bundle("good");
  for (const url of [b.json, pathToFileURL(b.json), pathToFileURL(b.json).href]) {
    const d = await load(url);
    assert.ok(same(d.images, b.images) && same(d.labels, b.onehot));
    assert.deepEqual([d.imageHeight, d.imageWidth, d.channels, d.classes, d.trainImages, d.testImages],
                     [28, 28, 1, 10, 30, 7]);
    assert.deepEqual(d.classNames, b.meta.class_names);
  }
});

test("batches() streams a part in order, across shards, the last batch smaller", async () => {
  const b = bundle("stream"), d = await load(b.json);
  const seen = [], sizes = [];
  for await (const batch of batches(b.json, {batchSize: 8, part: "all"})) {
    assert.deepEqual([batch.xsShape, batch.labelsShape], [[batch.size, 784], [batch.size, 10]]);
    sizes.push(batch.size), seen.push(batch);
  }
  assert.deepEqual(sizes, [8, 8, 8, 8, 5]);
  const xs = Buffer.concat(seen.map((x) => Buffer.from(x.xs.buffer, x.xs.byteOffset, x.xs.byteLength)));
  assert.ok(same(new Uint8Array(xs), new Uint8Array(toFloat32(d.images).buffer)));
  const labels = Buffer.concat(seen.map((x) => Buffer.from(x.labels)));
  assert.ok(same(new Uint8Array(labels), b.onehot));
  const tests = [];
  for await (const batch of batches(b.json, {batchSize: 3, part: "test"})) tests.push(batch.size);
  assert.deepEqual(tests, [3, 3, 1]);
  await assert.rejects(batches(b.json, {part: "validation"}).next(), /give "train", "test" or "all"/);
});

test("a shard changed, cut short or missing is an Error naming it", async () => {
  const cases = {
    sha256: (file) => {
      const bytes = readFileSync(file);
      bytes[bytes.length >> 1] ^= 1;
      writeFileSync(file, bytes);
      return "its sha256 differs from data.json's";
    },
    truncated: (file) => {
      const bytes = readFileSync(file);
      writeFileSync(file, bytes.subarray(0, bytes.length - 20));
      return `${bytes.length - 20} bytes, data.json says ${bytes.length}`;
    },
    missing: (file) => (unlinkSync(file), "is missing"),
  };
  for (const [name, change] of Object.entries(cases)) {
    for (const role of ["images", "labels"]) {
      const b = bundle(`${name}-${role}`), entry = b.meta.shards[1][role];
      const words = change(join(DIR, `${name}-${role}`, entry.name));
      const e = await rejection(load(b.json));
      assert.ok(e instanceof Error && e.message.includes(entry.name), `${name} ${role}: ${e}`);
      assert.ok(e.message.includes(words), e.message);
    }
  }
});

test("a NAME.json of other numbers than the module's is an Error naming both files", async () => {
  const b = bundle("rgb", {images: new Uint8Array(37 * 28 * 28 * 3), channels: 3});
  const e = await rejection(load(b.json));
  const module = new URL("../../../mnist_sprite/loader.js", import.meta.url).href;
  assert.ok(e.message.startsWith(`${pathToFileURL(b.json).href}: channels is 3, but ${module} ` +
                                 "was made for 1: they come from two packs;"), e.message);
});
