// Unit tests of the verify page's trust logic (server/http/web/trust.js and
// checks.js) in node: roots, certificates, checkpoints, cosignatures and
// status statements made here with @noble/ed25519, and each rule of `loupe
// verify` the page mirrors: the pin, root thresholds, rollback and skipped
// versions, key roles and validity windows, the checkpoint key valid now,
// the witness policy, the piece's status. Known answers from
// docs/certificate-format.md tie the encodings to the C++ ones.
//
// Usage: node trust_test.mjs
import assert from 'node:assert/strict';
import path from 'node:path';
import test from 'node:test';
import {fileURLToPath} from 'node:url';

const web = path.resolve(path.dirname(fileURLToPath(import.meta.url)),
                         '../../server/http/web');
const ed = await import(path.join(web, 'node_modules/@noble/ed25519/index.js'));
const trust = await import(path.join(web, 'trust.js'));
const checks = await import(path.join(web, 'checks.js'));
trust.useEd25519(ed.verifyAsync);
const {concat, pae, sha256, toHex} = trust;

const text = new TextEncoder();
const b64 = (bytes) => Buffer.from(bytes).toString('base64');
const hex = (bytes) => Buffer.from(bytes).toString('hex');
const DAY = 24 * 3600 * 1000;
const NOW = Date.UTC(2026, 5, 1);
const iso = (ms) => new Date(ms).toISOString().replace('.000Z', 'Z');

// Canonical JSON for the ASCII-only objects made here.
function canonical(v) {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
        .join(',')}}`;
  }
  return JSON.stringify(v);
}

async function newKey() {
  const secret = ed.utils.randomSecretKey();
  const pub = await ed.getPublicKeyAsync(secret);
  return {secret, pub: hex(pub), keyid: toHex(await sha256(pub))};
}

async function envelope(type, payloadText, signers) {
  const payload = text.encode(payloadText);
  const signatures = [];
  for (const k of signers) {
    signatures.push({keyid: k.keyid, sig: b64(await ed.signAsync(pae(type, payload), k.secret))});
  }
  return {payload: b64(payload), payloadType: type, signatures};
}

// A signed root: keys [{key, roles, from, until}].
function rootPayload({origin = 'test.example/loupe', version = 1, threshold = 1, keys,
                      witnesses}) {
  const root = {_type: 'https://loupe.dev/TrustRoot/v1', origin, version, threshold,
                keys: keys.map(({key, roles, from = NOW - 100 * DAY, until}) => ({
                  keyid: key.keyid, public_key: key.pub, roles, valid_from: iso(from),
                  ...(until ? {valid_until: iso(until)} : {})}))};
  if (witnesses) {
    root.witnesses = witnesses.list.map((w) => ({name: w.name, public_key: w.key.pub}));
    root.witness_threshold = witnesses.threshold;
  }
  return canonical(root);
}
const signRoot = (fields, signers) =>
  envelope(trust.ROOT_PAYLOAD_TYPE, rootPayload(fields), signers);

async function statementPayload({keyid, issuedAt, pieceId = 'pc_1', files = {'ring.stl': 'a'}}) {
  const subjects = await Promise.all(Object.entries(files).map(async ([name, content]) =>
    ({digest: {sha256: toHex(await sha256(text.encode(content)))}, name})));
  const set = await checks.subjectSetDigest(
      subjects.map((s) => ({name: s.name, sha256: s.digest.sha256})));
  return canonical({
    _type: 'https://in-toto.io/Statement/v1',
    predicate: {issued_at: iso(issuedAt), keyid, piece_id: pieceId, version: 1},
    predicateType: 'https://loupe.dev/TwinCertificate/v1',
    subject: [...subjects, {digest: {sha256: set}, name: 'loupe:subject-set'}],
  });
}

// A one-entry log: the certificate's entry, a checkpoint signed by
// `checkpointKey`, cosigned by each of `cosigners` ({name, key}).
async function logFor(cert, origin, checkpointKey, cosigners = []) {
  const payload = Buffer.from(cert.payload, 'base64');
  const entry = await checks.certificateLogEntry(payload, 'pc_1', 1);
  const root = await sha256(concat(Uint8Array.of(0), text.encode(entry)));
  const body = `${origin}\n1\n${b64(root)}\n`;
  const id = async (name, type, key) =>
    (await sha256(concat(text.encode(`${name}\n`), Uint8Array.of(type),
                         Buffer.from(key.pub, 'hex')))).slice(0, 4);
  let lines = `\u2014 ${origin} ${b64(concat(await id(origin, 1, checkpointKey),
      await ed.signAsync(text.encode(body), checkpointKey.secret)))}\n`;
  for (const w of cosigners) {
    const time = BigInt(Math.floor(NOW / 1000));
    const stamp = new Uint8Array(8);
    new DataView(stamp.buffer).setBigUint64(0, time);
    const sig = await ed.signAsync(text.encode(`cosignature/v1\ntime ${time}\n${body}`),
                                   w.key.secret);
    lines += `\u2014 ${w.name} ${b64(concat(await id(w.name, 4, w.key), stamp, sig))}\n`;
  }
  return {index: 0, tree_size: 1, inclusion_proof: [], checkpoint: `${body}\n${lines}`};
}

const statusEnvelope = (key, {status = 'active', asOf = NOW - 60000, pieceId = 'pc_1'} = {}) =>
  envelope('application/vnd.loupe.piece-status+json', canonical({
    as_of: iso(asOf), changed_by: 'insurer:axa', keyid: key.keyid, owner: '',
    owner_sequence: 0, piece_id: pieceId, reason: status === 'active' ? '' : 'police report',
    status, status_sequence: 1}), [key]);

// A registry: root key R, signing key S1 (retired at NOW - 10 days by root
// v2) and S2; a certificate by S1 from before the rotation.
async function registry({witnesses} = {}) {
  const R = await newKey(), S1 = await newKey(), S2 = await newKey();
  const retired = NOW - 10 * DAY;
  const both = ['certificate', 'checkpoint'];
  const v1 = await signRoot({keys: [{key: R, roles: ['root']}, {key: S1, roles: both}],
                             witnesses}, [R]);
  const v2 = await signRoot({version: 2, witnesses, keys: [
    {key: R, roles: ['root']}, {key: S1, roles: both, until: retired},
    {key: S2, roles: both, from: retired}]}, [R]);
  const cert = await envelope('application/vnd.in-toto+json',
      await statementPayload({keyid: S1.keyid, issuedAt: NOW - 20 * DAY}), [S1]);
  const pin = toHex(await sha256(Buffer.from(v1.payload, 'base64')));
  return {R, S1, S2, v1, v2, cert, pin, retired};
}

async function page(reg, {roots = [reg.v1, reg.v2], cert = reg.cert, pin = reg.pin,
                          log, status, now = NOW, logCopy} = {}) {
  const bundle = {certificate: cert,
                  log: log ?? await logFor(cert, 'test.example/loupe', reg.S2)};
  if (status !== null) bundle.status = status ?? await statusEnvelope(reg.S2);
  return checks.verifyPage({pin, roots, bundle, logCopy,
                            certificateId: await checks.certificateId(
                                Buffer.from(cert.payload, 'base64')), now});
}

test('known answers of docs/certificate-format.md', async () => {
  assert.equal(new TextDecoder().decode(pae('http://example.com/HelloWorld',
                                            text.encode('hello world'))),
               'DSSEv1 29 http://example.com/HelloWorld 11 hello world');
  assert.equal(toHex(await sha256(Buffer.from(
      'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', 'hex'))),
  '21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9');
  assert.equal(trust.canonicalString('a"\\\n\u0001é/'), '"a\\"\\\\\\n\\u0001é/"');
});

test('a pinned genuine certificate verifies through the rotation', async () => {
  const reg = await registry();
  const r = await page(reg);
  assert.equal(r.error, null);
  assert.ok(r.ok && r.anchored);
  assert.equal(r.root.version, 2);
  assert.equal(r.certificate.keyid, reg.S1.keyid);
  assert.equal(r.status.status, 'active');
  assert.deepEqual(r.witnesses, {needed: 0, listed: 0, vouched: []});
});

test('without a pin the server is trusted, and the report says so', async () => {
  const r = await page(await registry(), {pin: null});
  assert.ok(r.ok);
  assert.equal(r.anchored, false);
});

test('a look-alike registry does not match the pin', async () => {
  const genuine = await registry(), fake = await registry();
  const r = await page(fake, {pin: genuine.pin});
  assert.equal(r.failed, 'root');
  assert.match(r.error, /matches the pin/);
  assert.equal((await page(fake, {pin: 'ab'.repeat(31)})).failed, 'root');
});

test('a root not signed by its own keys is refused even when pinned', async () => {
  const reg = await registry();
  const stranger = await newKey();
  const unsigned = await signRoot({keys: [{key: reg.R, roles: ['root']}]}, [stranger]);
  const pin = toHex(await sha256(Buffer.from(unsigned.payload, 'base64')));
  const r = await page(reg, {roots: [unsigned], pin});
  assert.equal(r.failed, 'root');
  assert.match(r.error, /0 valid signature\(s\) by its own \(v1\) root keys; 1 needed/);
});

test('a forged next root (not signed by root 1) is refused', async () => {
  const reg = await registry();
  const attacker = await newKey();
  const forged = await signRoot({version: 2, keys: [
    {key: attacker, roles: ['root', 'certificate', 'checkpoint']}]}, [attacker]);
  const cert = await envelope('application/vnd.in-toto+json',
      await statementPayload({keyid: attacker.keyid, issuedAt: NOW - DAY}), [attacker]);
  const r = await page(reg, {roots: [reg.v1, forged], cert,
                             log: await logFor(cert, 'test.example/loupe', attacker),
                             status: await statusEnvelope(attacker)});
  assert.equal(r.failed, 'root');
  assert.match(r.error, /0 valid signature\(s\) by the previous \(v1\) root keys; 1 needed/);
});

test('thresholds, origin, rollback and skipped versions', async () => {
  const [A, B, S] = [await newKey(), await newKey(), await newKey()];
  const keys = [{key: A, roles: ['root']}, {key: B, roles: ['root']},
                {key: S, roles: ['certificate']}];
  const v1 = await signRoot({threshold: 2, keys}, [A, B]);
  const one = await signRoot({threshold: 2, keys}, [A, A]);  // A twice counts once.
  await assert.rejects(trust.verifyInitialRoot(trust.parseEnvelope(one, 'r')),
                       /1 valid signature\(s\) by its own \(v1\) root keys; 2 needed/);
  const trusted = await trust.verifyInitialRoot(trust.parseEnvelope(v1, 'r'));
  const next = async (fields, signers) =>
    trust.verifyNextRoot(trusted, trust.parseEnvelope(await signRoot(fields, signers), 'r'));
  await assert.rejects(next({version: 2, threshold: 2, keys, origin: 'other/loupe'}, [A, B]),
                       /origin other\/loupe is not test.example\/loupe/);
  await assert.rejects(next({version: 1, threshold: 2, keys}, [A, B]), /rollback from v1/);
  await assert.rejects(next({version: 3, threshold: 2, keys}, [A, B]), /skips v2/);
  // Root 2 with a new key C: signed by A and B (the previous threshold)
  // but not by two of its own root keys.
  const C = await newKey();
  const rotated = {version: 2, threshold: 2, keys: [{key: B, roles: ['root']},
                                                    {key: C, roles: ['root']}]};
  await assert.rejects(next(rotated, [A, B]), /1 valid signature\(s\) by its own \(v2\)/);
  await assert.rejects(next(rotated, [B, C]), /1 valid signature\(s\) by the previous \(v1\)/);
  assert.equal((await next(rotated, [A, B, C])).version, 2);
});

test('malformed roots are refused naming the field', async () => {
  const K = await newKey();
  const bad = async (fields, pattern, mutate = (r) => r) => {
    const root = JSON.parse(rootPayload(fields));
    const env = await envelope(trust.ROOT_PAYLOAD_TYPE, canonical(mutate(root)), [K]);
    await assert.rejects(trust.verifyInitialRoot(trust.parseEnvelope(env, 'r')), pattern);
  };
  const keys = [{key: K, roles: ['root']}];
  await bad({keys}, /root.threshold/, (r) => ({...r, threshold: 2}));
  await bad({keys}, /keyid: must be the SHA-256/, (r) => {
    r.keys[0].keyid = '00'.repeat(32);
    return r;
  });
  await bad({keys}, /roles: root, certificate or checkpoint/, (r) => {
    r.keys[0].roles = ['admin'];
    return r;
  });
  await bad({keys, until: NOW}, /valid_from: must be a UTC time/, (r) => {
    r.keys[0].valid_from = '2026-01-01';
    return r;
  });
  await bad({keys}, /root.witness_threshold/, (r) =>
    ({...r, witnesses: [{name: 'w', public_key: K.pub}], witness_threshold: 2}));
});

test('a certificate by a retired key, dated after valid_until, is refused', async () => {
  const reg = await registry();
  const cert = await envelope('application/vnd.in-toto+json',
      await statementPayload({keyid: reg.S1.keyid, issuedAt: reg.retired + DAY}), [reg.S1]);
  const r = await page(reg, {cert});
  assert.equal(r.failed, 'certificate');
  assert.match(r.error, /was not valid at .* until /);
  // Dated just before the key's valid_until it is fine (exclusive end).
  const before = await envelope('application/vnd.in-toto+json',
      await statementPayload({keyid: reg.S1.keyid, issuedAt: reg.retired - 1000}), [reg.S1]);
  assert.equal((await page(reg, {cert: before})).error, null);
});

test('only certificate keys sign certificates; the statement must hold', async () => {
  const reg = await registry();
  const R = reg.R;  // A root key, not a certificate key.
  const byRoot = await envelope('application/vnd.in-toto+json',
      await statementPayload({keyid: R.keyid, issuedAt: NOW - DAY}), [R]);
  assert.match((await page(reg, {cert: byRoot})).error, /key id .* is not trusted/);
  const payload = JSON.parse(await statementPayload({keyid: reg.S2.keyid, issuedAt: NOW - DAY}));
  payload.subject.unshift({digest: {sha256: 'ff'.repeat(32)}, name: 'extra.jpg'});
  const unset = await envelope('application/vnd.in-toto+json', canonical(payload), [reg.S2]);
  assert.match((await page(reg, {cert: unset})).error, /subject-set digest does not match/);
  const wrong = await envelope('application/vnd.in-toto+json',
      await statementPayload({keyid: reg.S1.keyid, issuedAt: NOW - DAY}), [reg.S2]);
  assert.match((await page(reg, {cert: wrong})).error, /does not name the key that signed/);
});

test('the checkpoint key must be valid now, and the proof must hold', async () => {
  const reg = await registry();
  const stale = await logFor(reg.cert, 'test.example/loupe', reg.S1);  // Retired.
  const r = await page(reg, {log: stale});
  assert.equal(r.failed, 'log');
  assert.match(r.error, /was not valid at/);
  const other = await newKey();
  assert.match((await page(reg, {log: await logFor(reg.cert, 'test.example/loupe', other)}))
      .error, /not signed by a checkpoint key/);
  const log = await logFor(reg.cert, 'test.example/loupe', reg.S2);
  assert.match((await page(reg, {log: {...log, tree_size: 2}})).error, /checkpoint is of size 1/);
  assert.match((await page(reg, {log: {...log, index: 1}})).error, /does not prove entry 1/);
  const unlogged = await checks.verifyPage({
    pin: reg.pin, roots: [reg.v1, reg.v2], bundle: {certificate: reg.cert}, now: NOW,
    certificateId: await checks.certificateId(Buffer.from(reg.cert.payload, 'base64'))});
  assert.match(unlogged.error, /bundle.log: missing/);
});

test('a log of several entries: inclusion proofs of RFC 9162', async () => {
  const leaves = await Promise.all([0, 1, 2, 3, 4].map((i) =>
    sha256(concat(Uint8Array.of(0), text.encode(`entry ${i}`)))));
  const node = (l, r) => sha256(concat(Uint8Array.of(1), l, r));
  const mth = async (xs) => {
    if (xs.length === 1) return xs[0];
    const k = 2 ** Math.floor(Math.log2(xs.length - 1));
    return node(await mth(xs.slice(0, k)), await mth(xs.slice(k)));
  };
  const path = async (m, xs) => {
    if (xs.length === 1) return [];
    const k = 2 ** Math.floor(Math.log2(xs.length - 1));
    return m < k ? [...await path(m, xs.slice(0, k)), await mth(xs.slice(k))]
                 : [...await path(m - k, xs.slice(k)), await mth(xs.slice(0, k))];
  };
  const root = await mth(leaves);
  for (let i = 0; i < 5; i++) {
    const proof = await path(i, leaves);
    assert.ok(await checks.verifyInclusion(leaves[i], i, 5, proof, root), `entry ${i}`);
    assert.ok(!await checks.verifyInclusion(leaves[i], (i + 1) % 5, 5, proof, root));
  }
});

test('the witnesses the root names must cosign, k of n', async () => {
  const w = [{name: 'witness.example/one', key: await newKey()},
             {name: 'witness.example/two', key: await newKey()},
             {name: 'witness.example/three', key: await newKey()}];
  const reg = await registry({witnesses: {list: w, threshold: 2}});
  const withCosigners = async (cosigners) =>
    page(reg, {log: await logFor(reg.cert, 'test.example/loupe', reg.S2, cosigners)});
  const none = await withCosigners([]);
  assert.equal(none.failed, 'witnesses');
  assert.match(none.error, /0 of the 3 witnesses .* 2 needed/);
  const one = await withCosigners([w[1]]);
  assert.match(one.error, /1 of the 3 witnesses .*witness.example\/two.*; 2 needed/);
  // A cosignature by a key the root does not name under that name counts
  // for nothing.
  const impostor = {name: 'witness.example/one', key: await newKey()};
  assert.equal((await withCosigners([impostor, w[1]])).failed, 'witnesses');
  const two = await withCosigners([w[0], w[2]]);
  assert.equal(two.error, null);
  assert.deepEqual(two.witnesses.vouched.map((v) => v.name),
                   ['witness.example/one', 'witness.example/three']);
  assert.equal(two.witnesses.vouched[0].time, Math.floor(NOW / 1000) * 1000);
});

test("the piece's status: signed, for this piece, current", async () => {
  const reg = await registry();
  const stolen = await page(reg, {status: await statusEnvelope(reg.S2, {status: 'stolen'})});
  assert.ok(stolen.ok);
  assert.equal(stolen.status.status, 'stolen');
  assert.equal((await page(reg, {status: null})).status, null);
  const old = await page(reg, {status: await statusEnvelope(reg.S2, {asOf: NOW - 2 * DAY})});
  assert.match(old.error, /too old/);
  const other = await page(reg, {status: await statusEnvelope(reg.S2, {pieceId: 'pc_2'})});
  assert.match(other.error, /about piece pc_2, not pc_1/);
  // Signed by the retired key after its valid_until.
  const late = await page(reg, {status: await statusEnvelope(reg.S1)});
  assert.equal(late.failed, 'status');
  assert.match(late.error, /was not valid at/);
});

// A log of `n` entries whose entry `at` is the certificate's, as its static
// copy (C2SP tlog-tiles) holds it: tiles built here from RFC 9162 hashing,
// checkpoints of any size signed by S2, inclusion proofs.
async function staticCopy(reg, n, at, salt = '') {
  const entry = await checks.certificateLogEntry(Buffer.from(reg.cert.payload, 'base64'),
                                                 'pc_1', 1);
  const leaves = [];
  for (let i = 0; i < n; i++) {
    leaves.push(await sha256(concat(Uint8Array.of(0),
                                    text.encode(i === at ? entry : `entry ${salt}${i}`))));
  }
  const node = (l, r) => sha256(concat(Uint8Array.of(1), l, r));
  const mth = async (xs) => {
    if (xs.length === 1) return xs[0];
    const k = 2 ** Math.floor(Math.log2(xs.length - 1));
    return node(await mth(xs.slice(0, k)), await mth(xs.slice(k)));
  };
  const path = async (m, xs) => {
    if (xs.length === 1) return [];
    const k = 2 ** Math.floor(Math.log2(xs.length - 1));
    return m < k ? [...await path(m, xs.slice(0, k)), await mth(xs.slice(k))]
                 : [...await path(m - k, xs.slice(k)), await mth(xs.slice(0, k))];
  };
  const objects = new Map();
  for (let level = 0; Math.floor(n / 256 ** level) > 0; level++) {
    const nodes = Math.floor(n / 256 ** level), span = 256 ** level;
    for (let t = 0; t * 256 < nodes; t++) {
      const width = Math.min(256, nodes - t * 256);
      const hashes = [];
      for (let j = t * 256; j < t * 256 + width; j++) {
        hashes.push(await mth(leaves.slice(j * span, (j + 1) * span)));
      }
      objects.set(checksTileKey(level, t, width), concat(...hashes));
    }
  }
  const id = async (name, key) =>
    (await sha256(concat(text.encode(`${name}\n`), Uint8Array.of(1),
                         Buffer.from(key.pub, 'hex')))).slice(0, 4);
  const origin = 'test.example/loupe';
  const note = async (size) => {
    const body = `${origin}\n${size}\n${b64(await mth(leaves.slice(0, size)))}\n`;
    return `${body}\n\u2014 ${origin} ${b64(concat(await id(origin, reg.S2),
        await ed.signAsync(text.encode(body), reg.S2.secret)))}\n`;
  };
  const held = async (size) => ({index: at, tree_size: size, checkpoint: await note(size),
                                 inclusion_proof: (await path(at, leaves.slice(0, size))).map(b64)});
  const get = async (key) => {
    if (!objects.has(key)) throw new Error(`${key}: HTTP 404`);
    return objects.get(key);
  };
  return {objects, note, held, get};
}
const {tileKey: checksTileKey} = await import(path.join(web, 'static_log.js'));

test("the log's static copy: proofs rebuilt from its tiles; damaged, stale, forked refused",
     async () => {
  const reg = await registry();
  const copy = await staticCopy(reg, 300, 260);
  copy.objects.set('checkpoint', text.encode(await copy.note(300)));
  const held = await copy.held(270);
  let r = await page(reg, {log: held, logCopy: copy.get});
  assert.ok(r.ok, r.error);
  assert.equal(r.log.copy, true);
  assert.equal(r.log.treeSize, 300);
  assert.equal(checksTileKey(0, 1234067, 5), 'tile/0/x001/x234/067.p/5');

  // A flipped byte in the partial tile at the copy's edge: named.
  const edge = copy.objects.get('tile/0/001.p/44');
  const flipped = edge.slice();
  flipped[3] ^= 1;
  copy.objects.set('tile/0/001.p/44', flipped);
  r = await page(reg, {log: held, logCopy: copy.get});
  assert.equal(r.ok, false);
  assert.equal(r.failed, 'log');
  assert.match(r.error, /tile\/0\/001\.p\/44/);
  copy.objects.set('tile/0/001.p/44', edge);

  // A copy older than the certificate's checkpoint: stale.
  copy.objects.set('checkpoint', text.encode(await copy.note(265)));
  r = await page(reg, {log: held, logCopy: copy.get});
  assert.equal(r.ok, false);
  assert.match(r.error, /stale or rolled-back/);

  // Another history of the same log, signed by the same key: a fork.
  const fork = await staticCopy(reg, 300, 260, 'forked ');
  fork.objects.set('checkpoint', text.encode(await fork.note(300)));
  r = await page(reg, {log: held, logCopy: fork.get});
  assert.equal(r.ok, false);
  assert.match(r.error, /not consistent/);
});
