// html_bench.mjs - open vitviz html pages in headless Chromium (Debian's,
// over the DevTools pipe of tests/browser/cdp.mjs) and measure, per page:
//   first draw  ms from navigation start to the scatter's first drawn frame
//               (performance mark 'vv-first-draw': data parsed, decoded, drawn)
//   scrubbing   frames/s drawn while the checkpoint changes every 100 ms for
//               3 s (every frame a full redraw of all points, tweened), and
//               the mean milliseconds one redraw takes
// Prints one JSON object per page.
//
//   node bench/html_bench.mjs PAGE.html...
import { resolve } from 'node:path';
import { Browser } from '../tests/browser/cdp.mjs';

const b = await Browser.launch({ width: 1280, height: 800 });
try {
  for (const file of process.argv.slice(2)) {
    const p = await b.newPage();
    await p.send('Page.enable');
    await p.send('Emulation.setDeviceMetricsOverride', { width: 1280, height: 800, deviceScaleFactor: 1, mobile: false });
    const t0 = Date.now();
    await p.navigate('file://' + resolve(file));
    await p.eval('vitviz.settled()');
    const load = Date.now() - t0;
    const first = await p.eval(`(() => { const m = performance.getEntriesByName('vv-first-draw')[0];
      const f = performance.getEntriesByName('first-contentful-paint')[0];
      return { draw: m ? m.startTime : null, fcp: f ? f.startTime : null, n: vitviz.data.n, T: vitviz.data.T }; })()`);
    const scrub = await p.eval(`new Promise((res) => {
      const s0 = vitviz.stats(), t0 = performance.now(), T = vitviz.data.T;
      let f = 0;
      const iv = setInterval(() => { f = (f + 1) % T; vitviz.goTo(f); }, 100);
      setTimeout(() => { clearInterval(iv); const s1 = vitviz.stats(), dt = (performance.now() - t0) / 1000;
        res({ fps: (s1.draws - s0.draws) / dt, drawMs: (s1.drawMs - s0.drawMs) / Math.max(1, s1.draws - s0.draws) }); }, 3000);
    })`);
    console.log(JSON.stringify({ file, n: first.n, T: first.T, firstDrawMs: first.draw, fcpMs: first.fcp, loadMs: load, ...scrub }));
    await b.send('Target.closeTarget', { targetId: (await b.send('Target.getTargets')).targetInfos.find((t) => t.type === 'page' && t.url.startsWith('file:'))?.targetId }).catch(() => {});
  }
} finally {
  b.close();
}
