// Opens the check's page in headless Chromium (puppeteer-core, the system's Chromium, no
// download) and prints the page's result as one JSON line on stdout.
// Usage: node drive.cjs URL CHROMIUM TIMEOUT_MS   (NODE_PATH holds puppeteer-core)
const puppeteer = require('puppeteer-core');

(async () => {
  const [url, executablePath, timeout] = process.argv.slice(2);
  const browser = await puppeteer.launch({
    executablePath,
    headless: true,
    // Root needs --no-sandbox; the rest keep Chromium off the network and its GPU paths.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync',
           '--disable-dev-shm-usage'],
    protocolTimeout: Number(timeout) + 60000,
  });
  try {
    const page = await browser.newPage();
    page.on('console', (m) => console.error(`[page ${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => console.error(`[page error] ${e}`));
    page.on('requestfailed', (q) => console.error(`[request failed] ${q.url()} ${q.failure()?.errorText}`));
    await page.goto(url, {waitUntil: 'load'});
    await page.waitForFunction('window.__result !== undefined', {timeout: Number(timeout), polling: 200});
    const r = await page.evaluate(() => window.__result);
    r.chromium = await browser.version();
    process.stdout.write(JSON.stringify(r) + '\n');
  } finally {
    await browser.close();
  }
})().catch((e) => {
  process.stdout.write(JSON.stringify({error: `driver: ${e && e.message || e}`}) + '\n');
  process.exitCode = 2;
});
