/*
 * vitviz html viewer.  Reads the JSON document in <script id="vv-data">
 * (written by render/render_html.c) and draws the run: the scatter on a 2-D
 * canvas (dots splatted into an ImageData buffer, which keeps 50,000 points
 * at interactive frame rates without WebGL), tweening between checkpoints,
 * the slider, the loss curve, hover / pin / trajectories, legend, search,
 * box and lasso selection with a CSV download in `vitviz report`'s
 * columns, and the top outliers of the shown checkpoint.
 *
 * window.vitviz exposes the state for the browser tests
 * (tests/browser/viewer_test.mjs) and for scripting.
 */
'use strict';

/* --- pure helpers (also tested by tests/browser/viewer_unit.test.mjs) --- */

var VV = {
  /* Bytes of a base64 string. */
  bytes: function (s) {
    var bin = atob(s), u = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) u[i] = bin.charCodeAt(i);
    return u;
  },
  /* A typed array (little-endian, as the writer stores them) over base64 data. */
  typed: function (s, Type) {
    var u = VV.bytes(s);
    return new Type(u.buffer, 0, u.byteLength / Type.BYTES_PER_ELEMENT);
  },
  /* Is the double x exactly digits x 10^e10 (digits: a decimal string)? */
  exactDecimal: function (x, digits, e10) {
    var dv = new DataView(new ArrayBuffer(8));
    dv.setFloat64(0, Math.abs(x));
    var hi = dv.getUint32(0), be = hi >>> 20 & 0x7ff, q;
    var M = BigInt(hi & 0xfffff) << BigInt(32) | BigInt(dv.getUint32(4));
    if (be) { M |= BigInt(1) << BigInt(52); q = be - 1075; } else q = -1074;
    var L = M, R = BigInt(digits), ten = BigInt(10);
    if (q >= 0) L <<= BigInt(q); else R <<= BigInt(-q);
    if (e10 >= 0) R *= ten ** BigInt(e10); else L *= ten ** BigInt(-e10);
    return L === R;
  },
  /* C's printf("%.9g", x) (glibc), as `vitviz report` writes scores. */
  fmtG: function (x, p) {
    p = p || 9;
    if (x === 0) return (1 / x < 0) ? '-0' : '0';
    if (!isFinite(x)) return isNaN(x) ? 'nan' : (x < 0 ? '-inf' : 'inf');
    /* an exact tie at the p-th digit: glibc rounds it to even, toExponential up */
    var t = Math.abs(x).toExponential(p), kt = t.indexOf('e'), dig = t.slice(0, kt).replace('.', ''), Et = parseInt(t.slice(kt + 1), 10);
    if (dig[p] === '5' && +dig[p - 1] % 2 === 0 && VV.exactDecimal(x, dig, Et - p))
      x = Number((x < 0 ? '-' : '') + dig[0] + '.' + dig.slice(1, p) + 'e' + Et);
    var e = x.toExponential(p - 1), k = e.indexOf('e'), X = parseInt(e.slice(k + 1), 10);
    if (X < -4 || X >= p) {
      var m = e.slice(0, k);
      if (m.indexOf('.') >= 0) m = m.replace(/0+$/, '').replace(/\.$/, '');
      var a = Math.abs(X);
      return m + 'e' + (X < 0 ? '-' : '+') + (a < 10 ? '0' : '') + a;
    }
    var f = x.toFixed(p - 1 - X);
    if (f.indexOf('.') >= 0) f = f.replace(/0+$/, '').replace(/\.$/, '');
    return f;
  },
  /* One RFC 4180 field, quoted as vv_csv_field() does. */
  csvField: function (s) {
    s = String(s);
    return /[,"\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  },
  /* Is (x, y) inside the polygon pts = [x0, y0, x1, y1, ...]? (even-odd rule) */
  inPolygon: function (x, y, pts) {
    var inside = false, n = pts.length / 2;
    for (var i = 0, j = n - 1; i < n; j = i++) {
      var xi = pts[2 * i], yi = pts[2 * i + 1], xj = pts[2 * j], yj = pts[2 * j + 1];
      if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  },
  /* Checkpoint for "#step=N": the one at step N, else the last one before it (else the first). */
  frameForStep: function (steps, N) {
    var best = 0;
    for (var f = 0; f < steps.length; f++) {
      if (steps[f] === N) return f;
      if (steps[f] <= N) best = f;
    }
    return best;
  }
};
if (typeof module !== 'undefined') module.exports = VV;

/* --- the page --- */

(function () {
  if (typeof document === 'undefined') return;
  var D = JSON.parse(document.getElementById('vv-data').textContent);
  var T = D.T, n = D.n, C = D.classes.length;
  var index = VV.typed(D.index, Uint32Array), label = VV.typed(D.label, Uint16Array);
  var xyq = VV.typed(D.xy, Uint16Array), score = VV.typed(D.score, Float32Array);
  var rank = VV.typed(D.rank, D.rankBytes === 2 ? Uint16Array : Uint32Array);
  var pred = D.pred ? VV.typed(D.pred, D.predBytes === 1 ? Int8Array : D.predBytes === 2 ? Int16Array : Int32Array) : null;
  var quality = D.quality ? VV.typed(D.quality, Float64Array) : null;
  var thumbOk = D.thumbs ? VV.bytes(D.thumbs.ok) : null;
  var steps = D.ckpt.map(function (c) { return c.step; });
  var lo = D.lo, sc = [(D.hi[0] - D.lo[0]) / 65535, (D.hi[1] - D.lo[1]) / 65535];
  var $ = function (id) { return document.getElementById(id); };

  var st = {
    frame: 0,                 /* checkpoint shown (target of the tween) */
    pos: new Float32Array(2 * n),   /* displayed data coordinates */
    from: new Float32Array(2 * n),  /* tween start */
    t0: 0, dur: 0,            /* tween start time and duration (ms); dur 0: settled */
    hidden: new Uint8Array(C),
    selected: null,           /* Uint8Array(n) or null */
    nsel: 0,
    pinned: [],
    matches: null,            /* search hits, Int32Array */
    hover: -1,
    theme: D.theme === 'dark' ? 'dark' : 'light',
    big: false,
    playing: false,
    drawn: new Int32Array(C), /* points drawn per class in the last frame */
    draws: 0, drawMs: 0,      /* frames drawn, and the time spent drawing them (bench/html_bench.mjs) */
    sx: new Float32Array(n), sy: new Float32Array(n) /* screen positions (CSS px), NaN: not drawn */
  };
  var waiters = [];

  function X(f, i) { return lo[0] + xyq[(f * n + i) * 2] * sc[0]; }
  function Y(f, i) { return lo[1] + xyq[(f * n + i) * 2 + 1] * sc[1]; }
  function setFramePos(f, out) {
    for (var i = 0; i < n; i++) { out[2 * i] = X(f, i); out[2 * i + 1] = Y(f, i); }
  }

  /* --- colours --- */
  var rgb = [];
  function applyTheme() {
    var th = D.themes[st.theme], root = document.documentElement.style;
    for (var k in th) root.setProperty('--' + k, th[k]);
    document.body.classList.toggle('dark', st.theme === 'dark');
    $('theme').textContent = st.theme === 'dark' ? 'light' : 'dark';
    rgb = D.colors[st.theme].map(function (h) {
      var v = parseInt(h.slice(1), 16);
      return [v >> 16 & 255, v >> 8 & 255, v & 255];
    });
    var li = document.querySelectorAll('#legend li');
    for (var c = 0; c < li.length; c++) li[c].querySelector('.sw').style.background = hexColor(+li[c].dataset.cls);
    buildTop();
    drawLoss();
    requestDraw();
  }
  function hexColor(c) { return D.colors[st.theme][c] || '#888'; }

  /* --- scatter --- */
  var plot = $('plot'), overlay = $('overlay'), pctx = plot.getContext('2d', { willReadFrequently: true }), octx = overlay.getContext('2d');
  var img = null, buf = null, W = 0, H = 0, dpr = 1;
  var view = { s: 1, ox: 0, oy: 0 };
  var sprite = null;  /* coverage mask of a dot: {r, size, cov: Float32Array} */

  /* A dot: the pixels it covers (offsets in the ImageData buffer) and their
   * opacity out of 256, full and dimmed (unselected points while a selection
   * exists).  Coverage by 4x4 samples per pixel. */
  function makeSprite() {
    /* dots get smaller and lighter as the cloud gets denser, as in the video (render_frame.c) */
    var lg = Math.log10(Math.max(n, 1000) / 1000), op = Math.min(0.92, Math.max(0.45, 0.9 - 0.2 * lg));
    var r = Math.max(1.4, 0.5 * Math.max(1.6, 6.0 - 1.75 * lg)) * (st.big ? 1.5 : 1) * dpr;
    var half = Math.ceil(r) + 1, off = [], dx = [], dy = [], full = [], dim = [];
    for (var y = -half; y <= half; y++)
      for (var x = -half; x <= half; x++) {
        var c = 0;
        for (var j = 0; j < 4; j++)
          for (var i = 0; i < 4; i++) {
            var u = x + (i + 0.5) / 4 - 0.5, v = y + (j + 0.5) / 4 - 0.5;
            if (u * u + v * v <= r * r) c++;
          }
        if (!c) continue;
        off.push(y * W + x); dx.push(x); dy.push(y);
        full.push(Math.round(c / 16 * op * 256));
        dim.push(Math.round(c / 16 * op * 0.25 * 256));
      }
    sprite = { half: half, off: Int32Array.from(off), dx: Int32Array.from(dx), dy: Int32Array.from(dy),
      full: Int32Array.from(full), dim: Int32Array.from(dim) };
  }

  function resize() {
    var rect = plot.getBoundingClientRect();
    dpr = window.devicePixelRatio || 1;
    W = Math.max(1, Math.round(rect.width * dpr));
    H = Math.max(1, Math.round(rect.height * dpr));
    plot.width = overlay.width = W;
    plot.height = overlay.height = H;
    img = pctx.createImageData(W, H);
    buf = new Uint32Array(img.data.buffer);
    var w = rect.width, h = rect.height, m = st.big ? 24 : 16;
    var s = Math.min((w - 2 * m) / Math.max(D.hi[0] - D.lo[0], 1e-9), (h - 2 * m) / Math.max(D.hi[1] - D.lo[1], 1e-9));
    view.s = s;
    view.ox = w / 2 - s * (D.lo[0] + D.hi[0]) / 2;
    view.oy = h / 2 + s * (D.lo[1] + D.hi[1]) / 2;
    makeSprite();
    requestDraw();
    drawLoss();
  }

  function panelRGB() {
    var v = parseInt(D.themes[st.theme].panel.slice(1), 16);
    return [v >> 16 & 255, v >> 8 & 255, v & 255];
  }

  /* All points into the ImageData buffer (alpha blending in integers, red
   * and blue in one multiply), then one putImageData. */
  function drawPoints() {
    var bg = panelRGB(), bgv = (0xff000000 | bg[2] << 16 | bg[1] << 8 | bg[0]) >>> 0;
    buf.fill(bgv);
    st.drawn.fill(0);
    var half = sprite.half, off = sprite.off, m = off.length, sel = st.selected;
    var packed = rgb.map(function (c) { return (c[2] << 16 | c[0]) >>> 0; }), green = rgb.map(function (c) { return c[1] << 8; });
    for (var i = 0; i < n; i++) {
      var c = label[i];
      if (st.hidden[c]) { st.sx[i] = NaN; st.sy[i] = NaN; continue; }
      var x = view.ox + view.s * st.pos[2 * i], y = view.oy - view.s * st.pos[2 * i + 1];
      st.sx[i] = x; st.sy[i] = y;
      st.drawn[c]++;
      var cx = Math.round(x * dpr), cy = Math.round(y * dpr);
      if (cx + half < 0 || cy + half < 0 || cx - half >= W || cy - half >= H) continue;
      var crb = packed[c] === undefined ? 0x800080 : packed[c], cg = green[c] === undefined ? 0x8000 : green[c];
      var al = sel && !sel[i] ? sprite.dim : sprite.full, base = cy * W + cx;
      var inside = cx >= half && cy >= half && cx + half < W && cy + half < H;
      for (var k = 0; k < m; k++) {
        if (!inside) {
          var px = cx + sprite.dx[k], py = cy + sprite.dy[k];
          if (px < 0 || py < 0 || px >= W || py >= H) continue;
        }
        var q = base + off[k], d = buf[q], a = al[k], b = 256 - a;
        buf[q] = 0xff000000 | (((crb * a + (d & 0xff00ff) * b) >>> 8) & 0xff00ff) | (((cg * a + (d & 0xff00) * b) >>> 8) & 0xff00);
      }
    }
    pctx.putImageData(img, 0, 0);
  }

  function ring(ctx, i, r, color, width) {
    if (isNaN(st.sx[i])) return;
    ctx.beginPath();
    ctx.arc(st.sx[i], st.sy[i], r, 0, 2 * Math.PI);
    ctx.strokeStyle = color;
    ctx.lineWidth = width;
    ctx.stroke();
  }

  var drag = null;  /* {x0, y0, pts: [...], lasso} while the mouse is down */

  function drawOverlay() {
    octx.setTransform(dpr, 0, 0, dpr, 0, 0);
    octx.clearRect(0, 0, W, H);
    var fg = D.themes[st.theme].fg;
    /* trajectories of pinned samples */
    st.pinned.forEach(function (i) {
      octx.beginPath();
      for (var f = 0; f < T; f++) {
        var x = view.ox + view.s * X(f, i), y = view.oy - view.s * Y(f, i);
        if (f) octx.lineTo(x, y); else octx.moveTo(x, y);
      }
      octx.strokeStyle = hexColor(label[i]);
      octx.lineWidth = 1.5;
      octx.stroke();
      for (var g = 0; g < T; g++) {
        octx.beginPath();
        octx.arc(view.ox + view.s * X(g, i), view.oy - view.s * Y(g, i), g === st.frame ? 3 : 1.5, 0, 2 * Math.PI);
        octx.fillStyle = hexColor(label[i]);
        octx.fill();
      }
      ring(octx, i, 7, fg, 2);
    });
    if (st.matches) for (var m = 0; m < st.matches.length && m < 2000; m++) ring(octx, st.matches[m], 6, D.themes[st.theme].alert, 1.5);
    (D.ckpt[st.frame].top || []).forEach(function (i) { ring(octx, i, 5, fg, 1); });
    if (st.hover >= 0) ring(octx, st.hover, 6, fg, 2);
    if (drag && drag.moved) {
      octx.beginPath();
      if (drag.lasso) {
        for (var k = 0; k < drag.pts.length; k += 2) k ? octx.lineTo(drag.pts[k], drag.pts[k + 1]) : octx.moveTo(drag.pts[k], drag.pts[k + 1]);
        octx.closePath();
      } else {
        octx.rect(drag.x0, drag.y0, drag.x1 - drag.x0, drag.y1 - drag.y0);
      }
      octx.setLineDash([4, 3]);
      octx.strokeStyle = fg;
      octx.lineWidth = 1;
      octx.stroke();
      octx.setLineDash([]);
    }
  }

  var pending = false;
  function requestDraw() {
    if (!pending) { pending = true; requestAnimationFrame(frameTick); }
  }
  function ease(t) { return t < 0.5 ? 2 * t * t : 1 - Math.pow(-2 * t + 2, 2) / 2; }
  function frameTick(now) {
    pending = false;
    var target = st.frame;
    if (st.dur > 0) {
      var t = Math.min(1, (now - st.t0) / st.dur), e = ease(t);
      for (var i = 0; i < n; i++) {
        st.pos[2 * i] = st.from[2 * i] + (X(target, i) - st.from[2 * i]) * e;
        st.pos[2 * i + 1] = st.from[2 * i + 1] + (Y(target, i) - st.from[2 * i + 1]) * e;
      }
      if (t >= 1) { st.dur = 0; setFramePos(target, st.pos); }
    }
    if (img) {
      var t1 = performance.now();
      drawPoints();
      drawOverlay();
      st.draws++;
      st.drawMs += performance.now() - t1;
      if (st.draws === 1 && performance.mark) performance.mark('vv-first-draw');
    }
    if (st.dur > 0) requestDraw();
    else { var w = waiters; waiters = []; w.forEach(function (f) { f(); }); }
  }

  /* --- checkpoints --- */
  function fmtNum(v, d) { return v === null || v === undefined || !isFinite(v) ? '–' : (+v).toFixed(d); }
  function goTo(f, animate) {
    f = Math.max(0, Math.min(T - 1, f | 0));
    st.from.set(st.pos);
    st.frame = f;
    if (animate === false) { st.dur = 0; setFramePos(f, st.pos); }
    else { st.t0 = performance.now(); st.dur = 350; }
    var c = D.ckpt[f];
    $('slider').value = f;
    $('stepinfo').textContent = 'step ' + c.step + (c.epoch !== null ? ' · epoch ' + fmtNum(c.epoch, 2) : '') +
      ' · loss ' + fmtNum(c.loss, 4) + '  (' + (f + 1) + '/' + T + ')';
    $('stepinfo').dataset.step = c.step;
    if (location.hash !== '#step=' + c.step) history.replaceState(null, '', '#step=' + c.step);
    buildTop();
    drawLoss();
    if (st.hover >= 0) showTip(st.hover);
    requestDraw();
  }

  /* --- loss curve --- */
  function drawLoss() {
    var cv = $('loss'), r = cv.getBoundingClientRect(), ctx = cv.getContext('2d');
    var d = window.devicePixelRatio || 1, w = r.width, h = r.height, th = D.themes[st.theme];
    cv.width = Math.max(1, Math.round(w * d));
    cv.height = Math.max(1, Math.round(h * d));
    ctx.setTransform(d, 0, 0, d, 0, 0);
    ctx.clearRect(0, 0, w, h);
    var L = D.loss, xs = L.step.slice(), ys = [];
    L.loss.concat(L.eval).forEach(function (v) { if (v !== null) ys.push(v); });
    D.ckpt.forEach(function (c) { if (c.loss !== null) ys.push(c.loss); xs.push(c.step); });
    if (!ys.length || !xs.length) return;
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs), y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
    if (x1 === x0) x1 = x0 + 1;
    if (y1 === y0) y1 = y0 + 1;
    var px = function (v) { return 4 + (v - x0) / (x1 - x0) * (w - 8); }, py = function (v) { return h - 4 - (v - y0) / (y1 - y0) * (h - 8); };
    ctx.strokeStyle = th.axis; ctx.lineWidth = 1;
    ctx.strokeRect(0.5, 0.5, w - 1, h - 1);
    [[L.loss, th.train], [L.eval, th.eval]].forEach(function (s) {
      ctx.beginPath();
      var started = false;
      for (var i = 0; i < L.step.length; i++) {
        if (s[0][i] === null) continue;
        if (started) ctx.lineTo(px(L.step[i]), py(s[0][i])); else { ctx.moveTo(px(L.step[i]), py(s[0][i])); started = true; }
      }
      ctx.strokeStyle = s[1]; ctx.lineWidth = 1.5; ctx.stroke();
    });
    var c = D.ckpt[st.frame];
    ctx.beginPath(); ctx.moveTo(px(c.step), 0); ctx.lineTo(px(c.step), h);
    ctx.strokeStyle = th.fg; ctx.lineWidth = 1; ctx.stroke();
    if (c.loss !== null) { ctx.beginPath(); ctx.arc(px(c.step), py(c.loss), 3, 0, 2 * Math.PI); ctx.fillStyle = th.fg; ctx.fill(); }
  }

  /* --- thumbnails --- */
  var atlases = [];
  function thumbInto(canvas, i, done) {
    var ctx = canvas.getContext('2d'), T_ = D.thumbs;
    canvas.width = canvas.height = T_ ? T_.side : 1;
    canvas.dataset.loaded = '0';
    if (!T_ || i >= T_.count || !thumbOk[i]) { canvas.dataset.loaded = 'none'; return; }
    var per = T_.cols * T_.cols, a = Math.floor(i / per), c = i % per;
    var im = atlases[a];
    if (!im) {
      im = atlases[a] = new Image();
      im.src = 'data:image/jpeg;base64,' + T_.jpeg[a];
    }
    var draw = function () {
      ctx.drawImage(im, (c % T_.cols) * T_.side, Math.floor(c / T_.cols) * T_.side, T_.side, T_.side, 0, 0, T_.side, T_.side);
      canvas.dataset.loaded = '1';
      if (done) done();
    };
    if (im.complete && im.naturalWidth) draw();
    else im.addEventListener('load', draw, { once: true });
  }

  /* --- tooltip --- */
  function predName(f, p) { var names = D.ckpt[f].pnames; return p >= 0 && p < names.length ? names[p] : ''; }
  function rowsFor(i) {
    var f = st.frame, k = f * n + i, c = D.ckpt[f], rows = [];
    rows.push(['index', index[i]]);
    rows.push(['label', D.classes[label[i]] + ' (' + label[i] + ')']);
    if (pred && c.logits) {
      rows.push(['predicted', predName(f, pred[k]) + ' (' + pred[k] + ')' + (c.match && pred[k] !== label[i] ? ' ✗' : '')]);
      if (quality && !isNaN(quality[k])) rows.push(['label quality', quality[k].toFixed(4)]);
    }
    rows.push(['outlier score', VV.fmtG(score[k], 4)]);
    rows.push(['rank', rank[k] + ' of ' + D.N]);
    if (D.dyn) D.dyn.cols.forEach(function (col) {
      var v = col.v[i];
      if (v !== null && v !== undefined) rows.push([col.name, typeof v === 'number' ? +v.toPrecision(4) : v]);
    });
    return rows;
  }
  function showTip(i) {
    var tip = $('tip');
    tip.textContent = '';
    var cv = document.createElement('canvas');
    cv.className = 'thumb';
    tip.appendChild(cv);
    thumbInto(cv, i);
    var p = document.createElement('div');
    p.className = 'path';
    p.textContent = D.path[i];
    tip.appendChild(p);
    var tb = document.createElement('table');
    rowsFor(i).forEach(function (r) {
      var tr = tb.insertRow();
      tr.insertCell().textContent = r[0];
      tr.insertCell().textContent = r[1];
      tr.dataset.key = r[0];
    });
    tip.appendChild(tb);
    tip.dataset.index = i;
    tip.hidden = false;
    var wrap = $('plotwrap').getBoundingClientRect(), x = st.sx[i], y = st.sy[i];
    if (isNaN(x)) { x = 10; y = 10; }
    var tw = tip.offsetWidth, th = tip.offsetHeight;
    tip.style.left = Math.max(0, Math.min(wrap.width - tw, x + 14)) + 'px';
    tip.style.top = Math.max(0, Math.min(wrap.height - th, y + 14)) + 'px';
  }
  function hideTip() { $('tip').hidden = true; $('tip').dataset.index = ''; }

  function nearest(x, y, maxd) {
    var best = -1, bd = maxd * maxd;
    for (var i = 0; i < n; i++) {
      var dx = st.sx[i] - x, dy = st.sy[i] - y, d = dx * dx + dy * dy;
      if (d < bd) { bd = d; best = i; }
    }
    return best;
  }

  /* --- legend, top outliers, pins, selection --- */
  function buildLegend() {
    var ul = $('legend'), counts = new Int32Array(C);
    for (var i = 0; i < n; i++) counts[label[i]]++;
    ul.textContent = '';
    (D.order || D.classes.map(function (_, c) { return c; })).forEach(function (c) {
      var name = D.classes[c];
      var li = document.createElement('li'), sw = document.createElement('span'), nm = document.createElement('span');
      var cnt = document.createElement('span'), solo = document.createElement('button');
      li.dataset.cls = c;
      li.title = 'click: hide / show';
      sw.className = 'sw'; sw.style.background = hexColor(c);
      nm.className = 'name'; nm.textContent = name;
      cnt.className = 'count'; cnt.textContent = counts[c];
      solo.className = 'solo'; solo.type = 'button'; solo.textContent = 'solo'; solo.title = 'show only this class (again: show all)';
      li.append(sw, nm, cnt, solo);
      li.addEventListener('click', function (ev) {
        if (ev.target === solo) {
          var only = !st.hidden[c] && st.hidden.every(function (h, k) { return k === c || h; });
          for (var k = 0; k < C; k++) st.hidden[k] = only ? 0 : (k === c ? 0 : 1);
        } else {
          st.hidden[c] = st.hidden[c] ? 0 : 1;
        }
        var lis = ul.children;
        for (var j = 0; j < lis.length; j++) lis[j].classList.toggle('off', !!st.hidden[+lis[j].dataset.cls]);
        if (st.hover >= 0 && st.hidden[label[st.hover]]) { st.hover = -1; hideTip(); }
        requestDraw();
      });
      ul.appendChild(li);
    });
  }

  function sampleLi(i, extra) {
    var li = document.createElement('li'), sw = document.createElement('span'), p = document.createElement('span');
    sw.className = 'sw'; sw.style.background = hexColor(label[i]);
    p.className = 'p'; p.textContent = D.path[i]; p.title = D.path[i];
    li.append(sw, p);
    if (extra) li.appendChild(extra);
    li.dataset.index = i;
    li.addEventListener('mouseenter', function () { st.hover = i; showTip(i); requestDraw(); });
    li.addEventListener('mouseleave', function () { st.hover = -1; hideTip(); requestDraw(); });
    return li;
  }
  function buildTop() {
    var ol = $('top'), f = st.frame;
    ol.textContent = '';
    (D.ckpt[f].top || []).forEach(function (i) {
      var s = document.createElement('span'), k = f * n + i;
      s.className = 's' + (pred && D.ckpt[f].match && pred[k] !== label[i] ? ' bad' : '');
      s.textContent = VV.fmtG(score[k], 3);
      var li = sampleLi(i, s);
      li.addEventListener('click', function () { togglePin(i); });
      ol.appendChild(li);
    });
  }
  function buildPinned() {
    var ul = $('pinned');
    ul.textContent = '';
    st.pinned.forEach(function (i) {
      var x = document.createElement('button');
      x.type = 'button'; x.textContent = '×'; x.title = 'unpin';
      var li = sampleLi(i, x);
      x.addEventListener('click', function () { togglePin(i); });
      ul.appendChild(li);
    });
  }
  function togglePin(i) {
    var k = st.pinned.indexOf(i);
    if (k >= 0) st.pinned.splice(k, 1); else st.pinned.push(i);
    buildPinned();
    requestDraw();
  }

  function setSelection(sel) {
    var cnt = 0;
    if (sel) for (var i = 0; i < n; i++) cnt += sel[i];
    st.selected = cnt ? sel : null;
    st.nsel = cnt;
    $('selcount').textContent = cnt ? cnt + ' selected' : 'none';
    $('download').disabled = !cnt;
    $('clearsel').disabled = !cnt;
    requestDraw();
  }

  /* The selected samples at the shown checkpoint, in `vitviz report`'s columns and rank order. */
  function selectionCSV() {
    var f = st.frame, c = D.ckpt[f], withPred = !!(pred && c.logits), ids = [];
    for (var i = 0; i < n; i++) if (st.selected && st.selected[i]) ids.push(i);
    ids.sort(function (a, b) { return rank[f * n + a] - rank[f * n + b]; });
    var out = 'rank,index,path,label,label_name,score' + (withPred ? ',predicted,predicted_name,misclassified,label_quality' : '') + '\r\n';
    ids.forEach(function (i) {
      var k = f * n + i, row = [rank[k], index[i], VV.csvField(D.path[i]), label[i],
        VV.csvField(D.lname ? D.lname[i] : D.classes[label[i]]), VV.fmtG(score[k])];
      if (withPred) {
        row.push(pred[k], VV.csvField(predName(f, pred[k])), c.match ? (pred[k] !== label[i] ? 1 : 0) : '',
          c.match && quality && !isNaN(quality[k]) ? VV.fmtG(quality[k]) : '');
      }
      out += row.join(',') + '\r\n';
    });
    return out;
  }
  function download() {
    var blob = new Blob([selectionCSV()], { type: 'text/csv' }), a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = 'vitviz-selection-step-' + D.ckpt[st.frame].step + '.csv';
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(a.href); }, 10000);
  }

  /* --- search --- */
  function search(q) {
    q = q.trim().toLowerCase();
    if (!q) { st.matches = null; $('found').textContent = ''; requestDraw(); return; }
    var hits = [], num = /^\d+$/.test(q) ? parseInt(q, 10) : -1;
    for (var i = 0; i < n; i++)
      if (index[i] === num || D.path[i].toLowerCase().indexOf(q) >= 0) hits.push(i);
    st.matches = Int32Array.from(hits);
    $('found').textContent = hits.length + (hits.length === 1 ? ' match' : ' matches');
    requestDraw();
  }

  /* --- playback --- */
  var timer = 0;
  function play(on) {
    st.playing = on;
    $('play').textContent = on ? 'pause' : 'play';
    clearTimeout(timer);
    if (!on) return;
    var tick = function () {
      if (!st.playing) return;
      goTo(st.frame + 1 < T ? st.frame + 1 : 0);
      timer = setTimeout(tick, 700);
    };
    timer = setTimeout(tick, st.frame === T - 1 ? 0 : 300);
    if (st.frame === T - 1) { clearTimeout(timer); goTo(0); timer = setTimeout(tick, 700); }
  }

  /* --- events --- */
  function local(ev) {
    var r = overlay.getBoundingClientRect();
    return [ev.clientX - r.left, ev.clientY - r.top];
  }
  overlay.addEventListener('mousemove', function (ev) {
    var p = local(ev);
    if (drag) {
      if (Math.abs(p[0] - drag.x0) + Math.abs(p[1] - drag.y0) > 4) drag.moved = true;
      drag.x1 = p[0]; drag.y1 = p[1];
      drag.pts.push(p[0], p[1]);
      requestDraw();
      return;
    }
    var i = nearest(p[0], p[1], st.big ? 12 : 8);
    if (i !== st.hover) {
      st.hover = i;
      if (i >= 0) showTip(i); else hideTip();
      requestDraw();
    }
  });
  overlay.addEventListener('mouseleave', function () { if (!drag) { st.hover = -1; hideTip(); requestDraw(); } });
  overlay.addEventListener('mousedown', function (ev) {
    if (ev.button !== 0) return;
    var p = local(ev);
    drag = { x0: p[0], y0: p[1], x1: p[0], y1: p[1], pts: [p[0], p[1]], lasso: ev.shiftKey, moved: false };
    ev.preventDefault();
  });
  window.addEventListener('mouseup', function (ev) {
    if (!drag) return;
    var d = drag;
    drag = null;
    if (!d.moved) {
      var i = nearest(d.x0, d.y0, st.big ? 12 : 8);
      if (i >= 0) togglePin(i);
      requestDraw();
      return;
    }
    var sel = new Uint8Array(n), xa = Math.min(d.x0, d.x1), xb = Math.max(d.x0, d.x1), ya = Math.min(d.y0, d.y1), yb = Math.max(d.y0, d.y1);
    for (var k = 0; k < n; k++) {
      var x = st.sx[k], y = st.sy[k];
      if (isNaN(x)) continue;
      if (d.lasso ? VV.inPolygon(x, y, d.pts) : (x >= xa && x <= xb && y >= ya && y <= yb)) sel[k] = 1;
    }
    setSelection(sel);
    ev.preventDefault();
  });
  $('slider').addEventListener('input', function () { goTo(+this.value); });
  $('play').addEventListener('click', function () { play(!st.playing); });
  $('theme').addEventListener('click', function () { st.theme = st.theme === 'dark' ? 'light' : 'dark'; applyTheme(); });
  $('big').addEventListener('click', function () {
    st.big = !st.big;
    document.body.classList.toggle('big', st.big);
    $('big').textContent = st.big ? 'normal text' : 'large text';
    resize();
  });
  $('download').addEventListener('click', download);
  $('clearsel').addEventListener('click', function () { setSelection(null); });
  $('search').addEventListener('input', function () { search(this.value); });
  $('search').addEventListener('keydown', function (ev) {
    if (ev.key === 'Enter' && st.matches && st.matches.length) togglePin(st.matches[0]);
    ev.stopPropagation();
  });
  document.addEventListener('keydown', function (ev) {
    if (ev.target && ev.target.tagName === 'INPUT' && ev.target.type !== 'range') return;
    if (ev.key === 'ArrowRight') { goTo(st.frame + 1); ev.preventDefault(); }
    else if (ev.key === 'ArrowLeft') { goTo(st.frame - 1); ev.preventDefault(); }
    else if (ev.key === ' ') { play(!st.playing); ev.preventDefault(); }
  });
  window.addEventListener('hashchange', fromHash);
  window.addEventListener('resize', resize);
  function fromHash() {
    var m = /step=(\d+)/.exec(location.hash);
    if (m) goTo(VV.frameForStep(steps, parseInt(m[1], 10)), false);
  }

  /* --- start --- */
  $('note').textContent = D.note || '';
  var dl = $('stops');
  $('slider').max = T - 1;
  for (var f = 0; f < T; f++) {
    var o = document.createElement('option');
    o.value = f;
    o.label = String(D.ckpt[f].step);
    dl.appendChild(o);
  }
  buildLegend();
  applyTheme();
  resize();
  var m0 = /step=(\d+)/.exec(location.hash);
  goTo(m0 ? VV.frameForStep(steps, parseInt(m0[1], 10)) : T - 1, false);

  window.vitviz = {
    data: D,
    /* checkpoint shown */
    frame: function () { return st.frame; },
    /* resolves once no tween is running and the last frame is drawn */
    settled: function () { return new Promise(function (res) { waiters.push(res); requestDraw(); }); },
    /* screen = (ox + s * x, oy - s * y) in CSS pixels of the plot canvas */
    view: function () { var r = plot.getBoundingClientRect(); return { s: view.s, ox: view.ox, oy: view.oy, left: r.left, top: r.top, width: r.width, height: r.height }; },
    /* displayed data coordinates, [x0, y0, x1, y1, ...] */
    positions: function () { return Array.from(st.pos); },
    /* points drawn per class in the last frame */
    drawn: function () { return Array.from(st.drawn); },
    /* original sample index of each shown point */
    index: function () { return Array.from(index); },
    goTo: goTo,
    /* frames drawn so far and the milliseconds spent in drawing them */
    stats: function () { return { draws: st.draws, drawMs: st.drawMs }; },
    selectionCSV: selectionCSV
  };
})();
