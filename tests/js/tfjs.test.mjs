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

const modules = process.env.MNIST_SPRITE_TFJS ||
  join(fileURLToPath(new URL("../../", import.meta.url)), ".browser", "node_modules");
const found = existsSync(join(modules, "@tensorflow", "tfjs"));
const skip = found ? false : `no @tensorflow/tfjs in ${modules} (make browser-check installs it)`;

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
