// End-to-end test of the verify page in a real browser (Debian's chromium,
// driven by playwright-core from the npm registry): a real registry started
// by tools/run.sh, a real certificate made with the loupe CLI; the page's
// verdict, its in-browser signature check, a non-blank 3D view, a dropped
// file's digest check (a match and a mismatch), the printable view's QR
// code, and the verdict once the piece is reported stolen. Screenshots go
// to the artifact directory.
//
// Usage: node verify_page_test.mjs BUILD_DIR ARTIFACT_DIR
import {execFileSync, spawn} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const [buildArg, artifactsArg] = process.argv.slice(2);
const build = buildArg && path.resolve(buildArg);
const artifacts = artifactsArg && path.resolve(artifactsArg);
if (!build || !artifacts) {
  console.error('usage: node verify_page_test.mjs BUILD_DIR ARTIFACT_DIR');
  process.exit(2);
}
const {chromium} = await import(
    path.join(root, 'server/http/web/node_modules/playwright-core/index.mjs'));
fs.mkdirSync(artifacts, {recursive: true});

let failures = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures++;
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-web-'));
const log = path.join(work, 'run.log');
const server = spawn(path.join(root, 'tools/run.sh'), [], {
  env: {...process.env, LOUPE_NO_BUILD: '1', LOUPE_BUILD_DIR: build,
        LOUPE_DATA_DIR: path.join(work, 'data'), LOUPE_LISTEN: '127.0.0.1:0',
        LOUPE_HTTP_LISTEN: '127.0.0.1:0'},
  stdio: ['ignore', fs.openSync(log, 'w'), fs.openSync(log, 'a')],
  detached: true,
});
let browser;
try {
  let grpc, http;
  for (let i = 0; i < 300 && !http; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const text = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
    grpc = text.match(/listening on port (\d+)/)?.[1];
    http = text.match(/HTTP gateway on port (\d+)/)?.[1];
  }
  if (!http) throw new Error(`the registry did not start:\n${fs.readFileSync(log, 'utf8')}`);
  const tokens = Object.fromEntries(
      fs.readFileSync(path.join(work, 'data/dev-tokens.env'), 'utf8')
          .split('\n').filter((l) => l.includes('=')).map((l) => l.split('=')));
  const loupe = (args, token = tokens.LOUPE_TOKEN_STUDIO_AURUM) =>
      execFileSync(path.join(build, 'client/loupe'), args, {
        cwd: work, encoding: 'utf8',
        env: {...process.env, LOUPE_SERVER: `127.0.0.1:${grpc}`, LOUPE_TOKEN: token,
              LOUPE_CA: path.join(work, 'data/tls/ca.pem')},
      });
  execFileSync('python3', [path.join(root, 'tools/gen/ring_stl.py'), 'ring.stl'], {cwd: work});
  const created = JSON.parse(loupe(['--json', 'piece', 'create', '--studio', 'aurum',
                                    '--reference', 'WEB-1', '--kind', 'ring',
                                    '--title', 'Web test solitaire', '--cad', 'ring.stl']));
  const piece = created.piece_id;
  // Version 2: the assay, so the page can estimate the weight.
  fs.writeFileSync(path.join(work, 'facts.json'), JSON.stringify(
      {assay: {alloy: '18k rose gold', fineness_per_mille: 750}}));
  loupe(['version', 'add', piece, '--reason', 'repair', '--note', 'prongs retipped',
         '--from', 'facts.json', '--cad', 'ring.stl']);
  loupe(['cert', 'issue', piece, '-o', 'cert.json']);
  const certificate = JSON.parse(loupe(['--json', 'cert', 'list', piece]).split('\n')[0]).id;
  // The gateway speaks TLS with the development CA (tools/dev_tls.sh).
  const url = `https://localhost:${http}/verify/${certificate}`;

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
  });
  const context = await browser.newContext(
      {viewport: {width: 900, height: 1400}, ignoreHTTPSErrors: true});
  const page = await context.newPage();
  page.on('console', (m) => console.log(`  [browser] ${m.text()}`));
  await page.goto(url);
  check(await page.textContent('#verdict h1') === 'Authentic', 'verdict: Authentic');
  const body = await page.textContent('body');
  check(/Weight \(estimated\)\s*[0-9.]+ g of 18k rose gold/.test(body),
        'the weight estimated from the volume and the assay');
  check((await page.locator('table.history tr').count()) === 3 &&
            body.includes('prongs retipped'),
        'the version history, with the repair');
  await page.waitForSelector('#signature-check:not([data-result="pending"])');
  check(await page.getAttribute('#signature-check', 'data-result') === 'valid',
        `signature checked in the browser: ${await page.textContent('#signature-check')}`);
  await page.waitForSelector('#log-check:not([data-result="pending"])');
  check(await page.getAttribute('#log-check', 'data-result') === 'valid',
        `log inclusion checked in the browser: ${await page.textContent('#log-check')}`);
  await page.waitForSelector('#twin[data-result]', {timeout: 30000});
  check(await page.getAttribute('#twin', 'data-result') === 'drawn', '3D view drawn');
  await page.waitForTimeout(500);
  // Non-blank: pixels of the canvas that are not the background.
  const drawn = await page.evaluate(() => {
    const gl = document.getElementById('twin');
    const c = document.createElement('canvas');
    c.width = gl.width;
    c.height = gl.height;
    const ctx = c.getContext('2d');
    ctx.drawImage(gl, 0, 0);
    const px = ctx.getImageData(0, 0, c.width, c.height).data;
    let differ = 0;
    for (let i = 0; i < px.length; i += 4) {
      if (Math.abs(px[i] - 247) + Math.abs(px[i + 1] - 247) + Math.abs(px[i + 2] - 247) > 30) differ++;
    }
    return differ / (px.length / 4);
  });
  check(drawn > 0.02, `the canvas shows the piece (${(drawn * 100).toFixed(1)} % of pixels)`);
  await page.screenshot({path: path.join(artifacts, 'verify-authentic.png'), fullPage: true});

  // Drop the ring's file, then a file that is not in the certificate.
  const drop = async (name, bytes) => {
    await page.evaluate(([name, b64]) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], name));
      document.getElementById('drop').dispatchEvent(
          new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
    }, [name, Buffer.from(bytes).toString('base64')]);
    await page.waitForFunction(
        (n) => document.getElementById('file-check').textContent.startsWith(n), name);
    return page.getAttribute('#file-check', 'data-result');
  };
  check(await drop('ring.stl', fs.readFileSync(path.join(work, 'ring.stl'))) === 'match',
        `dropped ring.stl: ${await page.textContent('#file-check')}`);
  check(await drop('other.stl', Buffer.from('not the ring')) === 'nomatch',
        'a file not in the certificate matches nothing');
  await page.screenshot({path: path.join(artifacts, 'verify-file-dropped.png'), fullPage: true});

  // A page handed other keys than the ones that signed: the browser's
  // check fails (so the check above is not a formality).
  const forged = await context.newPage();
  await forged.route('**/api/v1/trust-root', async (route) => {
    const real = await (await route.fetch()).json();
    for (const root of real.roots) {
      const body = JSON.parse(Buffer.from(root.payload, 'base64').toString());
      for (const k of body.keys) {
        k.public_key = (k.public_key[0] === 'a' ? 'b' : 'a') + k.public_key.slice(1);
      }
      root.payload = Buffer.from(JSON.stringify(body)).toString('base64');
    }
    await route.fulfill({json: real});
  });
  await forged.goto(url);
  await forged.waitForSelector('#signature-check:not([data-result="pending"])');
  check(await forged.getAttribute('#signature-check', 'data-result') === 'invalid',
        `with other keys: ${await forged.textContent('#signature-check')}`);
  await forged.close();

  // The printable view has a QR code linking back to the page.
  await page.goto(`${url}?print=1`);
  await page.waitForSelector('#qr[data-result="drawn"] svg');
  check((await page.textContent('#qr-url')) === url, 'the QR code links to the verify page');
  await page.screenshot({path: path.join(artifacts, 'verify-print.png'), fullPage: true});

  // Reported stolen: the page says so first.
  loupe(['status', 'stolen', piece, '--reason', 'police report 77'],
        tokens.LOUPE_TOKEN_INSURER);
  await page.goto(url);
  check(await page.textContent('#verdict h1') === 'Reported stolen',
        `verdict after the report: ${await page.textContent('#verdict')}`);
  check(await page.getAttribute('#verdict', 'data-verdict') === 'bad', 'shown as bad');
  await page.screenshot({path: path.join(artifacts, 'verify-stolen.png'), fullPage: true});
} catch (e) {
  console.error(e);
  failures++;
} finally {
  if (browser) await browser.close();
  try { process.kill(-server.pid, 'SIGTERM'); } catch {}
  fs.rmSync(work, {recursive: true, force: true});
}
console.log(failures === 0 ? 'PASS' : `${failures} FAILED`);
process.exit(failures === 0 ? 0 : 1);
