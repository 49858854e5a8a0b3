// End-to-end test of the verify page in a real browser (Debian's chromium,
// driven by playwright-core from the npm registry): a real registry started
// by tools/run.sh, a real certificate made with the loupe CLI; the page's
// verdict from the pinned link (the trust roots, signature, log proof and
// status checked in the browser), the unpinned link (says it trusts the
// server, never green), a non-blank 3D view, a dropped file's digest check
// (a match and a mismatch), the printable view's QR code with the pin, and
// the verdict once the piece is reported stolen. In the buyer's words:
// the page in each language (from Accept-Language, and from the switch,
// which keeps the pin), human labels, the ring size measured on the model,
// dates in the reader's locale; "view in your space": the GLB preview
// validated by gltf-validator and loaded by <model-viewer>; the printed QR
// code as a GS1 Digital Link (the piece has a GTIN and serial), which
// opens the page; the identification form (identify_form_check.mjs).
// Attacks, each refused by
// the browser's own checks: a look-alike registry (a second real server,
// its own fresh root) under the genuine pin; a forged version-2 root with
// a certificate of its key; after a real key rotation (`loupe-server keys
// rotate`), a certificate by the retired key dated after its valid_until.
// Screenshots go to the artifact directory.
//
// Usage: node verify_page_test.mjs BUILD_DIR ARTIFACT_DIR
import {execFileSync, spawn} from 'node:child_process';
import {createHash} from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

import {checkIdentifyForm} from './identify_form_check.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const [buildArg, artifactsArg] = process.argv.slice(2);
const build = buildArg && path.resolve(buildArg);
const artifacts = artifactsArg && path.resolve(artifactsArg);
if (!build || !artifacts) {
  console.error('usage: node verify_page_test.mjs BUILD_DIR ARTIFACT_DIR');
  process.exit(2);
}
const web = path.join(root, 'server/http/web');
const {chromium} = await import(path.join(web, 'node_modules/playwright-core/index.mjs'));
const ed = await import(path.join(web, 'node_modules/@noble/ed25519/index.js'));
const gltfValidator = await import(path.join(web, 'node_modules/gltf-validator/module.mjs'));
const catalogue = (lang) => JSON.parse(
    fs.readFileSync(path.join(root, `server/http/i18n/${lang}.json`), 'utf8'));
fs.mkdirSync(artifacts, {recursive: true});

let failures = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures++;
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-web-'));
const servers = [];

// A registry started by tools/run.sh on free ports, with data in `dir`
// (made on the first start, reused after).
async function startRegistry(dir) {
  const log = path.join(work, `run-${servers.length}.log`);
  const server = spawn(path.join(root, 'tools/run.sh'), [], {
    env: {...process.env, LOUPE_NO_BUILD: '1', LOUPE_BUILD_DIR: build,
          LOUPE_DATA_DIR: dir, LOUPE_LISTEN: '127.0.0.1:0',
          LOUPE_HTTP_LISTEN: '127.0.0.1:0'},
    stdio: ['ignore', fs.openSync(log, 'w'), fs.openSync(log, 'a')],
    detached: true,
  });
  servers.push(server);
  let grpc, http;
  for (let i = 0; i < 300 && !http; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const text = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
    grpc = text.match(/listening on port (\d+)/)?.[1];
    http = text.match(/HTTP gateway on port (\d+)/)?.[1];
  }
  if (!http) throw new Error(`the registry did not start:\n${fs.readFileSync(log, 'utf8')}`);
  const tokens = Object.fromEntries(
      fs.readFileSync(path.join(dir, 'dev-tokens.env'), 'utf8')
          .split('\n').filter((l) => l.includes('=')).map((l) => l.split('=')));
  const loupe = (args, token = tokens.LOUPE_TOKEN_STUDIO_AURUM) =>
    execFileSync(path.join(build, 'client/loupe'), args, {
      cwd: work, encoding: 'utf8',
      env: {...process.env, LOUPE_SERVER: `127.0.0.1:${grpc}`, LOUPE_TOKEN: token,
            LOUPE_CA: path.join(dir, 'tls/ca.pem')},
    });
  const stop = async () => {
    try { process.kill(-server.pid, 'SIGTERM'); } catch {}
    if (server.exitCode === null) await new Promise((r) => server.once('exit', r));
  };
  return {http, tokens, loupe, stop, dir};
}

// A piece with a ring, certified: its certificate's id.
function certify(registry, reference) {
  const created = JSON.parse(registry.loupe([
    '--json', 'piece', 'create', '--studio', 'aurum', '--reference', reference,
    '--kind', 'ring', '--title', 'Web test solitaire', '--cad', 'ring.stl']));
  registry.loupe(['cert', 'issue', created.piece_id, '-o', `${reference}.json`]);
  const id = JSON.parse(registry.loupe(['--json', 'cert', 'list', created.piece_id])
      .split('\n')[0]).id;
  return id;
}

const fromB64 = (s) => Buffer.from(s, 'base64');
// The pin of a registry: hex SHA-256 of its first root's payload.
const pinOf = (dir) => createHash('sha256').update(fromB64(JSON.parse(
    fs.readFileSync(path.join(dir, 'keys/root.json'), 'utf8')).payload)).digest('hex');
const pae = (type, body) => Buffer.concat([
  Buffer.from(`DSSEv1 ${Buffer.byteLength(type)} ${type} ${body.length} `), body]);
const keyid = (pub) => createHash('sha256').update(pub).digest('hex');
async function signEnvelope(type, payload, secret) {
  const pub = Buffer.from(await ed.getPublicKeyAsync(secret));
  const sig = Buffer.from(await ed.signAsync(pae(type, payload), secret));
  return {payload: payload.toString('base64'), payloadType: type,
          signatures: [{keyid: keyid(pub), sig: sig.toString('base64')}]};
}
const certificateId = (payload) =>
  `ct_${createHash('sha256').update(payload).digest('hex').slice(0, 32)}`;

// The genuine certificate's statement with some fields changed, signed by
// `secret`: a certificate its signer could make, under its own id.
async function forgeCertificate(genuineBundle, secret, changes) {
  let statement = fromB64(JSON.parse(genuineBundle).certificate.payload).toString();
  for (const [field, value] of Object.entries(changes)) {
    statement = statement.replace(new RegExp(`"${field}":"[^"]*"`), `"${field}":"${value}"`);
  }
  const payload = Buffer.from(statement);
  return {id: certificateId(payload),
          envelope: await signEnvelope('application/vnd.in-toto+json', payload, secret)};
}

// Serves, at /verify/<forged id>, the genuine page of `genuineId` with the
// forged certificate in its bundle: what a server that signed it would
// serve.
async function serveForged(context, base, genuineId, forged) {
  await context.route(`${base}/verify/${forged.id}`, async (route) => {
    const real = await route.fetch({url: `${base}/verify/${genuineId}`});
    const html = await real.text();
    const m = html.match(/(<script type="application\/json" id="loupe-data">)(.*?)(<\/script>)/s);
    const data = JSON.parse(m[2]);
    const bundle = JSON.parse(data.bundle);
    bundle.certificate = forged.envelope;
    data.certificate_id = forged.id;
    data.bundle = JSON.stringify(bundle);
    const json = JSON.stringify(data).replace(/</g, '\\u003c');
    await route.fulfill({response: real, body: html.replace(m[0], () => m[1] + json + m[3])});
  });
}

// Opens `url`, waits for the browser's checks; what they show.
async function visit(context, url) {
  const page = await context.newPage();
  page.on('console', (m) => console.log(`  [browser] ${m.text()}`));
  await page.goto(url);
  await page.waitForSelector('#signature-check:not([data-result="pending"])');
  const shown = await page.evaluate(() => {
    const result = (id) => document.getElementById(id)?.dataset.result ?? null;
    const verdict = document.getElementById('verdict');
    return {verdict: verdict.dataset.verdict, anchor: verdict.dataset.anchor ?? null,
            title: verdict.querySelector('h1').textContent, text: verdict.textContent,
            root: result('anchor-check'), signature: result('signature-check'),
            log: result('log-check'), witnesses: result('witness-check'),
            all: document.body.textContent};
  });
  return {page, ...shown};
}

let browser;
try {
  const registry = await startRegistry(path.join(work, 'data'));
  const {loupe, tokens} = registry;
  execFileSync('python3', [path.join(root, 'tools/gen/ring_stl.py'), 'ring.stl'], {cwd: work});
  const created = JSON.parse(loupe(['--json', 'piece', 'create', '--studio', 'aurum',
                                    '--reference', 'WEB-1', '--kind', 'ring',
                                    '--title', 'Web test solitaire', '--cad', 'ring.stl',
                                    '--gtin', '4006381333931', '--serial', 'R-2027/001']));
  const piece = created.piece_id;
  // Version 2: the assay, so the page can estimate the weight.
  fs.writeFileSync(path.join(work, 'facts.json'), JSON.stringify(
      {assay: {alloy: '18k rose gold', fineness_per_mille: 750}}));
  // The repair cites a check recorded at the bench (evidence, issue 20).
  const recorded = loupe(['check', piece, 'ring.stl', '--purpose', 'repair', '--record'],
                         tokens.LOUPE_TOKEN_BENCH);
  const checkId = recorded.match(/recorded: (ck_[0-9a-f]+) /)?.[1];
  if (!checkId) throw new Error(`no check recorded: ${recorded}`);
  loupe(['version', 'add', piece, '--reason', 'repair', '--note', 'prongs retipped',
         '--from', 'facts.json', '--cad', 'ring.stl', '--evidence', checkId]);
  loupe(['cert', 'issue', piece, '-o', 'cert.json']);
  const certificate = JSON.parse(loupe(['--json', 'cert', 'list', piece]).split('\n')[0]).id;
  const bundleJson = fs.readFileSync(path.join(work, 'cert.json'), 'utf8');
  // The gateway speaks TLS with the development CA (tools/dev_tls.sh).
  let base = `https://localhost:${registry.http}`;
  const pin = pinOf(registry.dir);
  const url = `${base}/verify/${certificate}`;
  const pinned = `${url}#pin=${pin}`;

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
  });
  const context = await browser.newContext(
      {viewport: {width: 900, height: 1400}, ignoreHTTPSErrors: true});
  await checkIdentifyForm({context, base, token: tokens.LOUPE_TOKEN_BENCH,
                           scan: path.join(work, 'ring.stl'), piece, check,
                           artifacts});

  // (d) The pinned link, as the printed certificate's QR code carries it:
  // every check made in the browser, anchored to the pin.
  const genuine = await visit(context, pinned);
  const page = genuine.page;
  check(genuine.title === 'Authentic' && genuine.verdict === 'ok' && genuine.anchor === 'pin',
        `pinned: verdict ${genuine.title} (${genuine.verdict}, anchor ${genuine.anchor})`);
  check(/anchored to the registry's pin/.test(genuine.text),
        `pinned: says where trust comes from: ${genuine.text}`);
  check(genuine.root === 'valid', `trust root followed from the pin: ${
    await page.textContent('#anchor-check').catch(() => '(none)')}`);
  check(genuine.signature === 'valid',
        `signature checked in the browser: ${await page.textContent('#signature-check')}`);
  check(genuine.log === 'valid',
        `log inclusion checked in the browser: ${await page.textContent('#log-check')}`);
  check(genuine.witnesses === 'none', 'no witnesses named by the root, and it says so');
  const body = genuine.all;
  check(/Weight\s*[0-9.]+ g of 18k rose gold/.test(body),
        'the weight estimated from the volume and the assay, with its alloy');
  check(/Ring size\s*[0-9]+(?: [0-9]\/[0-9])? \(US\/Canada\), measured by Loupe on the 3D model/
      .test(body), 'the ring size in the reader\'s (US) system, measured on the model');
  const visible = await page.evaluate(() => document.body.innerText);
  check(!/VERSION_REASON|PIECE_KIND|PIECE_STATUS|RING_SIZE_SYSTEM/.test(visible),
        'no enum names shown to the buyer');
  check(body.includes('repaired') && body.includes('the original piece'),
        'the history in words ("repaired", "the original piece")');
  check(/Evidence\s*Repaired on \d{4}-\d\d-\d\d by bench: checked against the original within 0\.05 mm \([0-9.]+ % of the surface; largest difference [0-9.]+ mm\)/
      .test(body), 'the repair\'s evidence in plain words');
  check((await page.locator('table.history tr').count()) === 3 &&
            body.includes('prongs retipped'),
        'the version history, with the repair');
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

  // "View in your space": the GLB the viewer loads, checked by the Khronos
  // validator, then loaded by <model-viewer> in the page.
  const glbUrl = `${base}/api/v1/pieces/${piece}/versions/2/preview.glb`;
  const glb = await context.request.get(glbUrl);
  check(glb.status() === 200 && glb.headers()['content-type'] === 'model/gltf-binary',
        `the GLB is served (${glb.status()}, ${glb.headers()['content-type']})`);
  const glbBytes = new Uint8Array(await glb.body());
  fs.writeFileSync(path.join(artifacts, 'preview.glb'), glbBytes);
  const report = await gltfValidator.validateBytes(glbBytes);
  check(report.issues.numErrors === 0 && report.info.totalTriangleCount > 100,
        `gltf-validator: ${report.issues.numErrors} errors, ${report.issues.numWarnings} ` +
        `warnings, ${report.info.totalTriangleCount} triangles${report.issues.numErrors
          ? `: ${JSON.stringify(report.issues.messages.slice(0, 3))}` : ''}`);
  await page.locator('#ar').scrollIntoViewIfNeeded();
  const loaded = await page.waitForFunction(
      () => document.getElementById('ar')?.loaded === true, null, {timeout: 30000})
      .then(() => true, () => false);
  check(loaded, 'model-viewer loaded the GLB');
  check(await page.getAttribute('#ar', 'src') === new URL(glbUrl).pathname &&
            await page.getAttribute('#ar', 'ar') !== null,
        'the viewer offers AR with the GLB');
  await page.waitForTimeout(500);
  await page.locator('#ar').screenshot({path: path.join(artifacts, 'verify-model-viewer.png')});

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

  // No pin: the same checks pass, but the page says it trusts the server
  // it came from and does not show the green verdict.
  const unpinned = await visit(context, url);
  check(unpinned.signature === 'valid' && unpinned.verdict !== 'ok' &&
            unpinned.anchor === 'server',
        `unpinned: not green (${unpinned.verdict}, anchor ${unpinned.anchor})`);
  check(/trusts the server it was served from/.test(unpinned.text),
        `unpinned: says so: ${unpinned.text}`);
  await unpinned.page.screenshot({path: path.join(artifacts, 'verify-unpinned.png'),
                                  fullPage: true});
  await unpinned.page.close();

  // A page handed other keys than the ones that signed: the browser's
  // check fails (so the checks above are not a formality).
  const keysContext = await browser.newContext({ignoreHTTPSErrors: true});
  await keysContext.route('**/api/v1/trust-root', async (route) => {
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
  const otherKeys = await visit(keysContext, url);
  check(otherKeys.verdict === 'bad' && otherKeys.signature !== 'valid',
        `with other keys: ${otherKeys.text}`);
  await keysContext.close();

  // The printable view has a QR code linking back to the page, with the pin.
  await page.goto(`${url}?print=1`);
  await page.waitForSelector('#qr[data-result="drawn"] svg');
  const gs1 = `${url}/01/04006381333931/21/R-2027%2F001#pin=${pin}`;
  check((await page.textContent('#qr-url')) === gs1,
        `the QR code is the GS1 Digital Link with the pin: ${await page.textContent('#qr-url')}`);
  await page.screenshot({path: path.join(artifacts, 'verify-print.png'), fullPage: true});
  const viaGs1 = await visit(context, gs1);
  check(viaGs1.verdict === 'ok' && viaGs1.signature === 'valid',
        `the GS1 Digital Link opens the verified page (${viaGs1.verdict})`);
  await viaGs1.page.close();
  const wrongSerial = await context.request.get(`${url}/01/04006381333931/21/R-2027-002`);
  check(wrongSerial.status() === 404, `another serial: ${wrongSerial.status()}`);

  // Each language: from Accept-Language (the browser's locale), then the
  // switch on the page, which keeps the pin.
  for (const [lang, locale] of [['fr', 'fr-FR'], ['de', 'de-DE'], ['it', 'it-IT'],
                                ['es', 'es-ES'], ['ja', 'ja-JP']]) {
    const words = catalogue(lang);
    const localeContext = await browser.newContext(
        {viewport: {width: 900, height: 1400}, ignoreHTTPSErrors: true, locale});
    const shown = await visit(localeContext, pinned);
    const when = await shown.page.textContent('table.history time');
    const expected = new Intl.DateTimeFormat(locale, {dateStyle: 'long'}).format(new Date());
    check(shown.title === words['verdict.active'] && shown.verdict === 'ok' &&
              await shown.page.getAttribute('html', 'lang') === locale.toLowerCase(),
          `${lang}: the verdict in ${words['lang.name']}: ${shown.title}`);
    check(shown.all.includes(words['enum.VERSION_REASON_REPAIR']) &&
              shown.all.includes(words['alloy.18k-rose']) &&
              shown.all.includes(words['js.what.signature']),
          `${lang}: labels, the alloy and the browser's checks in ${words['lang.name']}`);
    check(when === expected, `${lang}: dates in the reader's locale (${when})`);
    check(shown.all.includes(words['evidence.heading']) &&
              (lang !== 'fr' || /Réparée le \d{4}-\d\d-\d\d par bench : comparée à l'original à 0,05 mm près \([0-9,]+ % de la surface ; écart maximal [0-9,]+ mm\)/
                  .test(shown.all)),
          `${lang}: the evidence in ${words['lang.name']}`);
    await shown.page.screenshot({path: path.join(artifacts, `verify-${lang}.png`),
                                 fullPage: true});
    await shown.page.close();
    await localeContext.close();
  }
  const frContext = await browser.newContext({ignoreHTTPSErrors: true, locale: 'fr-FR'});
  const fr = await visit(frContext, pinned);
  await fr.page.click('nav.langs a[hreflang="de"]');
  await fr.page.waitForSelector('#signature-check:not([data-result="pending"])');
  check(await fr.page.textContent('#verdict h1') === catalogue('de')['verdict.active'] &&
            fr.page.url().endsWith(`lang=de#pin=${pin}`),
        `the switch: German, pin kept (${fr.page.url()})`);
  await fr.page.close();
  await frContext.close();

  // (a) A look-alike registry: a second real server with its own fresh
  // root and a certificate of its own key, opened with the genuine pin.
  const lookAlike = await startRegistry(path.join(work, 'look-alike'));
  const fakeId = certify(lookAlike, 'WEB-FAKE');
  const fake = await visit(context,
                           `https://localhost:${lookAlike.http}/verify/${fakeId}#pin=${pin}`);
  check(fake.verdict === 'bad' && fake.signature !== 'valid' && fake.root === 'invalid',
        `look-alike server: ${fake.title} (${fake.verdict}), signature ${fake.signature}`);
  check(/match(es)? the pin/.test(fake.all), 'look-alike server: the root does not match the pin');
  await fake.page.screenshot({path: path.join(artifacts, 'verify-look-alike.png'),
                              fullPage: true});
  await fake.page.close();
  await lookAlike.stop();

  // (c) A forged version-2 root, served after the genuine root 1: a fresh
  // key signs it and lists itself for every role, and signs a certificate.
  const attacker = ed.utils.randomSecretKey();
  const attackerPub = Buffer.from(await ed.getPublicKeyAsync(attacker));
  const genuineRoot = JSON.parse(fs.readFileSync(path.join(registry.dir, 'keys/root.json'),
                                                 'utf8'));
  const forgedBody = JSON.parse(fromB64(genuineRoot.payload).toString());
  forgedBody.version = 2;
  forgedBody.threshold = 1;
  forgedBody.keys = [{keyid: keyid(attackerPub), public_key: attackerPub.toString('hex'),
                      roles: ['certificate', 'checkpoint', 'root'],
                      valid_from: '2020-01-01T00:00:00Z'}];
  const forgedRoot = await signEnvelope('application/vnd.loupe.trust-root+json',
                                        Buffer.from(JSON.stringify(forgedBody)), attacker);
  const forgedCert = await forgeCertificate(bundleJson, attacker,
                                            {keyid: keyid(attackerPub)});
  const forgedContext = await browser.newContext({ignoreHTTPSErrors: true});
  await forgedContext.route('**/api/v1/trust-root', async (route) => {
    const real = await (await route.fetch()).json();
    real.roots = [real.roots[0], forgedRoot];
    await route.fulfill({json: real});
  });
  await serveForged(forgedContext, base, certificate, forgedCert);
  const forged = await visit(forgedContext, `${base}/verify/${forgedCert.id}#pin=${pin}`);
  check(forged.verdict === 'bad' && forged.signature !== 'valid' && forged.root === 'invalid',
        `forged root v2: ${forged.title} (${forged.verdict}), signature ${forged.signature}`);
  check(/by the previous \(v1\) root keys/.test(forged.all),
        'forged root v2: not signed by root 1\'s keys, and it says so');
  await forged.page.screenshot({path: path.join(artifacts, 'verify-forged-root.png'),
                                fullPage: true});
  await forgedContext.close();

  // A real key rotation: the registry restarts with root v2 (the old
  // signing key retired, valid_until = the rotation).
  await registry.stop();
  execFileSync(path.join(build, 'server/loupe-server'), [
    'keys', 'rotate', path.join(registry.dir, 'keys'),
    '--passphrase-file', path.join(registry.dir, 'dev-passphrase')], {encoding: 'utf8'});
  const conf = path.join(registry.dir, 'loupe.conf');
  fs.writeFileSync(conf, fs.readFileSync(conf, 'utf8').replace(
      /(root_files: "[^"]*root\.json")/,
      `$1\n  root_files: "${path.join(registry.dir, 'keys/root-v2.json')}"`));
  const rotated = await startRegistry(registry.dir);
  base = `https://localhost:${rotated.http}`;
  // Reported stolen (which also grows the log: a checkpoint by the new key).
  rotated.loupe(['status', 'stolen', piece, '--reason', 'police report 77'],
                tokens.LOUPE_TOKEN_INSURER);
  const stolen = await visit(context, `${base}/verify/${certificate}#pin=${pin}`);
  check(stolen.title === 'Reported stolen' && stolen.verdict === 'bad',
        `verdict after the report: ${stolen.text}`);
  check(stolen.root === 'valid' && stolen.signature === 'valid' && stolen.log === 'valid',
        'after the rotation: root v2 followed from the pin; the certificate of the ' +
        `retired key, issued while it was valid, still verifies: ${
          await stolen.page.textContent('#anchor-check')}`);
  await stolen.page.screenshot({path: path.join(artifacts, 'verify-stolen.png'),
                                fullPage: true});
  await stolen.page.close();

  // (b) The retired key signs a certificate dated after its valid_until.
  const retiredFile = path.join(registry.dir, 'keys/signing-key-retired-v1.json');
  const seed = execFileSync('/usr/bin/python3', [
    path.join(root, 'tests/web/open_key_file.py'), retiredFile,
    path.join(registry.dir, 'dev-passphrase')], {encoding: 'utf8'}).trim();
  const rootV2 = JSON.parse(fromB64(JSON.parse(fs.readFileSync(
      path.join(registry.dir, 'keys/root-v2.json'), 'utf8')).payload).toString());
  const retiredKey = rootV2.keys.find((k) => k.valid_until);
  const after = new Date(Date.parse(retiredKey.valid_until) + 1000).toISOString()
      .replace('.000Z', 'Z');
  const late = await forgeCertificate(bundleJson, Buffer.from(seed, 'hex'),
                                      {issued_at: after});
  check(late.envelope.signatures[0].keyid === retiredKey.keyid,
        'the forged certificate is signed by the retired key');
  const lateContext = await browser.newContext({ignoreHTTPSErrors: true});
  await serveForged(lateContext, base, certificate, late);
  const retired = await visit(lateContext, `${base}/verify/${late.id}#pin=${pin}`);
  check(retired.verdict === 'bad' && retired.signature === 'invalid',
        `retired key after valid_until: ${retired.title} (${retired.verdict}), ` +
        `signature ${retired.signature}`);
  check(/was not valid at/.test(retired.all), 'retired key: says the key was not valid then');
  await retired.page.screenshot({path: path.join(artifacts, 'verify-retired-key.png'),
                                 fullPage: true});
  await lateContext.close();
} catch (e) {
  console.error(e);
  failures++;
} finally {
  if (browser) await browser.close();
  for (const server of servers) {
    try { process.kill(-server.pid, 'SIGTERM'); } catch {}
  }
  fs.rmSync(work, {recursive: true, force: true});
}
console.log(failures === 0 ? 'PASS' : `${failures} FAILED`);
process.exit(failures === 0 ? 0 : 1);
