// The verify page's checks in the browser (server/http/verify_page.cc).
// The verdict comes from checks made here (checks.js, trust.js), not from
// the server: the registry's trust roots followed from the pin in the
// link (#pin=<hex>, the printed certificate's QR code), the certificate's
// signature, its log inclusion and the witnesses' cosignatures, and the
// piece's signed status. Without a pin the page says that it trusts the
// server it came from, and never shows the green verdict. Also: the
// SHA-256 of a file the user drops, compared with the verified
// certificate's subjects; a 3D view of the decimated preview (three.js);
// the QR code of the printable view. Results are also written to
// data-result attributes, which the browser test reads.
import * as ed from '/web/ed25519.js';
import {formatTime, toHex, useEd25519} from '/web/trust.js';
import {verifyPage} from '/web/checks.js';

useEd25519(ed.verifyAsync);
const data = JSON.parse(document.getElementById('loupe-data').textContent);

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

const STATUS = {
  active: ['Authentic', 'ok'], revoked: ['Revoked', 'bad'],
  stolen: ['Reported stolen', 'bad'], lost: ['Reported lost', 'bad'],
  suspended: ['Suspended', 'bad'],
};
const STEP = {
  root: 'the trust root', certificate: 'the certificate', log: 'the log proof',
  witnesses: 'the witnesses', status: "the piece's status",
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
    return ['Not verified', 'bad',
            `Your browser's check of ${STEP[r.failed]} failed: ${r.error}`];
  }
  if (!r.status) {
    return ['Genuine certificate', 'unknown',
            "the piece's current status was not checked: the server sent no signed status"];
  }
  const s = r.status;
  const [title, css] = STATUS[s.status] || ['Unknown', 'unknown'];
  const asOf = `status as of ${formatTime(s.asOf)}`;
  const detail = s.status === 'active'
      ? `signed by the registry, logged, not revoked, not reported lost or stolen (${asOf})`
      : `${s.status}: ${s.reason} (by ${s.changedBy}, ${asOf})`;
  // Without a pin a good verdict is only the server's word: never green.
  if (css === 'ok' && !r.anchored) return [`${title}, says this server`, 'unknown', detail];
  return [title, css, detail];
}

function sourceOf(r) {
  if (!r.anchored) {
    return 'Your link carries no pin, so this page trusts the server it was served ' +
        'from: your browser checked the signatures against keys this same server ' +
        'handed out, which a look-alike server can do too. Open the link or QR code ' +
        'of the printed certificate (it ends in #pin=…) to check independently' +
        (data.pin ? `; this server's pin is ${data.pin.slice(0, 16)}….` : '.');
  }
  const what = ['the trust roots', "the certificate's signature", 'its log entry'];
  if (r.witnesses?.vouched.length) what.push('the witnesses’ cosignatures');
  if (r.status) what.push("the piece's status");
  const checked = r.ok ? `: ${what.join(', ')}` : '';
  return `Checked in your browser, anchored to the registry's pin ` +
      `${r.pin.slice(0, 16)}… in your link${checked}.`;
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
      ? `${what}: NOT VALID: ${r.error}` : `${what}: not checked (an earlier check failed).`);
  show('anchor-check', result('root'), r.root
      ? `Trust root v${r.root.version} of ${r.root.origin}, ` + (r.anchored
          ? `followed from the registry's first root, which matches the pin in your link.`
          : 'as this server hands it out (no pin in your link).')
      : failed('root', 'Trust root'));
  show('signature-check', result('certificate'), r.certificate
      ? `Signature checked in your browser: valid, for piece ${predicate.piece_id} ` +
        `version ${predicate.version} of studio ${predicate.studio_id}, by the registry's ` +
        `certificate key ${r.certificate.keyid.slice(0, 16)}…, valid when the certificate ` +
        `was issued (${formatTime(r.certificate.issuedAt)}).`
      : failed('certificate', 'Signature checked in your browser'));
  show('log-check', result('log'), r.log
      ? `Logged: entry ${r.log.index} of ${r.log.treeSize}, its inclusion proof checked in ` +
        (r.log.copy
            ? "your browser, rebuilt from the log's static copy named in your link, against " +
              'its signed checkpoint (not older than, and consistent with, the certificate’s).'
            : "your browser against the registry's signed checkpoint.")
      : failed('log', 'The transparency-log proof'));
  const w = r.witnesses;
  if (w && w.listed === 0) {
    show('witness-check', 'none',
         'The trust root names no witnesses: the checkpoint is the registry’s own word.');
  } else {
    show('witness-check', result('witnesses'), w
        ? `Cosigned by ${w.vouched.length} of the ${w.listed} witnesses the trust root ` +
          `names (${w.needed} needed): ${w.vouched.map((v) =>
            `${v.name} (${formatTime(v.time)})`).join(', ')}.`
        : failed('witnesses', 'Witness cosignatures'));
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
              error: `the check could not run: ${e.message}`};
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
    out.textContent = `${file.name}: SHA-256 ${digest}; not compared: the certificate ` +
        'did not verify in your browser.';
    out.dataset.result = 'unchecked';
    return;
  }
  const match = statement.subjects.find((s) => s.sha256 === digest);
  out.textContent = match
      ? `${file.name}: SHA-256 ${digest} is "${match.name}" of this certificate.`
      : `${file.name}: SHA-256 ${digest} matches no file of this certificate.`;
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
    canvas.insertAdjacentText('afterend', `The 3D view failed: ${e.message}`);
  }
}

async function showQr() {
  const box = document.getElementById('qr');
  if (!box) return;
  const {default: qrcode} = await import('/web/qrcode.mjs');
  const pin = /^[0-9a-f]{64}$/.test(linkPin()) ? linkPin() : data.pin;
  const url = new URL(location.pathname + (pin ? `#pin=${pin}` : ''), location.origin).href;
  const qr = qrcode(0, 'M');
  qr.addData(url);
  qr.make();
  box.innerHTML = qr.createSvgTag({cellSize: 4, margin: 2, scalable: true});
  document.getElementById('qr-url').textContent = url;
  box.dataset.result = 'drawn';
}

// The printable view's link keeps the pin.
const keepPin = () => {
  const link = document.getElementById('print-link');
  if (link) link.href = `?print=1${location.hash}`;
};
keepPin();
window.addEventListener('hashchange', keepPin);
setUpDrop();
check();
window.addEventListener('hashchange', check);  // A pin pasted into the link.
showTwin();
showQr();
