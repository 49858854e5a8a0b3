// The certificate's checks against a trusted root (trust.js), as `loupe
// verify` makes them (crypto/certificate.cc, statement.cc, log_entry.cc,
// checkpoint.cc, piece_status.cc), plus the witness policy (C2SP
// tlog-cosignature/v1), and verifyPage: the whole report the verify page
// shows. Pure functions of their inputs and the clock passed in; node runs
// them too (tests/web/trust_test.mjs).
import {staticLog} from './static_log.js';
import {
  HEX64, TrustError, anchorRoots, canonicalString, compareBytes, concat, equal,
  formatTime, fromBase64, fromHex, isCount, isObject, keyValidAt, keysWithRole,
  parseEnvelope, parseTime, sha256, toHex, verifyEnvelope, verifySignature,
} from './trust.js';

const text = new TextEncoder();
const utf8 = new TextDecoder('utf-8', {fatal: true});

const STATEMENT_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
const CERTIFICATE_PREDICATE = 'https://loupe.dev/TwinCertificate/v1';
const STATUS_PAYLOAD_TYPE = 'application/vnd.loupe.piece-status+json';
const SUBJECT_SET = 'loupe:subject-set';
// A stapled status older than this does not make the verdict: the page
// staples a fresh one on every visit, so an old one is a replay.
export const MAX_STATUS_AGE_MS = 24 * 3600 * 1000;

function parseJsonObject(bytes, what) {
  try {
    const json = JSON.parse(utf8.decode(bytes));
    if (isObject(json)) return json;
  } catch {}
  throw new Error(`${what}: not a JSON object`);
}

// ---- the certificate ----------------------------------------------------

const bySubject = (a, b) => compareBytes(a.name, b.name) || compareBytes(a.sha256, b.sha256);

export async function subjectSetDigest(subjects) {
  const canonical = [...subjects].sort(bySubject).map((s) =>
    `{"digest":{"sha256":"${s.sha256}"},"name":${canonicalString(s.name)}}`);
  return toHex(await sha256(text.encode(`[${canonical.join(',')}]`)));
}

function checkSubjects(subjects) {
  subjects.forEach((s, i) => {
    if (s.name === '' || s.name === SUBJECT_SET) {
      throw new Error(`statement.subject[${i}].name: empty or reserved`);
    }
    if (!HEX64.test(s.sha256)) {
      throw new Error(`statement.subject[${i}].digest.sha256: must be 64 lower-case hex characters`);
    }
  });
  const sorted = [...subjects].sort(bySubject);
  for (let i = 1; i < sorted.length; i++) {
    if (bySubject(sorted[i], sorted[i - 1]) === 0) {
      throw new Error(`statement.subject: ${sorted[i].name} listed twice`);
    }
  }
}

// The statement, after its signature verified (ParseStatement).
export async function parseStatement(payload) {
  const json = parseJsonObject(payload, 'statement');
  if (json._type !== STATEMENT_TYPE) throw new Error(`statement._type: must be ${STATEMENT_TYPE}`);
  if (!Array.isArray(json.subject)) throw new Error('statement.subject: missing');
  const subjects = [];
  let setDigest = '';
  json.subject.forEach((s, i) => {
    if (!isObject(s) || typeof s.name !== 'string' || !isObject(s.digest) ||
        typeof s.digest.sha256 !== 'string') {
      throw new Error(`statement.subject[${i}]: needs a name and digest.sha256`);
    }
    if (s.name === SUBJECT_SET) {
      setDigest = s.digest.sha256;
    } else {
      subjects.push({name: s.name, sha256: s.digest.sha256});
    }
  });
  checkSubjects(subjects);
  if (setDigest !== await subjectSetDigest(subjects)) {
    throw new Error(`statement.subject: the ${SUBJECT_SET} digest does not match the listed files`);
  }
  if (typeof json.predicateType !== 'string' || json.predicateType === '' ||
      !isObject(json.predicate)) {
    throw new Error('statement.predicate: predicateType and an object are required');
  }
  return {subjects: subjects.sort(bySubject), predicateType: json.predicateType,
          predicate: json.predicate};
}

// VerifyCertificate: signed by a `certificate` key of `root`, a well-formed
// statement naming that key, and the key valid at the stated issue time.
export async function verifyCertificate(envelope, root) {
  if (envelope.payloadType !== STATEMENT_PAYLOAD_TYPE) {
    throw new Error(`envelope.payloadType: must be ${STATEMENT_PAYLOAD_TYPE}`);
  }
  const keyid = await verifyEnvelope(envelope, keysWithRole(root, 'certificate'));
  const statement = await parseStatement(envelope.payload);
  if (statement.predicateType !== CERTIFICATE_PREDICATE) {
    throw new Error(`statement.predicateType: must be ${CERTIFICATE_PREDICATE}`);
  }
  let issuedAt;
  try {
    issuedAt = parseTime(statement.predicate.issued_at, 'predicate.issued_at');
  } catch {
    throw new Error('predicate.issued_at: missing or not a UTC time');
  }
  if (statement.predicate.keyid !== keyid) {
    throw new Error('predicate.keyid: does not name the key that signed');
  }
  keyValidAt(root, keyid, 'certificate', issuedAt);
  return {statement, keyid, issuedAt};
}

export async function certificateId(payload) {
  return `ct_${toHex(await sha256(payload)).slice(0, 32)}`;
}

// ---- the log ------------------------------------------------------------

// The certificate's log entry (docs/transparency-log.md).
export async function certificateLogEntry(payload, pieceId, version) {
  const digest = toHex(await sha256(payload));
  return `{"certificate_id":"ct_${digest.slice(0, 32)}","piece_id":${canonicalString(pieceId)},` +
      `"statement_sha256":"${digest}","type":"certificate","version":${version}}`;
}

function parseLogProof(json) {
  if (!isObject(json)) throw new Error('bundle.log: not an object');
  for (const field of ['index', 'tree_size']) {
    if (!isCount(json[field])) {
      throw new Error(`bundle.log.${field}: missing or not a non-negative integer`);
    }
  }
  if (typeof json.checkpoint !== 'string') throw new Error('bundle.log.checkpoint: missing or not a string');
  if (!Array.isArray(json.inclusion_proof) || json.inclusion_proof.length > 64) {
    throw new Error('bundle.log.inclusion_proof: missing or not an array of hashes');
  }
  const inclusion = json.inclusion_proof.map((h, i) => {
    let raw = null;
    try {
      raw = fromBase64(h);
    } catch {}
    if (!raw || raw.length !== 32) {
      throw new Error(`bundle.log.inclusion_proof[${i}]: not a base64 SHA-256 hash`);
    }
    return raw;
  });
  return {index: json.index, treeSize: json.tree_size, checkpoint: json.checkpoint, inclusion};
}

const nodeHash = (l, r) => sha256(concat(Uint8Array.of(1), l, r));

// RFC 9162 2.1.3.2 (crypto/merkle.cc VerifyInclusion).
export async function verifyInclusion(leafHash, index, size, proof, root) {
  if (index >= size) return false;
  let fn = index, sn = size - 1, r = leafHash;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equal(r, root);
}

// RFC 9162 2.1.4.2 (crypto/merkle.cc VerifyConsistency).
export async function verifyConsistency(m, n, oldRoot, newRoot, proof) {
  if (m === n) return proof.length === 0 && equal(oldRoot, newRoot);
  if (m === 0 || m > n) return false;
  const p = Number.isInteger(Math.log2(m)) ? [oldRoot, ...proof] : proof;
  if (p.length === 0) return false;
  let fn = m - 1, sn = n - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = p[0], sr = p[0];
  for (const c of p.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equal(fr, oldRoot) && equal(sr, newRoot);
}

// A signed note (C2SP signed-note): its body and signature lines, checked
// as crypto/checkpoint.cc does.
export function parseNote(note) {
  const split = note.indexOf('\n\n');
  if (split < 0) throw new Error('note: no blank line between the text and its signatures');
  const body = note.slice(0, split + 1);
  const lines = body.split('\n').slice(0, -1);
  if (lines.length < 3) throw new Error('checkpoint: needs origin, size and root lines');
  if (lines[0] === '') throw new Error('checkpoint line 1: empty origin');
  if (!/^(0|[1-9][0-9]*)$/.test(lines[1]) || !Number.isSafeInteger(Number(lines[1]))) {
    throw new Error('checkpoint line 2: size must be decimal without leading zeros');
  }
  let root = null;
  try {
    root = /[-_]/.test(lines[2]) ? null : fromBase64(lines[2]);
  } catch {}
  if (!root || root.length !== 32) {
    throw new Error('checkpoint line 3: root must be standard base64 of 32 bytes');
  }
  const signatures = [];
  let rest = note.slice(split + 2);
  while (rest !== '') {
    const nl = rest.indexOf('\n');
    if (nl < 0) throw new Error('note: signature line without newline');
    const line = rest.slice(0, nl);
    rest = rest.slice(nl + 1);
    if (!line.startsWith('\u2014 ')) {
      throw new Error('note: a signature line must start with an em dash');
    }
    const space = line.lastIndexOf(' ');
    if (space < 2) throw new Error('note: malformed signature line');
    let blob = null;
    try {
      blob = fromBase64(line.slice(space + 1));
    } catch {}
    signatures.push({name: line.slice(2, space), blob});
  }
  return {body, origin: lines[0], size: Number(lines[1]), root, signatures};
}

const noteKeyId = async (name, type, publicKeyHex) =>
  (await sha256(concat(text.encode(`${name}\n`), Uint8Array.of(type), fromHex(publicKeyHex))))
      .slice(0, 4);

// The note signed by `name`'s Ed25519 key (signed-note type 0x01)?
async function signedBy(note, name, publicKeyHex) {
  const id = await noteKeyId(name, 0x01, publicKeyHex);
  for (const s of note.signatures) {
    if (s.name === name && s.blob?.length === 68 && equal(s.blob.slice(0, 4), id) &&
        await verifySignature(publicKeyHex, text.encode(note.body), s.blob.slice(4))) {
      return true;
    }
  }
  return false;
}

// The checkpoint signed by a `checkpoint` key of `root` valid `now`
// (VerifyRootCheckpoint, with the key's validity at verification time).
async function verifyRootCheckpoint(note, root, now) {
  const keys = root.keys.filter((k) => k.roles.includes('checkpoint'));
  if (keys.length === 0) throw new Error('checkpoint: the trust root lists no checkpoint key');
  for (const key of keys) {
    if (!await signedBy(note, root.origin, key.publicKey)) continue;
    keyValidAt(root, key.keyid, 'checkpoint', now);
    return;
  }
  throw new Error(`checkpoint: not signed by a checkpoint key of ${root.origin}`);
}

// VerifyLogInclusion: the entry rebuilt from the certificate is in the
// tree the checkpoint signs.
export async function verifyLog(logJson, envelope, predicate, root, now) {
  if (logJson === undefined) {
    throw new Error('bundle.log: missing; nothing shows this certificate was logged');
  }
  const proof = parseLogProof(logJson);
  const note = parseNote(proof.checkpoint);
  await verifyRootCheckpoint(note, root, now);
  if (note.origin !== root.origin) {
    throw new Error(`checkpoint: origin ${note.origin} is not ${root.origin}`);
  }
  if (note.size !== proof.treeSize) {
    throw new Error(`log.tree_size: ${proof.treeSize} but the checkpoint is of size ${note.size}`);
  }
  const entry = await certificateLogEntry(envelope.payload, predicate.piece_id ?? '',
                                          predicate.version ?? 0);
  const leaf = await sha256(concat(Uint8Array.of(0), text.encode(entry)));
  if (!await verifyInclusion(leaf, proof.index, proof.treeSize, proof.inclusion, note.root)) {
    throw new Error(`log.inclusion_proof: does not prove entry ${proof.index} in the signed ` +
        `tree of ${proof.treeSize} entries (this certificate was not logged as the bundle claims)`);
  }
  return {index: proof.index, treeSize: proof.treeSize, note, leaf};
}

// The log's static copy (`get`, static_log.js) instead of the bundle's
// proof: its checkpoint signed by a checkpoint key of `root`, not older
// than and consistent with the bundle's (`held`, verified), and the
// entry's inclusion proof rebuilt from its tiles; a tile that does not fit
// is named. As `loupe verify --log-url`.
export async function verifyStaticLog(get, held, leaf, root, now) {
  const note = parseNote(utf8.decode(await get('checkpoint')));
  await verifyRootCheckpoint(note, root, now);
  if (note.origin !== root.origin) {
    throw new Error(`the log copy's checkpoint: origin ${note.origin} is not ${root.origin}`);
  }
  if (note.size < held.treeSize || held.index >= note.size) {
    throw new Error(`the log copy's checkpoint holds ${note.size} entries, fewer than the ` +
        `checkpoint this certificate carries (${held.treeSize}): a stale or rolled-back copy`);
  }
  const log = staticLog(get, note.size);
  const damaged = () => `one of ${log.takeRead().join(', ')} was altered or swapped`;
  if (!equal(await log.root(), note.root)) {
    throw new Error(`the log copy's tiles do not rebuild its signed root: ${damaged()}`);
  }
  log.takeRead();
  if (!await verifyConsistency(held.treeSize, note.size, held.note.root, note.root,
                               await log.consistencyProof(held.treeSize))) {
    throw new Error(`the log copy is not consistent with the checkpoint this certificate ` +
        `carries (a fork or a damaged copy: ${damaged()})`);
  }
  log.takeRead();
  if (!await verifyInclusion(leaf, held.index, note.size,
                             await log.inclusionProof(held.index), note.root)) {
    throw new Error(`the inclusion proof rebuilt from the log copy's tiles does not reach ` +
        `its root: ${damaged()}`);
  }
  return {index: held.index, treeSize: note.size, note, copy: true};
}

// The witnesses of `root` whose C2SP tlog-cosignature/v1 (Ed25519) is on
// the checkpoint; at least root.witnesses.threshold of them.
export async function verifyWitnesses(note, root) {
  const {list, threshold} = root.witnesses;
  const vouched = [];
  for (const w of list) {
    const id = await noteKeyId(w.name, 0x04, w.publicKey);
    for (const s of note.signatures) {
      if (s.name !== w.name || s.blob?.length !== 76 || !equal(s.blob.slice(0, 4), id)) continue;
      const time = new DataView(s.blob.buffer, s.blob.byteOffset + 4, 8).getBigUint64(0);
      if (time >= 2n ** 63n) continue;
      const message = text.encode(`cosignature/v1\ntime ${time}\n${note.body}`);
      if (await verifySignature(w.publicKey, message, s.blob.slice(12))) {
        vouched.push({name: w.name, time: Number(time) * 1000});
        break;
      }
    }
  }
  if (vouched.length < threshold) {
    throw new Error(`witnesses: ${vouched.length} of the ${list.length} witnesses the root ` +
        `names cosigned the checkpoint${vouched.length ? ` (${vouched.map((w) => w.name)
          .join(', ')})` : ''}; ${threshold} needed`);
  }
  return {needed: threshold, listed: list.length, vouched};
}

// ---- the piece's status -------------------------------------------------

// VerifyPieceStatus, for `pieceId`, at most MAX_STATUS_AGE_MS old at `now`.
export async function verifyStatus(envelope, root, pieceId, now) {
  if (envelope.payloadType !== STATUS_PAYLOAD_TYPE) {
    throw new Error(`status.payloadType: expected ${STATUS_PAYLOAD_TYPE}`);
  }
  let keyid;
  try {
    keyid = await verifyEnvelope(envelope, keysWithRole(root, 'certificate'));
  } catch (e) {
    throw new Error(`status: ${e.message}`);
  }
  const json = parseJsonObject(envelope.payload, 'status');
  for (const f of ['piece_id', 'status', 'reason', 'changed_by', 'owner', 'as_of', 'keyid']) {
    if (typeof json[f] !== 'string') throw new Error(`status.${f}: missing or not a string`);
  }
  for (const f of ['status_sequence', 'owner_sequence']) {
    if (!isCount(json[f]) || json[f] > 0xffffffff) {
      throw new Error(`status.${f}: missing or not a sequence number`);
    }
  }
  const asOf = parseTime(json.as_of, 'status.as_of');
  if (json.keyid !== keyid) throw new Error('status.keyid: does not name the key that signed');
  try {
    keyValidAt(root, keyid, 'certificate', asOf);
  } catch (e) {
    throw new Error(`status: ${e.message}`);
  }
  if (json.piece_id !== pieceId) {
    throw new Error(`status: is about piece ${json.piece_id}, not ${pieceId}`);
  }
  if (now - asOf > MAX_STATUS_AGE_MS) {
    throw new Error(`status: the statement is as of ${formatTime(asOf)}, too old to be current`);
  }
  return {status: json.status, reason: json.reason, changedBy: json.changed_by, asOf};
}

// ---- the page -----------------------------------------------------------

async function step(name, fn) {
  try {
    return await fn();
  } catch (e) {
    throw e instanceof TrustError ? e : new TrustError(name, e.message);
  }
}

// Everything the page shows as checked: {anchored, pin, ok, failed (the
// step that failed, or null), error, root, certificate, log, witnesses,
// status (null when none was stapled)}. `roots`: the server's trust roots
// (DSSE JSON, oldest first); `bundle`: the certificate bundle (parsed
// JSON); `certificateId`: the page's; `now`: milliseconds; `logCopy`
// (optional): get(key) of the log's static copy, checked after the
// bundle's proof (verifyStaticLog), whose result then replaces it.
export async function verifyPage({pin, roots, bundle, certificateId: id, now, logCopy}) {
  const report = {anchored: pin !== null, pin, ok: false, failed: null, error: null,
                  root: null, certificate: null, log: null, witnesses: null, status: null};
  try {
    report.root = await step('root', async () => {
      if (pin !== null && !HEX64.test(pin)) {
        throw new Error('the pin in the link is not 64 lower-case hex characters');
      }
      if (!Array.isArray(roots)) throw new Error('the server sent no list of trust roots');
      return anchorRoots(pin, roots.map((r, i) => parseEnvelope(r, `roots[${i}]`)));
    });
    const envelope = await step('certificate', async () => {
      const env = parseEnvelope(bundle?.certificate, 'bundle.certificate');
      const actual = await certificateId(env.payload);
      if (actual !== id) throw new Error(`the bundle holds certificate ${actual}, not ${id}`);
      report.certificate = await verifyCertificate(env, report.root);
      return env;
    });
    const predicate = report.certificate.statement.predicate;
    report.log = await step('log', () =>
      verifyLog(bundle.log, envelope, predicate, report.root, now));
    if (logCopy) {
      report.log = await step('log', () =>
        verifyStaticLog(logCopy, report.log, report.log.leaf, report.root, now));
    }
    report.witnesses = await step('witnesses', () => verifyWitnesses(report.log.note, report.root));
    if (bundle.status !== undefined) {
      report.status = await step('status', () => verifyStatus(
          parseEnvelope(bundle.status, 'bundle.status'), report.root, predicate.piece_id, now));
    }
    report.ok = true;
  } catch (e) {
    report.failed = e.step ?? 'root';
    report.error = e.message;
  }
  return report;
}
