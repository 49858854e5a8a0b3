// The verify page's checks in the browser (server/http/verify_page.cc).
// The verdict comes from checks made here (checks.js, trust.js), not from
// the server: the registry's trust roots followed from the pin in the
// link (#pin=<hex>, the printed certificate's QR code), the certificate's
// signature, its log inclusion and the witnesses' cosignatures, and the
// piece's signed status. Without a pin the page says that it trusts the
// server it came from, and never shows the green verdict. Also: the
// SHA-256 of a file the user drops, compared with the verified
// certificate's subjects; a 3D view of the decimated preview (three.js);
// the QR code of the printable view (a GS1 Digital Link when the piece has
// a GTIN and serial). Every word shown comes from the page's catalogue
// (data.strings: server/http/i18n/<lang>.json, key -> text with {name}
// placeholders); dates are written in the reader's locale (data.locale).
// Results are also written to data-result attributes, which the browser
// test reads.
import * as ed from '/web/ed25519.js';
import {formatTime, toHex, useEd25519} from '/web/trust.js';
import {verifyPage} from '/web/checks.js';

useEd25519(ed.verifyAsync);
const data = JSON.parse(document.getElementById('loupe-data').textContent);

// The text of `key` in the page's language, placeholders filled in.
function t(key, args = {}) {
  const text = data.strings[key] ?? key;
  return text.replace(/\{([a-z_]+)\}/g, (m, name) => (name in args ? String(args[name]) : m));
}

// A date (ms since the epoch) in the reader's locale, with the time when
// `withTime`; ISO 8601 if the locale is unknown to the browser.
function localTime(ms, withTime = true) {
  try {
    return new Intl.DateTimeFormat(data.locale, withTime
        ? {dateStyle: 'long', timeStyle: 'short'} : {dateStyle: 'long'}).format(new Date(ms));
  } catch {
    return formatTime(ms);
  }
}

// The server writes dates as <time datetime="RFC 3339">YYYY-MM-DD</time>.
function localiseDates() {
  for (const el of document.querySelectorAll('time[datetime]')) {
    const ms = Date.parse(el.getAttribute('datetime'));
    if (!Number.isNaN(ms)) el.textContent = localTime(ms, false);
  }
}

// The pin in the link, lower-cased; null without one.
function linkPin() {
  const pin = new URLSearchParams(location.hash.slice(1)).get('pin');
  return pin === null ? null : pin.toLowerCase();
}

// The log's static copy named in the link (#log=<base URL>, e.g. a CDN in
// front of the bucket the registry publishes its tiles to; it must allow
// this page's origin to GET, CORS): get(key), or undefined without one.
function logCopy() {
  const base = new URLSearchParams(location.hash.slice(1)).get('log');
  if (!base) return undefined;
  return async (key) => {
    const res = await fetch(`${base.replace(/\/+$/, '')}/${key}`);
    if (!res.ok) throw new Error(`the log copy's ${key}: HTTP ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  };
}

let statement = null;  // The verified statement, once checked.

// Signed status -> [catalogue key of the title, css class].
const STATUS = {
  active: ['verdict.active', 'ok'], revoked: ['verdict.revoked', 'bad'],
  stolen: ['verdict.stolen', 'bad'], lost: ['verdict.lost', 'bad'],
  suspended: ['verdict.suspended', 'bad'],
};

function show(id, result, message) {
  const out = document.getElementById(id);
  if (!out) return;
  out.textContent = message;
  out.dataset.result = result;
}

// [title, css class, detail] of the verdict the browser reached.
function verdictOf(r) {
  if (!r.ok) {
    return [t('js.not_verified'), 'bad',
            t('js.check_failed', {step: t(`js.step.${r.failed}`), error: r.error})];
  }
  if (!r.status) return [t('js.genuine'), 'unknown', t('js.status_unchecked')];
  const s = r.status;
  const [key, css] = STATUS[s.status] || ['verdict.unknown', 'unknown'];
  const title = t(key);
  const asOf = t('js.status_as_of', {time: localTime(s.asOf)});
  const detail = s.status === 'active'
      ? t('js.active_detail', {as_of: asOf})
      : t('js.other_detail', {status: t(`enum.PIECE_STATUS_${s.status.toUpperCase()}`),
                              reason: s.reason, by: s.changedBy, as_of: asOf});
  // Without a pin a good verdict is only the server's word: never green.
  if (css === 'ok' && !r.anchored) return [t('js.says_server', {title}), 'unknown', detail];
  return [title, css, detail];
}

function sourceOf(r) {
  if (!r.anchored) {
    return t('js.unpinned') +
        (data.pin ? ` ${t('js.server_pin', {pin: data.pin.slice(0, 16)})}` : '');
  }
  const what = [t('js.what.roots'), t('js.what.signature'), t('js.what.log')];
  if (r.witnesses?.vouched.length) what.push(t('js.what.witnesses'));
  if (r.status) what.push(t('js.what.status'));
  const pin = r.pin.slice(0, 16);
  return r.ok ? t('js.anchored_checked', {pin, list: what.join(', ')})
              : t('js.anchored', {pin});
}

function showVerdict(r) {
  const box = document.getElementById('verdict');
  const [title, css, detail] = verdictOf(r);
  box.className = `verdict ${css}`;
  box.dataset.verdict = css;
  box.dataset.source = 'browser';
  box.dataset.anchor = r.anchored ? 'pin' : 'server';
  box.querySelector('h1').textContent = title;
  box.querySelector('p').textContent = detail;
  document.getElementById('verdict-source').textContent = sourceOf(r);
}

// Each check's line: valid, invalid (the step that failed) or unchecked.
function showSteps(r) {
  const predicate = r.certificate?.statement.predicate;
  const result = (step) => (r[step] ? 'valid' : r.failed === step ? 'invalid' : 'unchecked');
  const failed = (step, what) => (r.failed === step
      ? t('js.not_valid', {what: t(what), error: r.error})
      : t('js.not_checked', {what: t(what)}));
  show('anchor-check', result('root'), r.root
      ? t(r.anchored ? 'js.root_pinned' : 'js.root_unpinned',
          {version: r.root.version, origin: r.root.origin})
      : failed('root', 'js.root_what'));
  show('signature-check', result('certificate'), r.certificate
      ? t('js.signature_ok', {piece: predicate.piece_id, version: predicate.version,
                              studio: predicate.studio_id,
                              key: r.certificate.keyid.slice(0, 16),
                              issued: localTime(r.certificate.issuedAt)})
      : failed('certificate', 'js.signature_what'));
  show('log-check', result('log'), r.log
      ? t(r.log.copy ? 'js.log_ok_copy' : 'js.log_ok', {index: r.log.index, size: r.log.treeSize})
      : failed('log', 'js.log_what'));
  const w = r.witnesses;
  if (w && w.listed === 0) {
    show('witness-check', 'none', t('js.no_witnesses'));
  } else {
    show('witness-check', result('witnesses'), w
        ? t('js.witnesses_ok', {count: w.vouched.length, listed: w.listed, needed: w.needed,
                                list: w.vouched.map((v) =>
                                  `${v.name} (${localTime(v.time)})`).join(', ')})
        : failed('witnesses', 'js.witnesses_what'));
  }
}

async function check() {
  const pin = linkPin();
  statement = null;
  let report;
  try {
    const res = await fetch('/api/v1/trust-root');
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    report = await verifyPage({pin, roots: (await res.json()).roots,
                               bundle: JSON.parse(data.bundle),
                               certificateId: data.certificate_id, now: Date.now(),
                               logCopy: logCopy()});
  } catch (e) {
    report = {anchored: pin !== null, pin, ok: false, failed: 'root',
              error: t('js.could_not_run', {error: e.message})};
  }
  if (report.ok) statement = report.certificate.statement;
  showVerdict(report);
  showSteps(report);
}

async function checkFile(file) {
  const out = document.getElementById('file-check');
  const digest = toHex(new Uint8Array(
      await crypto.subtle.digest('SHA-256', await file.arrayBuffer())));
  if (!statement) {
    out.textContent = t('js.file_unchecked', {file: file.name, digest});
    out.dataset.result = 'unchecked';
    return;
  }
  const match = statement.subjects.find((s) => s.sha256 === digest);
  out.textContent = match
      ? t('js.file_match', {file: file.name, digest, name: match.name})
      : t('js.file_nomatch', {file: file.name, digest});
  out.dataset.result = match ? 'match' : 'nomatch';
}

function setUpDrop() {
  const drop = document.getElementById('drop');
  const input = document.getElementById('file');
  if (!drop) return;
  input.addEventListener('change', () => input.files[0] && checkFile(input.files[0]));
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer.files[0]) checkFile(e.dataTransfer.files[0]);
  });
}

async function showTwin() {
  const canvas = document.getElementById('twin');
  if (!canvas || !data.has_preview) return;
  try {
    const THREE = await import('/web/three.module.js');
    const url =
        `/api/v1/pieces/${data.piece_id}/versions/${data.version}/preview`;
    // 503 + Retry-After: the registry is drawing other previews; try again
    // a few times.
    let res = await fetch(url);
    for (let i = 0;
         i < 5 && res.status === 503 && res.headers.has('Retry-After'); ++i) {
      const wait = Math.min(10, Number(res.headers.get('Retry-After')) || 1);
      await new Promise((resolve) => setTimeout(resolve, 1000 * wait));
      res = await fetch(url);
    }
    if (!res.ok) throw new Error(`preview: HTTP ${res.status}`);
    const buffer = await res.arrayBuffer();
    const view = new DataView(buffer);
    if (new TextDecoder().decode(new Uint8Array(buffer, 0, 4)) !== 'LPV1') {
      throw new Error('preview: not LPV1');
    }
    const n = view.getUint32(4, true), m = view.getUint32(8, true);
    const geometry = new THREE.BufferGeometry();
    geometry.setAttribute('position', new THREE.BufferAttribute(
        new Float32Array(buffer, 12, 3 * n), 3));
    geometry.setIndex(new THREE.BufferAttribute(
        new Uint32Array(buffer, 12 + 12 * n, 3 * m), 1));
    geometry.computeVertexNormals();
    geometry.center();
    geometry.computeBoundingSphere();
    const radius = geometry.boundingSphere.radius;
    const scene = new THREE.Scene();
    scene.background = new THREE.Color(0xf7f7f7);
    const metal = new THREE.MeshStandardMaterial(
        {color: 0xd4af37, metalness: 0.55, roughness: 0.35});
    const piece = new THREE.Mesh(geometry, metal);
    piece.rotation.x = -0.9;
    scene.add(piece);
    scene.add(new THREE.HemisphereLight(0xffffff, 0x444444, 2.2));
    const light = new THREE.DirectionalLight(0xffffff, 2.0);
    light.position.set(1, 2, 3);
    scene.add(light);
    const camera = new THREE.PerspectiveCamera(
        35, canvas.width / canvas.height, radius / 100, radius * 100);
    camera.position.set(0, 0, radius * 3.4);
    const renderer = new THREE.WebGLRenderer(
        {canvas, antialias: true, preserveDrawingBuffer: true});
    let dragging = null;
    canvas.addEventListener('pointerdown', (e) => (dragging = [e.clientX, e.clientY]));
    window.addEventListener('pointerup', () => (dragging = null));
    canvas.addEventListener('pointermove', (e) => {
      if (!dragging) return;
      piece.rotation.y += (e.clientX - dragging[0]) / 100;
      piece.rotation.x += (e.clientY - dragging[1]) / 100;
      dragging = [e.clientX, e.clientY];
    });
    const frame = () => {
      if (!dragging) piece.rotation.z += 0.005;
      renderer.render(scene, camera);
      requestAnimationFrame(frame);
    };
    frame();
    canvas.dataset.triangles = String(m);
    canvas.dataset.result = 'drawn';
  } catch (e) {
    canvas.dataset.result = 'error';
    canvas.insertAdjacentText('afterend', t('js.view_failed', {error: e.message}));
  }
}

async function showQr() {
  const box = document.getElementById('qr');
  if (!box) return;
  const {default: qrcode} = await import('/web/qrcode.mjs');
  const pin = /^[0-9a-f]{64}$/.test(linkPin()) ? linkPin() : data.pin;
  // /verify/<id>, or with a GTIN and serial the GS1 Digital Link form
  // /verify/<id>/01/<GTIN-14>/21/<serial> (the registry as resolver).
  const base = `/verify/${encodeURIComponent(data.certificate_id)}${data.gs1_path}`;
  const url = new URL(base + (pin ? `#pin=${pin}` : ''), location.origin).href;
  const qr = qrcode(0, 'M');
  qr.addData(url);
  qr.make();
  box.innerHTML = qr.createSvgTag({cellSize: 4, margin: 2, scalable: true});
  document.getElementById('qr-url').textContent = url;
  box.dataset.result = 'drawn';
}

// The printable view's link and the language switch keep the pin.
const keepPin = () => {
  for (const link of document.querySelectorAll('a[data-keep-pin]')) {
    link.href = link.getAttribute('href').split('#')[0] + location.hash;
  }
};
localiseDates();
keepPin();
window.addEventListener('hashchange', keepPin);
setUpDrop();
check();
window.addEventListener('hashchange', check);  // A pin pasted into the link.
showTwin();
showQr();
