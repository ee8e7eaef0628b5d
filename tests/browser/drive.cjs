// Opens one of the check's pages in headless Chromium or Firefox (puppeteer-core: the system's
// browser, no download; Chromium over DevTools, Firefox over WebDriver BiDi) and prints the
// page's result, with the browser's version, as one JSON line on stdout.
// Usage: node drive.cjs URL OPTIONS_JSON TIMEOUT_MS   (NODE_PATH holds puppeteer-core)
// OPTIONS_JSON: {"engine": "chromium"|"firefox", "executablePath": ..., "prefs": {...},
// "network": true|false}; prefs are Firefox preferences (puppeteer's extraPrefsFirefox).
// network (default true): puppeteer's network events, for the failed requests logged below.
// With them, the browser keeps each response's body for the driver to ask for (Chromium's
// DevTools Network domain in the page's own process; Firefox's WebDriver BiDi data collectors,
// 20 MB a response, in its parent process): memory a page without a driver does not use, so
// make bench's memory rows turn them off (false).
const puppeteer = require('puppeteer-core');

(async () => {
  const [url, optionsJson, timeout] = process.argv.slice(2);
  const options = JSON.parse(optionsJson);
  const common = {
    executablePath: options.executablePath,
    headless: true,
    protocolTimeout: Number(timeout) + 60000,
    networkEnabled: options.network !== false,
  };
  const browser = await puppeteer.launch(options.engine === 'firefox' ? {
    ...common,
    browser: 'firefox',
    extraPrefsFirefox: options.prefs || {},
  } : {
    ...common,
    // Root needs --no-sandbox; the rest keep Chromium off the network and its GPU paths.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync',
           '--disable-dev-shm-usage'],
  });
  try {
    const page = await browser.newPage();
    page.on('console', (m) => console.error(`[page ${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => console.error(`[page error] ${e}`));
    if (options.network !== false) {
      page.on('requestfailed', (q) => console.error(`[request failed] ${q.url()} ${q.failure()?.errorText}`));
    }
    await page.goto(url, {waitUntil: 'load'});
    await page.waitForFunction('window.__result !== undefined', {timeout: Number(timeout), polling: 200});
    const r = await page.evaluate(() => window.__result);
    // "HeadlessChrome/156.0.8078.114", "firefox/153.8.0": the version after the slash
    const version = await browser.version();
    r.version = version.slice(version.indexOf('/') + 1);
    process.stdout.write(JSON.stringify(r) + '\n');
  } finally {
    await browser.close();
  }
})().catch((e) => {
  process.stdout.write(JSON.stringify({error: `driver: ${e && e.message || e}`}) + '\n');
  process.exitCode = 2;
});
