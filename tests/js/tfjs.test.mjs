// MnistData and dataset() with the real TensorFlow.js, where it is installed: the browser check's
// pinned @tensorflow/tfjs in .browser/node_modules (make browser-check installs it), or the
// node_modules folder MNIST_SPRITE_TFJS names. Skipped otherwise (the fake tf of
// mnistdata.test.mjs still runs).
import assert from "node:assert/strict";
import {existsSync} from "node:fs";
import {createRequire} from "node:module";
import {join} from "node:path";
import {fileURLToPath} from "node:url";
import {test} from "node:test";
import {FIX, loader, path} from "./fixtures.mjs";

const root = fileURLToPath(new URL("../../", import.meta.url));
const modules = process.env.MNIST_SPRITE_TFJS ||
  [join(root, ".browser", "node_modules"), join(root, ".tfjs", "node_modules")]
    .find((m) => existsSync(join(m, "@tensorflow", "tfjs"))) || join(root, ".tfjs", "node_modules");
const found = existsSync(join(modules, "@tensorflow", "tfjs"));
const skip = found ? false : `no @tensorflow/tfjs in ${modules} (make test installs it)`;

test("with real tfjs: data.js's shapes and dtypes, and model.fitDataset on dataset()", {skip}, async () => {
  const tf = createRequire(join(modules, "x.js"))("@tensorflow/tfjs");
  for (const b of [FIX.bundles.gray, FIX.bundles.rgb]) {
    const {MnistData, dataset} = await loader(b);
    const data = new MnistData({url: path(b.json), tf});
    await data.load();
    const values = b.height * b.width * b.channels, train = data.getTrainData();
    assert.deepEqual([train.xs.shape, train.xs.dtype], [[b.train, b.height, b.width, b.channels], "float32"]);
    assert.deepEqual([train.labels.shape, train.labels.dtype], [[b.train, b.classes], "int32"]);
    const batch = data.nextTrainBatch(3), test2 = data.nextTestBatch(2), some = data.getTestData(2);
    assert.deepEqual([batch.xs.shape, batch.xs.dtype, batch.labels.shape], [[3, values], "float32", [3, b.classes]]);
    assert.deepEqual([test2.xs.shape, some.xs.shape], [[2, values], [2, b.height, b.width, b.channels]]);
    const model = tf.sequential({layers: [
      tf.layers.flatten({inputShape: [b.height, b.width, b.channels]}),
      tf.layers.dense({units: b.classes, activation: "softmax"})]});
    model.compile({optimizer: "sgd", loss: "categoricalCrossentropy"});
    const history = await model.fitDataset(await dataset(path(b.json), {batchSize: 8, tf}), {epochs: 2, verbose: 0});
    assert.equal(history.history.loss.length, 2);
    tf.dispose([train.xs, train.labels, batch.xs, batch.labels, test2.xs, test2.labels, some.xs, some.labels]);
  }
});

test("with real tfjs: tfjs-examples' flow on a default pack of your own images", {skip}, async () => {
  // index.js: getTestData, model.evaluate and its testResult[1], nextTestBatch: a pack made
  // without --test-size has a test part, so none of them meets an empty tensor.
  const tf = createRequire(join(modules, "x.js"))("@tensorflow/tfjs");
  const b = FIX.own;
  const {MnistData} = await loader(b);
  const data = new MnistData({url: path(b.json), tf});
  await data.load();
  const testData = data.getTestData();
  assert.ok(b.images > b.train && testData.xs.shape[0] === b.images - b.train);
  const model = tf.sequential({layers: [
    tf.layers.flatten({inputShape: testData.xs.shape.slice(1)}),
    tf.layers.dense({units: b.classes, activation: "softmax"})]});
  model.compile({optimizer: "sgd", loss: "categoricalCrossentropy", metrics: ["accuracy"]});
  const batch = data.nextTrainBatch(4);
  await model.fit(batch.xs.reshape([4, ...testData.xs.shape.slice(1)]), batch.labels, {epochs: 1, verbose: 0});
  const testResult = model.evaluate(testData.xs, testData.labels);
  assert.equal(testResult.length, 2);
  const accuracy = (await testResult[1].data())[0];
  assert.ok(accuracy >= 0 && accuracy <= 1);
  const testBatch = data.nextTestBatch(2);
  assert.deepEqual(testBatch.xs.shape, [2, testData.xs.shape.slice(1).reduce((a, c) => a * c)]);
  tf.dispose([testData.xs, testData.labels, batch.xs, batch.labels, testBatch.xs, testBatch.labels, ...testResult]);
});
