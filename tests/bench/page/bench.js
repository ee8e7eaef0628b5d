// make bench's loader page (tests/bench/loader.py). config.json says which loader:
//   "ours":   the pack's NAME.js (cfg.module): load(), then nextBatch(data, "train", cfg.batch),
//             the first batch as float32, as a page trains from it;
//   "datajs": tfjs-examples' mnist/data.js (served as data.js): new MnistData(), await load().
// The module is imported first, then the page idles cfg.idleMs (the Python side samples the
// engine's memory then: the baseline), then loads, then idles cfg.afterMs holding what it loaded.
// window.__result gives the times (performance.now()) and the wall-clock marks (Date.now()) that
// the Python side lines its memory samples up with.
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
window.__keep = [];

// The main thread's longest stretch without a turn for anything else while `work` runs: the
// longest gap between the ticks of a 0 ms timer chain (what a page's input and drawing wait).
async function longestGap(work) {
  let last = performance.now(), gap = 0, running = true;
  const tick = () => {
    const now = performance.now();
    gap = Math.max(gap, now - last), last = now;
    if (running) setTimeout(tick, 0);
  };
  setTimeout(tick, 0);
  try {
    return [await work(), gap];
  } finally {
    running = false;
    gap = Math.max(gap, performance.now() - last);
  }
}

async function run() {
  const cfg = await (await fetch('config.json')).json();
  const m = await import(cfg.kind === 'ours' ? cfg.module : './data.js');
  await sleep(cfg.idleMs);
  const start = Date.now(), t0 = performance.now();
  let loadMs, batchMs = 0, values, gapMs;
  if (cfg.kind === 'ours') {
    const [data, gap] = await longestGap(() => m.load());
    loadMs = performance.now() - t0, gapMs = gap;
    const batch = m.nextBatch(data, 'train', cfg.batch);
    batchMs = performance.now() - t0 - loadMs;
    if (!(batch.xs instanceof Float32Array)) throw new Error('nextBatch().xs is not float32');
    window.__keep.push(data, batch);
    values = data.images.length;
  } else {
    const data = new m.MnistData();
    [, gapMs] = await longestGap(() => data.load());
    loadMs = performance.now() - t0;
    window.__keep.push(data);
    values = data.datasetImages.length;
  }
  const end = Date.now();
  await sleep(cfg.afterMs);
  return {kind: cfg.kind, loadMs, batchMs, gapMs, values, start, end, done: Date.now()};
}

run().then((r) => r, (e) => ({error: String(e && e.message || e)})).then((r) => {
  window.__result = r;
});
