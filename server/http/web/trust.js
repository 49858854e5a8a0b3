// The verify page's trust anchor, for the browser (verify.js) and node
// (tests/web/trust_test.mjs): the registry's trust roots checked with the
// same rules as `loupe verify` (crypto/trust_root.cc, dsse.cc), so that
// what the page shows comes from checks made here, not from the server
// that served it. checks.js checks the certificate against the root found.
//
// Trust is anchored to a pin: the lower-case hex SHA-256 of the payload of
// the registry's first trust root, carried by the printed certificate's
// link (`/verify/<id>#pin=<hex>`, docs/certificate-format.md). From that
// root the chain of newer roots is followed: version N+1 only, the same
// origin, signed by a threshold of root N's root keys and of its own.
// Without a pin the server's own first root is taken on its word, and the
// page says so.
//
// Ed25519 comes from the caller (useEd25519: @noble/ed25519's verifyAsync
// in both places); SHA-256 from WebCrypto. Errors are Error objects whose
// message says what failed, worded as the C++ verifier words it.

const text = new TextEncoder();
const utf8 = new TextDecoder('utf-8', {fatal: true});

let ed25519Verify = null;

// `verify(signature, message, publicKey, options)`, as @noble/ed25519's.
export function useEd25519(verify) {
  ed25519Verify = verify;
}

export class TrustError extends Error {
  constructor(step, message) {
    super(message);
    this.step = step;
  }
}

export const ROOT_PAYLOAD_TYPE = 'application/vnd.loupe.trust-root+json';
const ROOT_TYPE = 'https://loupe.dev/TrustRoot/v1';
const ROLES = ['root', 'certificate', 'checkpoint'];
export const HEX64 = /^[0-9a-f]{64}$/;

// ---- bytes --------------------------------------------------------------

export function fromBase64(s) {
  const url = /[-_]/.test(s);
  const shape = url ? /^[A-Za-z0-9_-]*={0,2}$/ : /^[A-Za-z0-9+/]*={0,2}$/;
  if (typeof s !== 'string' || !shape.test(s) ||
      (s.endsWith('=') ? s.length % 4 !== 0 : s.length % 4 === 1)) {
    throw new Error('not valid base64');
  }
  const std = s.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  return Uint8Array.from(atob(std.padEnd(Math.ceil(std.length / 4) * 4, '=')),
                         (c) => c.charCodeAt(0));
}
export const toHex = (bytes) =>
  [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
export const fromHex = (h) => Uint8Array.from(h.match(/../g), (x) => parseInt(x, 16));
export const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
export const sha256 = async (bytes) =>
  new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export async function verifySignature(publicKeyHex, message, signature) {
  if (!ed25519Verify) throw new Error('trust.js: useEd25519 was not called');
  try {
    return signature.length === 64 &&
        await ed25519Verify(signature, message, fromHex(publicKeyHex), {zip215: false});
  } catch {
    return false;
  }
}

// Canonical JSON of a string (docs/certificate-format.md).
export function canonicalString(s) {
  const short = {'"': '\\"', '\\': '\\\\', '\b': '\\b', '\f': '\\f', '\n': '\\n',
                 '\r': '\\r', '\t': '\\t'};
  return `"${s.replace(/["\\\u0000-\u001f]/g, (c) => short[c] ||
      `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`;
}

// UTF-8 byte order, as std::string compares.
export function compareBytes(a, b) {
  const x = text.encode(a), y = text.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i] - y[i];
  }
  return x.length - y.length;
}

// ---- DSSE ---------------------------------------------------------------

// An envelope's JSON, checked as crypto/dsse.cc EnvelopeFromJsonValue does;
// payload decoded to bytes, signatures' sig to bytes.
export function parseEnvelope(json, path) {
  const bad = (why) => {
    throw new Error(`${path}${why}`);
  };
  if (!json || typeof json !== 'object' || Array.isArray(json)) bad(': not a JSON object');
  if (typeof json.payloadType !== 'string') bad('.payloadType: missing or not a string');
  if (typeof json.payload !== 'string') bad('.payload: missing or not a string');
  let payload;
  try {
    payload = fromBase64(json.payload);
  } catch {
    bad('.payload: not base64');
  }
  if (!Array.isArray(json.signatures)) bad('.signatures: missing or not an array');
  const signatures = json.signatures.map((s, i) => {
    const where = `.signatures[${i}]`;
    if (!s || typeof s !== 'object') bad(`${where}: not an object`);
    if ('keyid' in s && typeof s.keyid !== 'string') bad(`${where}.keyid: not a string`);
    if (typeof s.sig !== 'string') bad(`${where}.sig: missing or not a string`);
    try {
      return {keyid: s.keyid ?? '', sig: fromBase64(s.sig)};
    } catch {
      return bad(`${where}.sig: not base64`);
    }
  });
  return {payloadType: json.payloadType, payload, signatures};
}

// DSSE's pre-authentication encoding.
export function pae(type, body) {
  const t = text.encode(type);
  return concat(text.encode(`DSSEv1 ${t.length} `), t, text.encode(` ${body.length} `), body);
}

// The key ids whose signatures verify, each once (VerifiedKeyIds).
async function verifiedKeyIds(envelope, lookup) {
  const message = pae(envelope.payloadType, envelope.payload);
  const verified = [];
  for (const s of envelope.signatures) {
    if (verified.includes(s.keyid)) continue;
    const key = lookup(s.keyid);
    if (key && await verifySignature(key, message, s.sig)) verified.push(s.keyid);
  }
  return verified;
}

// The first signature that verifies with a key `lookup` finds
// (VerifyEnvelope); its key id, or an Error listing why each failed.
export async function verifyEnvelope(envelope, lookup) {
  if (envelope.signatures.length === 0) throw new Error('signature: the envelope has none');
  const message = pae(envelope.payloadType, envelope.payload);
  const reasons = [];
  for (const s of envelope.signatures) {
    const key = lookup(s.keyid);
    if (!key) {
      reasons.push(`key id ${s.keyid} is not trusted`);
    } else if (await verifySignature(key, message, s.sig)) {
      return s.keyid;
    } else {
      reasons.push(`the signature by key ${s.keyid} does not verify`);
    }
  }
  throw new Error(`signature: ${reasons.join('; ')}`);
}

// ---- trust roots --------------------------------------------------------

export const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
export const isCount = (v) => Number.isSafeInteger(v) && v >= 0;

// RFC 3339 UTC to the second, as Loupe writes times; milliseconds.
export function parseTime(value, path) {
  const m = typeof value === 'string' &&
      value.match(/^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)Z$/);
  const t = m && Date.UTC(m[1], m[2] - 1, m[3], m[4], m[5], m[6]);
  if (!m || new Date(t).toISOString() !== `${value.slice(0, -1)}.000Z`) {
    throw new Error(`${path}: must be a UTC time like 2026-11-23T00:00:00Z`);
  }
  return t;
}
export const formatTime = (ms) => new Date(ms).toISOString().replace('.000Z', 'Z');

async function parseKey(k, path) {
  if (!isObject(k)) throw new Error(`${path}: not an object`);
  if (typeof k.public_key !== 'string') throw new Error(`${path}.public_key: missing`);
  if (!HEX64.test(k.public_key)) throw new Error(`${path}.public_key: not 64 hex`);
  const keyid = toHex(await sha256(fromHex(k.public_key)));
  if (k.keyid !== keyid) {
    throw new Error(`${path}.keyid: must be the SHA-256 of the public key`);
  }
  if (!Array.isArray(k.roles) || k.roles.length === 0) throw new Error(`${path}.roles: missing`);
  if (!k.roles.every((r) => ROLES.includes(r))) {
    throw new Error(`${path}.roles: root, certificate or checkpoint`);
  }
  const key = {keyid, publicKey: k.public_key, roles: k.roles,
               validFrom: parseTime(k.valid_from, `${path}.valid_from`), validUntil: null};
  if ('valid_until' in k) {
    key.validUntil = parseTime(k.valid_until, `${path}.valid_until`);
    if (key.validUntil <= key.validFrom) throw new Error(`${path}.valid_until: not after valid_from`);
  }
  return key;
}

// The witnesses a root names and how many must cosign a checkpoint.
function parseWitnesses(json) {
  if (!('witnesses' in json) && !('witness_threshold' in json)) return {list: [], threshold: 0};
  if (!Array.isArray(json.witnesses)) throw new Error('root.witnesses: not an array');
  const list = json.witnesses.map((w, i) => {
    if (!isObject(w) || typeof w.name !== 'string' || w.name === '' ||
        typeof w.public_key !== 'string' || !HEX64.test(w.public_key)) {
      throw new Error(`root.witnesses[${i}]: needs a name and a 64-hex public_key`);
    }
    return {name: w.name, publicKey: w.public_key};
  });
  if (new Set(list.map((w) => w.name)).size !== list.length) {
    throw new Error('root.witnesses: a name is listed twice');
  }
  const threshold = json.witness_threshold;
  if (list.length > 0 ? !(isCount(threshold) && threshold >= 1 && threshold <= list.length)
                      : !(threshold === undefined || threshold === 0)) {
    throw new Error('root.witness_threshold: between 1 and the number of witnesses');
  }
  return {list, threshold: list.length > 0 ? threshold : 0};
}

// A root's payload bytes, checked field by field as ParseRoot does.
export async function parseRoot(payload) {
  let json;
  try {
    json = JSON.parse(utf8.decode(payload));
  } catch {
    json = null;
  }
  if (!isObject(json)) throw new Error('root: not a JSON object');
  if (json._type !== ROOT_TYPE) throw new Error(`root._type: must be ${ROOT_TYPE}`);
  if (typeof json.origin !== 'string' || json.origin === '') throw new Error('root.origin: missing');
  if (!isCount(json.version) || json.version === 0) {
    throw new Error('root.version: must be an integer >= 1');
  }
  if (!Array.isArray(json.keys) || json.keys.length === 0) {
    throw new Error('root.keys: missing or empty');
  }
  const keys = [];
  for (const [i, k] of json.keys.entries()) {
    const key = await parseKey(k, `root.keys[${i}]`);
    if (keys.some((x) => x.keyid === key.keyid)) throw new Error(`root.keys[${i}]: duplicate`);
    keys.push(key);
  }
  const rootKeys = keys.filter((k) => k.roles.includes('root')).length;
  if (!isCount(json.threshold) || json.threshold === 0 || json.threshold > rootKeys) {
    throw new Error('root.threshold: between 1 and the number of root keys');
  }
  return {origin: json.origin, version: json.version, threshold: json.threshold, keys,
          witnesses: parseWitnesses(json)};
}

export const keysWithRole = (root, role) => (keyid) =>
  root.keys.find((k) => k.keyid === keyid && k.roles.includes(role))?.publicKey;

// The key `keyid` if it has `role` and was valid at `when` (KeyValidAt).
export function keyValidAt(root, keyid, role, when) {
  const key = root.keys.find((k) => k.keyid === keyid);
  if (!key) throw new Error(`key ${keyid} is not in trust root v${root.version}`);
  if (!key.roles.includes(role)) throw new Error(`key ${keyid} may not sign ${role}s`);
  if (when < key.validFrom || (key.validUntil !== null && when >= key.validUntil)) {
    throw new Error(`key ${keyid} was not valid at ${formatTime(when)} (valid from ` +
        `${formatTime(key.validFrom)}${key.validUntil !== null
          ? ` until ${formatTime(key.validUntil)}` : ''})`);
  }
  return key.publicKey;
}

async function checkThreshold(envelope, signers, which) {
  const valid = (await verifiedKeyIds(envelope, keysWithRole(signers, 'root'))).length;
  if (valid < signers.threshold) {
    throw new Error(`root: ${valid} valid signature(s) by ${which} (v${signers.version}) ` +
        `root keys; ${signers.threshold} needed`);
  }
}

async function parseSigned(envelope) {
  if (envelope.payloadType !== ROOT_PAYLOAD_TYPE) {
    throw new Error(`root: payloadType must be ${ROOT_PAYLOAD_TYPE}`);
  }
  return parseRoot(envelope.payload);
}

// A root trusted out of band, if signed by a threshold of its own root keys.
export async function verifyInitialRoot(envelope) {
  const root = await parseSigned(envelope);
  await checkThreshold(envelope, root, 'its own');
  return root;
}

// `next` as the successor of `trusted` (VerifyNextRoot).
export async function verifyNextRoot(trusted, next) {
  const root = await parseSigned(next);
  if (root.origin !== trusted.origin) {
    throw new Error(`root: origin ${root.origin} is not ${trusted.origin}`);
  }
  if (root.version <= trusted.version) {
    throw new Error(`root: version ${root.version} is a rollback from v${trusted.version}`);
  }
  if (root.version !== trusted.version + 1) {
    throw new Error(`root: version ${root.version} skips v${trusted.version + 1}; ` +
        'give every root in between');
  }
  await checkThreshold(next, trusted, 'the previous');
  await checkThreshold(next, root, 'its own');
  return root;
}

// Follows `chain` (oldest first; known versions skipped) to the newest root.
export async function followRoots(trusted, chain) {
  for (const envelope of chain) {
    const parsed = await parseSigned(envelope);
    if (parsed.version <= trusted.version && parsed.origin === trusted.origin) continue;
    trusted = await verifyNextRoot(trusted, envelope);
  }
  return trusted;
}

// The pin of a root envelope: hex SHA-256 of its payload bytes.
export const pinOf = async (envelope) => toHex(await sha256(envelope.payload));

// The newest root, from the root whose payload hashes to `pin` (or, with
// no pin, the server's first root, on the server's word).
export async function anchorRoots(pin, chain) {
  let first = chain[0];
  if (pin) {
    first = null;
    for (const envelope of chain) {
      if (await pinOf(envelope) === pin) first = envelope;
    }
    if (!first) {
      throw new Error(`no trust root this server serves matches the pin ${pin.slice(0, 16)}… ` +
          'of the link: this server is not the registry the certificate was printed for');
    }
  }
  if (!first) throw new Error('root: the server serves no trust root');
  return followRoots(await verifyInitialRoot(first), chain);
}
