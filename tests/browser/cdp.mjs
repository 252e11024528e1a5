// cdp.mjs - start Debian's Chromium headless and talk the DevTools protocol
// to it over --remote-debugging-pipe (file descriptors 3 and 4, messages
// separated by NUL bytes).  No npm packages, no network, no browser download.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

export function findChromium() {
  if (process.env.CHROMIUM) return process.env.CHROMIUM;
  return CHROMIUM_CANDIDATES.find((p) => existsSync(p)) || null;
}

export class Browser {
  // Start Chromium; rejects (BrowserStartError) when it cannot start.
  static async launch({ width = 900, height = 600, timeoutMs = 20000 } = {}) {
    const exe = findChromium();
    if (!exe) throw new BrowserStartError('no chromium binary (/usr/bin/chromium)');
    const profile = mkdtempSync(join(tmpdir(), 'vv-chromium-'));
    const args = [
      '--headless', '--no-sandbox', '--disable-gpu', '--remote-debugging-pipe',
      `--user-data-dir=${profile}`, '--no-first-run', '--no-default-browser-check',
      '--disable-extensions', '--disable-background-networking', '--disable-sync',
      '--disable-component-update', '--disable-default-apps', '--mute-audio', '--hide-scrollbars',
      '--force-device-scale-factor=1', '--force-color-profile=srgb', '--font-render-hinting=none',
      // no network at all: every host resolves to nothing, no proxy lookups
      '--host-resolver-rules=MAP * ~NOTFOUND', '--no-proxy-server', '--disable-dev-shm-usage',
      `--window-size=${width},${height}`, 'about:blank',
    ];
    const proc = spawn(exe, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
    const b = new Browser(proc, profile);
    let stderr = '';
    proc.stderr.on('data', (d) => { stderr += d; });
    const started = new Promise((resolve, reject) => {
      proc.on('error', (e) => reject(new BrowserStartError(`${exe}: ${e.message}`)));
      proc.on('exit', (code) => reject(new BrowserStartError(`${exe} exited with ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`)));
      b.send('Browser.getVersion').then(resolve, reject);
    });
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new BrowserStartError(`${exe} did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      b.version = await Promise.race([started, timeout]);
    } catch (e) {
      b.close();
      throw e;
    } finally {
      clearTimeout(timer);
    }
    proc.removeAllListeners('exit');
    proc.on('exit', () => { b.dead = true; for (const p of b.pending.values()) p.reject(new Error('chromium exited')); });
    return b;
  }

  constructor(proc, profile) {
    this.proc = proc;
    this.profile = profile;
    this.out = proc.stdio[3];
    this.inp = proc.stdio[4];
    this.id = 0;
    this.pending = new Map();
    this.listeners = [];
    this.buf = Buffer.alloc(0);
    this.inp.on('data', (chunk) => this.onData(chunk));
    // a browser that died (or never started) breaks the pipes: fail what waits
    const broken = (e) => {
      this.dead = true;
      for (const p of this.pending.values()) p.reject(new BrowserStartError(`chromium pipe: ${e.message}`));
      this.pending.clear();
    };
    this.out.on('error', broken);
    this.inp.on('error', broken);
  }

  onData(chunk) {
    this.buf = Buffer.concat([this.buf, chunk]);
    let z;
    while ((z = this.buf.indexOf(0)) >= 0) {
      const msg = JSON.parse(this.buf.subarray(0, z).toString('utf8'));
      this.buf = this.buf.subarray(z + 1);
      if (msg.id !== undefined && this.pending.has(msg.id)) {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}`));
        else p.resolve(msg.result);
      } else if (msg.method) {
        for (const l of this.listeners) l(msg);
      }
    }
  }

  // Send a command (to a page session when sessionId is given); resolves with its result.
  send(method, params = {}, sessionId) {
    if (this.dead) return Promise.reject(new Error(`${method}: chromium is gone`));
    const id = ++this.id;
    const msg = { id, method, params };
    if (sessionId) msg.sessionId = sessionId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      this.out.write(JSON.stringify(msg) + '\0');
    });
  }

  on(fn) { this.listeners.push(fn); }

  // Wait for an event matching pred (no timing guesses: the event itself).
  waitFor(pred, timeoutMs = 10000, what = 'event') {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
      const l = (msg) => {
        if (pred(msg)) {
          clearTimeout(t);
          this.listeners = this.listeners.filter((x) => x !== l);
          resolve(msg);
        }
      };
      this.listeners.push(l);
    });
  }

  // A page target attached in flat mode: returns a Page.
  async newPage() {
    const { targetId } = await this.send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await this.send('Target.attachToTarget', { targetId, flatten: true });
    return new Page(this, sessionId);
  }

  close() {
    try { this.proc.kill('SIGKILL'); } catch (e) { /* already gone */ }
    try { rmSync(this.profile, { recursive: true, force: true }); } catch (e) { /* best effort */ }
  }
}

export class BrowserStartError extends Error {}

export class Page {
  constructor(browser, sessionId) {
    this.b = browser;
    this.sid = sessionId;
  }

  send(method, params) { return this.b.send(method, params, this.sid); }

  // Evaluate an expression in the page (promises awaited); returns its value, throws page exceptions.
  async eval(expression) {
    const r = await this.send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true });
    if (r.exceptionDetails) {
      const d = r.exceptionDetails;
      throw new Error(`page: ${d.exception ? d.exception.description : d.text}`);
    }
    return r.result.value;
  }

  async navigate(url) {
    const loaded = this.b.waitFor((m) => m.sessionId === this.sid && m.method === 'Page.loadEventFired', 20000, 'page load');
    const r = await this.send('Page.navigate', { url });
    if (r.errorText) throw new Error(`navigate ${url}: ${r.errorText}`);
    await loaded;
  }

  async mouse(type, x, y, extra = {}) {
    await this.send('Input.dispatchMouseEvent', { type, x, y, button: 'none', ...extra });
  }

  async click(x, y, modifiers = 0) {
    await this.mouse('mouseMoved', x, y, { modifiers });
    await this.mouse('mousePressed', x, y, { button: 'left', buttons: 1, clickCount: 1, modifiers });
    await this.mouse('mouseReleased', x, y, { button: 'left', buttons: 0, clickCount: 1, modifiers });
  }

  async drag(x0, y0, x1, y1, modifiers = 0, steps = 8) {
    await this.mouse('mouseMoved', x0, y0, { modifiers });
    await this.mouse('mousePressed', x0, y0, { button: 'left', buttons: 1, clickCount: 1, modifiers });
    for (let k = 1; k <= steps; k++)
      await this.mouse('mouseMoved', x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps, { button: 'left', buttons: 1, modifiers });
    await this.mouse('mouseReleased', x1, y1, { button: 'left', buttons: 0, clickCount: 1, modifiers });
  }

  async key(key, code, keyCode) {
    const p = { key, code, windowsVirtualKeyCode: keyCode, nativeVirtualKeyCode: keyCode };
    await this.send('Input.dispatchKeyEvent', { type: 'rawKeyDown', ...p });
    await this.send('Input.dispatchKeyEvent', { type: 'keyUp', ...p });
  }
}
