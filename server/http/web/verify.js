// The verify page's checks in the browser (server/http/verify_page.cc):
// the registry's Ed25519 signature over the certificate, verified here
// with @noble/ed25519 against the keys of the registry's trust root; the
// SHA-256 of a file the user drops, computed here and compared with the
// certificate's subjects; a 3D view of the decimated preview (three.js);
// the QR code of the printable view. Results are also written to
// data-result attributes, which the browser test reads.
import * as ed from '/web/ed25519.js';

const data = JSON.parse(document.getElementById('loupe-data').textContent);
const text = new TextEncoder();

function fromBase64(s) {
  const std = s.replace(/-/g, '+').replace(/_/g, '/');
  const padded = std.padEnd(Math.ceil(std.length / 4) * 4, '=');
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}
const toHex = (bytes) =>
  [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
const fromHex = (h) => Uint8Array.from(h.match(/../g), (x) => parseInt(x, 16));

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// DSSE's pre-authentication encoding (docs/certificate-format.md).
function pae(type, body) {
  const t = text.encode(type);
  return concat(text.encode(`DSSEv1 ${t.length} `), t,
                text.encode(` ${body.length} `), body);
}

let statement = null;  // Set once the signature verified.

const sha256 = async (bytes) =>
  new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

// RFC 9162 2.1.3.2: the root an inclusion proof leads to.
async function rootFromProof(leaf, index, size, proof) {
  let fn = index, sn = size - 1, r = leaf;
  for (const p of proof) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = await sha256(concat(Uint8Array.of(1), p, r));
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = await sha256(concat(Uint8Array.of(1), r, p));
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

// The certificate's log entry (docs/transparency-log.md), its inclusion
// proof, and the checkpoint's signature by a checkpoint key of the trust
// root (a C2SP signed note).
async function checkLog(envelope, payload, keys, origin) {
  const out = document.getElementById('log-check');
  const log = JSON.parse(data.bundle).log;
  if (!out) return;
  if (!log) {
    out.textContent = 'This bundle carries no transparency-log proof.';
    out.dataset.result = 'none';
    return;
  }
  const entry = JSON.stringify({
    certificate_id: data.certificate_id, piece_id: statement.predicate.piece_id,
    statement_sha256: toHex(await sha256(payload)), type: 'certificate',
    version: statement.predicate.version,
  });
  const leaf = await sha256(concat(Uint8Array.of(0), text.encode(entry)));
  const root = await rootFromProof(leaf, Number(log.index), Number(log.tree_size),
                                   log.inclusion_proof.map(fromBase64));
  const [body, signatures] = log.checkpoint.split('\n\n');
  const [noteOrigin, size, rootB64] = body.split('\n');
  let signed = false;
  for (const line of (signatures || '').split('\n')) {
    const m = line.match(/^\u2014 (\S+) (\S+)$/);
    if (!m || m[1] !== origin) continue;
    const raw = fromBase64(m[2]);
    for (const key of keys) {
      const id = (await sha256(concat(text.encode(`${origin}\n`), Uint8Array.of(1),
                                      fromHex(key)))).slice(0, 4);
      if (equal(id, raw.slice(0, 4)) &&
          await ed.verifyAsync(raw.slice(4), text.encode(`${body}\n`), fromHex(key))) {
        signed = true;
      }
    }
  }
  const ok = root && signed && noteOrigin === origin &&
      Number(size) === Number(log.tree_size) && equal(root, fromBase64(rootB64));
  out.textContent = ok
      ? `Logged: entry ${log.index} of ${log.tree_size}, its inclusion proof ` +
        `checked in your browser against the registry's signed checkpoint.`
      : 'The transparency-log proof does NOT check out.';
  out.dataset.result = ok ? 'valid' : 'invalid';
}

async function checkSignature() {
  const out = document.getElementById('signature-check');
  if (!out) return;
  try {
    const envelope = JSON.parse(data.bundle).certificate;
    const roots = (await (await fetch('/api/v1/trust-root')).json()).roots;
    const keys = new Map();
    const checkpointKeys = [];
    let origin = '';
    for (const root of roots) {
      const body = JSON.parse(new TextDecoder().decode(fromBase64(root.payload)));
      origin = body.origin;
      for (const k of body.keys) {
        if (k.roles.includes('certificate')) keys.set(k.keyid, k.public_key);
        if (k.roles.includes('checkpoint')) checkpointKeys.push(k.public_key);
      }
    }
    const payload = fromBase64(envelope.payload);
    const message = pae(envelope.payloadType, payload);
    let valid = null;
    for (const s of envelope.signatures) {
      const key = keys.get(s.keyid);
      if (key && await ed.verifyAsync(fromBase64(s.sig), message, fromHex(key))) {
        valid = s.keyid;
      }
    }
    if (valid) {
      statement = JSON.parse(new TextDecoder().decode(payload));
      out.textContent = `Signature checked in your browser: valid, by the ` +
          `registry's certificate key ${valid.slice(0, 16)}….`;
      out.dataset.result = 'valid';
      await checkLog(envelope, payload, checkpointKeys, origin);
    } else {
      out.textContent = 'Signature checked in your browser: NOT VALID for ' +
          'any certificate key of the registry.';
      out.dataset.result = 'invalid';
    }
  } catch (e) {
    out.textContent = `The signature could not be checked here: ${e.message}`;
    out.dataset.result = 'error';
  }
}

async function checkFile(file) {
  const out = document.getElementById('file-check');
  const digest = toHex(new Uint8Array(
      await crypto.subtle.digest('SHA-256', await file.arrayBuffer())));
  const subjects = statement ? statement.subject : [];
  const match = subjects.find(
      (s) => s.name !== 'loupe:subject-set' && s.digest.sha256 === digest);
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
  const url = new URL(location.pathname, location.origin).href;
  const qr = qrcode(0, 'M');
  qr.addData(url);
  qr.make();
  box.innerHTML = qr.createSvgTag({cellSize: 4, margin: 2, scalable: true});
  document.getElementById('qr-url').textContent = url;
  box.dataset.result = 'drawn';
}

setUpDrop();
checkSignature();
showTwin();
showQr();
