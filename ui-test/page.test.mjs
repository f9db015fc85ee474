// The page at / driven in headless Chromium against a real server on loopback.
//   node page.test.mjs BASE_URL KEY FACES_DIR OUT_DIR
// Fails (exit 1) at the first check that does not hold; writes screenshots to OUT_DIR.
import { chromium } from "playwright-core";
import { strict as assert } from "node:assert";
import path from "node:path";
import fs from "node:fs";

const [base, key, faces, out] = process.argv.slice(2);
fs.mkdirSync(out, { recursive: true });
const photo = (name) => path.join(faces, name);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
let failed = false;
async function check(name, body) {
  const started = Date.now();
  try {
    await body();
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    failed = true;
    console.log(`FAIL ${name}: ${e.stack || e}`);
  }
}

async function open(viewport) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const requests = [];
  page.on("request", (r) => { if (r.url().endsWith("/v1/faceswap")) requests.push(JSON.parse(r.postData())); });
  // Nothing but the server itself is ever asked for.
  page.on("request", (r) => assert.ok(r.url().startsWith(base) || r.url().startsWith("data:"), `fetched ${r.url()}`));
  await page.goto(base + "/");
  await page.fill("#key", key);
  if (viewport.width > 1000 && !fs.existsSync(path.join(out, "empty.png"))) {
    // The page before any photo is chosen: a picture of it without photos in it.
    await page.screenshot({ path: path.join(out, "empty.png") });
    assert.equal(await page.locator("#resultTools").isVisible(), false, "no result tools before a result");
  }
  return { page, requests, context };
}

async function resultShown(page) {
  const img = page.locator("#resultImage");
  await img.waitFor({ timeout: 60000 });
  await page.waitForFunction(() => { const i = document.getElementById("resultImage"); return i && i.complete && i.naturalWidth > 0; }, null, { timeout: 60000 });
  return img.evaluate((i) => [i.naturalWidth, i.naturalHeight]);
}

await check("two photos uploaded, fused, the result shown and decoded at the template's size", async () => {
  const { page, requests, context } = await open({ width: 1280, height: 900 });
  await page.setInputFiles("#fileA", photo("obama_1.jpg"));
  await page.setInputFiles("#fileB", photo("portrait_m1.jpg"));
  await page.locator(".facebox").first().waitFor({ timeout: 30000 });
  await page.click("#fuse");
  const size = await resultShown(page);
  const b = await page.locator("#dropB img").evaluate((i) => [i.naturalWidth, i.naturalHeight]);
  assert.deepEqual(size, b, "the result has the template's size");
  assert.equal(requests.length, 1);
  assert.ok(requests[0].image_base64.startsWith("data:image/jpeg;base64,"));
  assert.equal(requests[0].template_face, 0);
  assert.ok(await page.locator("#download").getAttribute("href"));
  assert.match(await page.locator("#curl").textContent(), /curl -s .*\/v1\/faceswap/);
  await page.screenshot({ path: path.join(out, "desktop.png"), fullPage: true });
  await context.close();
});

await check("the second face of a group photo is chosen by a click and sent", async () => {
  const { page, requests, context } = await open({ width: 1280, height: 900 });
  await page.setInputFiles("#fileA", photo("obama_1.jpg"));
  await page.setInputFiles("#fileB", photo("group_t1.jpg"));
  await page.waitForFunction(() => document.querySelectorAll(".facebox").length >= 2, null, { timeout: 30000 });
  await page.click('.facebox[data-face="1"]');
  assert.equal(await page.locator(".facebox.chosen").getAttribute("data-face"), "1");
  await page.click("#fuse");
  await resultShown(page);
  assert.equal(requests.at(-1).template_face, 1);
  await page.screenshot({ path: path.join(out, "group.png"), fullPage: true });
  await context.close();
});

await check("a photo without a face shows the no-face message", async () => {
  const { page, context } = await open({ width: 1280, height: 900 });
  await page.setInputFiles("#fileA", photo("noface_horses.jpg"));
  await page.setInputFiles("#fileB", photo("portrait_m1.jpg"));
  await page.click("#fuse");
  await page.locator("#error").waitFor({ state: "visible", timeout: 60000 });
  assert.match(await page.locator("#error").textContent(), /No face was found in photo A/);
  await context.close();
});

await check("a wrong key is explained", async () => {
  const { page, context } = await open({ width: 1280, height: 900 });
  await page.fill("#key", "fsk_not_a_key");
  await page.setInputFiles("#fileA", photo("obama_1.jpg"));
  await page.setInputFiles("#fileB", photo("portrait_m1.jpg"));
  await page.click("#fuse");
  await page.locator("#error").waitFor({ state: "visible", timeout: 30000 });
  assert.match(await page.locator("#error").textContent(), /API key is not valid/);
  await context.close();
});

await check("usable on a phone-sized screen", async () => {
  const { page, context } = await open({ width: 390, height: 844 });
  await page.setInputFiles("#fileA", photo("rose_1.jpg"));
  await page.setInputFiles("#fileB", photo("portrait_f1.jpg"));
  await page.locator(".facebox").first().waitFor({ timeout: 30000 });
  await page.click("#fuse");
  await resultShown(page);
  // One column: nothing wider than the screen.
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, `page is ${width} px wide`);
  await page.locator("#sideResult").scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(out, "phone.png"), fullPage: true });
  await context.close();
});

await browser.close();
process.exit(failed ? 1 : 0);
