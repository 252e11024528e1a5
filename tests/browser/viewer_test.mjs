// viewer_test.mjs - the HTML viewer in a real browser (Debian's Chromium,
// headless, no network), driven over the DevTools protocol (cdp.mjs).
// Started by tests/test_html.c, which writes the work folder, the page and
// expect.json (thumbnail colours, `vitviz report` files per step).
//
//   node tests/browser/viewer_test.mjs --html F --work DIR --expect F --ref PNG [--update]
//
// Exit status: 0 passed, 1 failed, 77 skipped (only when Chromium cannot start).
// Every wait is for a condition or an event (the page's vitviz.settled(),
// a download's completion), never a fixed sleep.
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Browser, BrowserStartError } from './cdp.mjs';
import { readNpyF32, parseCSV, decodePNG, compareImages } from './util.mjs';

const W = 900, H = 600;
// screenshot tolerance: at most 0.5% of the plot's pixels may differ by more
// than 40 (of 255) in a channel, and the mean absolute difference must stay
// below 1.0 (the dots are splatted by the page's own code, so the same
// Chromium gives identical pixels; the slack covers another build's canvas).
const SHOT_TOL = 40, SHOT_BAD = 0.005, SHOT_MEAN = 1.0;

const args = {};
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === '--update') args.update = true;
  else args[a.replace(/^--/, '')] = process.argv[++i];
}
const expect = JSON.parse(readFileSync(args.expect, 'utf8'));
const coords = readNpyF32(join(args.work, 'coords.npy'));
const [T, N] = coords.shape;
const samples = parseCSV(readFileSync(join(args.work, 'samples.csv'), 'utf8')).slice(1);

let failures = 0, checks = 0;
function check(ok, what) {
  checks++;
  if (!ok) { failures++; console.log(`FAIL: ${what}`); } else if (process.env.VERBOSE) console.log(`ok: ${what}`);
}

const watchdog = setTimeout(() => { console.log('FAIL: browser test took over 90 s'); process.exit(1); }, 90000);

let browser;
try {
  browser = await Browser.launch({ width: W, height: H });
} catch (e) {
  if (e instanceof BrowserStartError) {
    console.log(`skipped: chromium cannot start (${e.message})`);
    process.exit(77);
  }
  throw e;
}
const dl = mkdtempSync(join(tmpdir(), 'vv-downloads-'));
try {
  await run();
} catch (e) {
  failures++;
  console.log(`FAIL: ${e.stack || e}`);
} finally {
  browser.close();
  rmSync(dl, { recursive: true, force: true });
  clearTimeout(watchdog);
}
console.log(`browser test: ${checks} checks, ${failures} failed (${browser.version ? browser.version.product : 'chromium'})`);
process.exit(failures ? 1 : 0);

async function run() {
  const page = await browser.newPage();
  const errors = [], warnings = [], requests = [];
  browser.on((m) => {
    if (m.sessionId !== page.sid) return;
    const p = m.params;
    if (m.method === 'Runtime.consoleAPICalled' && (p.type === 'error' || p.type === 'assert'))
      errors.push(`console.${p.type}: ${p.args.map((a) => a.value ?? a.description).join(' ')}`);
    else if (m.method === 'Runtime.consoleAPICalled' && p.type === 'warning')
      warnings.push(`console.warn: ${p.args.map((a) => a.value ?? a.description).join(' ')}`);
    else if (m.method === 'Runtime.exceptionThrown')
      errors.push(`exception: ${p.exceptionDetails.exception ? p.exceptionDetails.exception.description : p.exceptionDetails.text}`);
    else if (m.method === 'Log.entryAdded' && p.entry.level === 'error')
      errors.push(`log: ${p.entry.text}`);
    else if (m.method === 'Log.entryAdded' && p.entry.level === 'warning')
      warnings.push(`log: ${p.entry.text}`);
    else if (m.method === 'Network.requestWillBeSent' && !/^(file|data|blob|about):/.test(p.request.url))
      requests.push(p.request.url);
  });
  await page.send('Runtime.enable');
  await page.send('Page.enable');
  await page.send('Log.enable');
  await page.send('Network.enable');
  await page.send('Emulation.setDeviceMetricsOverride', { width: W, height: H, deviceScaleFactor: 1, mobile: false });
  await browser.send('Browser.setDownloadBehavior', { behavior: 'allowAndName', downloadPath: dl, eventsEnabled: true });

  const steps = expect.steps;
  const url = 'file://' + resolve(args.html);

  // #step=N opens at that checkpoint
  await page.navigate(`${url}#step=${steps[1]}`);
  await page.eval('vitviz.settled()');
  check(await page.eval('vitviz.frame()') === 1, `#step=${steps[1]} opens checkpoint 1`);

  // one slider stop per checkpoint
  const slider = await page.eval(`(() => { const s = document.getElementById('slider');
    return { min: +s.min, max: +s.max, step: +s.step, stops: document.getElementById('stops').options.length }; })()`);
  check(slider.min === 0 && slider.max === T - 1 && slider.step === 1 && slider.stops === T,
    `slider has one stop per checkpoint (${JSON.stringify(slider)}, T = ${T})`);

  // the keyboard moves one checkpoint; the shown step and positions match coords.npy
  await page.key('ArrowRight', 'ArrowRight', 39);
  await page.eval('vitviz.settled()');
  const f = 2;
  check(await page.eval('vitviz.frame()') === f, 'ArrowRight moves to the next checkpoint');
  check(await page.eval(`document.getElementById('stepinfo').dataset.step`) === String(steps[f]) &&
    (await page.eval(`document.getElementById('stepinfo').textContent`)).includes(`step ${steps[f]}`),
    `the page shows step ${steps[f]}`);
  const D = await page.eval('({ lo: vitviz.data.lo, hi: vitviz.data.hi, n: vitviz.data.n })');
  const idx = await page.eval('vitviz.index()');
  const pos = await page.eval('vitviz.positions()');
  // 16-bit quantization over [lo, hi]: half a step, plus float32 rounding
  const tol = [0, 1].map((a) => (D.hi[a] - D.lo[a]) / 65535 / 2 + 1e-6);
  let worst = 0;
  for (let k = 0; k < D.n; k++)
    for (let a = 0; a < 2; a++) {
      const e = Math.abs(pos[2 * k + a] - coords.data[(f * N + idx[k]) * 2 + a]) / tol[a];
      if (e > worst) worst = e;
    }
  check(D.n === N && worst <= 1, `positions match coords.npy at checkpoint ${f} within the 16-bit step (worst ${worst.toFixed(3)} of the tolerance ${tol[0].toExponential(2)})`);

  // screen positions from coords.npy and the page's view transform
  const view = await page.eval('vitviz.view()');
  const screen = (k) => [view.left + view.ox + view.s * coords.data[(f * N + idx[k]) * 2],
    view.top + view.oy - view.s * coords.data[(f * N + idx[k]) * 2 + 1]];
  // a point to hover: no other point within 1.5 px, none of another class within r px
  // (so that its centre pixel is its own colour and turns into background when its class is hidden)
  const isolated = (k, r) => {
    const [x, y] = screen(k);
    if (x < view.left + 20 || x > view.left + view.width - 20 || y < view.top + 20 || y > view.top + view.height - 20) return false;
    for (let j = 0; j < D.n; j++) {
      if (j === k) continue;
      const [u, v] = screen(j);
      const dist = Math.hypot(u - x, v - y);
      if (dist < 1.5 || (dist < r && samples[idx[j]][2] !== samples[idx[k]][2])) return false;
    }
    return true;
  };
  let h = -1;
  for (let k = 0; k < D.n && h < 0; k++) if (isolated(k, 9)) h = k;
  check(h >= 0, 'an isolated point to hover exists');

  // hovering it shows its path, label and thumbnail
  const [hx, hy] = screen(h);
  await page.mouse('mouseMoved', hx, hy);
  const tip = await page.eval(`new Promise((res, rej) => { const t0 = performance.now();
    (function poll() { const tip = document.getElementById('tip'), cv = tip.querySelector('canvas');
      if (!tip.hidden && tip.dataset.index === '${h}' && cv && cv.dataset.loaded !== '0') {
        const ctx = cv.getContext('2d'), d = ctx.getImageData(0, 0, cv.width, cv.height).data, m = [0, 0, 0];
        for (let i = 0; i < d.length; i += 4) for (let c = 0; c < 3; c++) m[c] += d[i + c];
        const px = d.length / 4;
        const rows = {}; tip.querySelectorAll('tr').forEach((tr) => { rows[tr.dataset.key] = tr.cells[1].textContent; });
        res({ path: tip.querySelector('.path').textContent, rows, loaded: cv.dataset.loaded, mean: m.map((v) => v / px) });
      } else if (performance.now() - t0 > 10000) rej(new Error('tooltip of point ${h} not shown'));
      else requestAnimationFrame(poll); })(); })`);
  const s = samples[idx[h]];
  check(tip.path === s[1], `tooltip shows the path (${tip.path} vs ${s[1]})`);
  check(tip.rows.label === `${s[3]} (${s[2]})`, `tooltip shows the label (${tip.rows.label} vs ${s[3]} (${s[2]}))`);
  check(tip.rows.index === String(idx[h]), 'tooltip shows the index');
  check(/^\d+ of \d+$/.test(tip.rows.rank || ''), `tooltip shows the rank (${tip.rows.rank})`);
  const want = expect.thumbColor[idx[h]], wrgb = [want >> 16 & 255, want >> 8 & 255, want & 255];
  const cdiff = Math.max(...wrgb.map((v, c) => Math.abs(v - tip.mean[c])));
  check(tip.loaded === '1' && cdiff <= 6, `tooltip thumbnail is sample ${idx[h]}'s image (mean colour off by ${cdiff.toFixed(2)}, tolerance 6: JPEG)`);
  if (expect.dynamics) check(tip.rows[expect.dynamics.col] === expect.dynamics.values[idx[h]], `tooltip shows ${expect.dynamics.col} from dynamics.csv (${tip.rows[expect.dynamics.col]})`);

  // hiding a class removes its points; clicking again brings them back
  await page.mouse('mouseMoved', 5, 5);
  const cls = +s[2];
  const pixel = (x, y) => page.eval(`(() => { const c = document.getElementById('plot');
    return Array.from(c.getContext('2d').getImageData(${Math.round(x - view.left)}, ${Math.round(y - view.top)}, 1, 1).data.slice(0, 3)); })()`);
  const panel = await page.eval(`vitviz.data.themes.light.panel`);
  const panelRGB = [1, 3, 5].map((i) => parseInt(panel.slice(i, i + 2), 16));
  const before = await page.eval('vitviz.drawn()');
  const p0 = await pixel(hx, hy);
  const legend = await page.eval(`(() => { const r = document.querySelector('#legend li[data-cls="${cls}"] .name').getBoundingClientRect();
    return [r.left + r.width / 2, r.top + r.height / 2]; })()`);
  await page.click(legend[0], legend[1]);
  await page.eval('vitviz.settled()');
  const after = await page.eval('vitviz.drawn()');
  const p1 = await pixel(hx, hy);
  check(after[cls] === 0 && before[cls] > 0 && after.every((v, c) => c === cls || v === before[c]),
    `hiding class ${cls} removes its ${before[cls]} points and only those`);
  check(p0.some((v, c) => Math.abs(v - panelRGB[c]) > 30) && p1.every((v, c) => v === panelRGB[c]),
    `the pixel of hidden point ${idx[h]} turns into the background (${p0} -> ${p1})`);
  await page.click(legend[0], legend[1]);
  await page.eval('vitviz.settled()');
  check((await page.eval('vitviz.drawn()'))[cls] === before[cls], 'clicking again shows the class');

  // box selection -> download CSV = `vitviz report` rows of those samples
  const cx = hx, cy = hy;
  let box = [cx - 90, cy - 70, cx + 90, cy + 70];
  for (let tries = 0; tries < 50; tries++) {
    // keep every point at least 2 px from the edges, so rounding cannot decide
    let close = false;
    for (let k = 0; k < D.n && !close; k++) {
      const [x, y] = screen(k);
      const inX = x > box[0] - 2 && x < box[2] + 2, inY = y > box[1] - 2 && y < box[3] + 2;
      if ((inY && (Math.abs(x - box[0]) < 2 || Math.abs(x - box[2]) < 2)) || (inX && (Math.abs(y - box[1]) < 2 || Math.abs(y - box[3]) < 2))) close = true;
    }
    if (!close) break;
    box = box.map((v, i) => v + (i % 2 ? 1.3 : 0.7));
  }
  const want_sel = new Set();
  for (let k = 0; k < D.n; k++) {
    const [x, y] = screen(k);
    if (x >= box[0] && x <= box[2] && y >= box[1] && y <= box[3]) want_sel.add(idx[k]);
  }
  await page.drag(box[0], box[1], box[2], box[3]);
  await page.eval('vitviz.settled()');
  const selText = await page.eval(`document.getElementById('selcount').textContent`);
  check(want_sel.size > 0 && selText === `${want_sel.size} selected`, `box selection holds the ${want_sel.size} points inside (${selText})`);
  const btn = await page.eval(`(() => { const r = document.getElementById('download').getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })()`);
  const done = browser.waitFor((m) => m.method === 'Browser.downloadProgress' && (m.params.state === 'completed' || m.params.state === 'canceled'), 10000, 'the download');
  await page.click(btn[0], btn[1]);
  const ev = await done;
  check(ev.params.state === 'completed', 'the CSV download completes');
  const got = readFileSync(join(dl, ev.params.guid), 'utf8');
  check(/\r\n$/.test(got) && !/[^\r]\n/.test(got), 'the CSV uses CRLF line ends (RFC 4180)');
  const report = parseCSV(readFileSync(expect.reports[String(steps[f])], 'utf8'));
  const wantRows = [report[0]].concat(report.slice(1).filter((r) => want_sel.has(+r[1])));
  const gotRows = parseCSV(got);
  check(JSON.stringify(gotRows) === JSON.stringify(wantRows),
    `the downloaded CSV equals \`vitviz report\`'s rows of the selection (${gotRows.length - 1} rows vs ${wantRows.length - 1})`);
  if (JSON.stringify(gotRows) !== JSON.stringify(wantRows)) {
    for (let r = 0; r < Math.max(gotRows.length, wantRows.length); r++)
      if (JSON.stringify(gotRows[r]) !== JSON.stringify(wantRows[r])) { console.log(`  first difference, row ${r}:\n  got  ${gotRows[r]}\n  want ${wantRows[r]}`); break; }
  }

  // lasso (shift+drag): a triangle
  const tri = [cx + 10, cy - 120, cx + 130, cy + 90, cx - 110, cy + 60];
  const inTri = (x, y) => {
    let inside = false;
    for (let i = 0, j = 2; i < 3; j = i++) {
      const xi = tri[2 * i], yi = tri[2 * i + 1], xj = tri[2 * j], yj = tri[2 * j + 1];
      if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  };
  let lassoWant = 0, ambiguous = 0;
  for (let k = 0; k < D.n; k++) {
    const [x, y] = screen(k);
    const a = inTri(x, y);
    lassoWant += a;
    // points within 1.5 px of an edge may go either way
    if ([[-1.5, 0], [1.5, 0], [0, -1.5], [0, 1.5]].some(([dx, dy]) => inTri(x + dx, y + dy) !== a)) ambiguous++;
  }
  await page.mouse('mouseMoved', tri[0], tri[1], { modifiers: 8 });
  await page.mouse('mousePressed', tri[0], tri[1], { button: 'left', buttons: 1, clickCount: 1, modifiers: 8 });
  for (const [x, y] of [[tri[2], tri[3]], [tri[4], tri[5]]])
    await page.mouse('mouseMoved', x, y, { button: 'left', buttons: 1, modifiers: 8 });
  await page.mouse('mouseReleased', tri[4], tri[5], { button: 'left', buttons: 0, clickCount: 1, modifiers: 8 });
  const lassoGot = parseInt(await page.eval(`document.getElementById('selcount').textContent`), 10) || 0;
  check(Math.abs(lassoGot - lassoWant) <= ambiguous && lassoWant > 0, `lasso selection holds the ${lassoWant} points inside (got ${lassoGot}, ${ambiguous} on the edge)`);

  // clicking a point pins it and draws its trajectory; search finds by path
  await page.click(hx, hy);
  check(await page.eval(`document.querySelectorAll('#pinned li').length`) === 1, 'clicking a point pins it');
  await page.eval(`(() => { const s = document.getElementById('search'); s.value = ${JSON.stringify(s[1])}; s.dispatchEvent(new Event('input')); })()`);
  check(await page.eval(`document.getElementById('found').textContent`) === '1 match', 'search by path finds the sample');

  // the top outliers beside the plot
  check(await page.eval(`document.querySelectorAll('#top li').length`) === expect.top, `${expect.top} top outliers listed`);
  // class names (CJK included) in the legend
  const names = await page.eval(`Array.from(document.querySelectorAll('#legend .name')).map((e) => e.textContent)`);
  check(JSON.stringify(names) === JSON.stringify(expect.classes), `legend names ${names.join(' ')}`);

  // screenshot of the plot at the last checkpoint, nothing selected or pinned
  await page.eval(`(() => { document.getElementById('clearsel').click(); const s = document.getElementById('search');
    s.value = ''; s.dispatchEvent(new Event('input')); document.querySelector('#pinned button').click(); })()`);
  await page.mouse('mouseMoved', 5, 5);
  // only the canvases: the hint's text would make the picture depend on fonts
  await page.eval(`document.getElementById('hint').hidden = true`);
  await page.eval(`vitviz.goTo(${T - 1}, false)`);
  await page.eval('vitviz.settled()');
  const shot = await page.send('Page.captureScreenshot', { format: 'png', clip: { x: view.left, y: view.top, width: Math.floor(view.width), height: Math.floor(view.height), scale: 1 } });
  const png = Buffer.from(shot.data, 'base64');
  if (args.update) {
    writeFileSync(args.ref, png);
    console.log(`wrote ${args.ref}`);
  } else {
    const cmp = compareImages(decodePNG(png), decodePNG(readFileSync(args.ref)), SHOT_TOL);
    check(cmp.sameSize && cmp.badFraction <= SHOT_BAD && cmp.meanAbs <= SHOT_MEAN,
      `plot screenshot matches ${args.ref} (size equal ${cmp.sameSize}, ${(cmp.badFraction * 100).toFixed(3)}% pixels off by > ${SHOT_TOL} [max ${SHOT_BAD * 100}%], mean abs diff ${cmp.meanAbs.toFixed(3)} [max ${SHOT_MEAN}])`);
    if (!(cmp.badFraction <= SHOT_BAD && cmp.meanAbs <= SHOT_MEAN)) writeFileSync(join(tmpdir(), 'vv-plot-actual.png'), png);
  }

  // dark theme: the plot's background follows
  await page.eval(`document.getElementById('theme').click()`);
  await page.eval('vitviz.settled()');
  const dark = await page.eval(`vitviz.data.themes.dark.panel`);
  const pd = await pixel(view.left + 3, view.top + 3);
  check(pd.every((v, c) => v === parseInt(dark.slice(1 + 2 * c, 3 + 2 * c), 16)), `dark theme repaints the plot (${pd} vs ${dark})`);

  check(requests.length === 0, `no network requests (${requests.slice(0, 3).join(', ')})`);
  check(errors.length === 0, `no console errors (${errors.slice(0, 5).join(' | ')})`);
  // warnings differ between Chromium versions: shown, not failed
  for (const w of warnings.slice(0, 5)) console.log(`warning from the page: ${w}`);
}
