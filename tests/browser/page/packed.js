// Loads a folder `mnist-sprite pack` wrote through the ES module it generated, NAME.js, as a
// user's page would (await load() with its default URL, NAME.json beside the module), in the
// window or, with ?worker, in a module Worker; and sends load()'s images (as float32, byte / 255
// a value, through the module's toFloat32) and labels back with its numbers. The check serves
// the folder under pack/ and puts the module's file name in place of __LOADER__.
import {post} from './post.js';

const LOADER = './pack/__LOADER__';

async function inWorker() {
  const worker = new Worker(`./packed_worker.js?loader=${encodeURIComponent(LOADER)}`, {type: 'module'});
  const r = await new Promise((resolve, reject) => {
    worker.onmessage = (e) => resolve(e.data);
    worker.onerror = (e) => reject(new Error(`the Worker failed: ${e.message}`));
  });
  worker.terminate();
  if (r.error) throw new Error(`in the Worker: ${r.error}`);
  return r;
}

async function run() {
  const inside = new URLSearchParams(location.search).has('worker');
  const {loadPack} = await import('./packed_load.js');
  const r = inside ? await inWorker() : await loadPack(await import(LOADER));
  await post('images', r.images);
  await post('labels', r.labels);
  const secure = globalThis.isSecureContext, subtle = Boolean(globalThis.crypto?.subtle);
  return {loadMs: r.loadMs, facts: r.facts, where: inside ? 'worker' : 'window', secure, subtle};
}

run().then((r) => r, (e) => ({error: String(e && e.message || e)})).then((r) => {
  window.__result = r;
});
