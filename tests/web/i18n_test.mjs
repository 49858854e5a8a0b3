// The verify page's catalogues (server/http/i18n/<lang>.json), checked
// against each other and against the code that uses them: every language
// has exactly the English keys (none missing, none stray), no key twice,
// the same {placeholders}; every key the page's code names literally
// (server/http/*.cc, web/verify.js) exists; and every key is used, either
// literally or through a family the code builds at run time (enum.<VALUE>,
// alloy.<name>, stone.<type>, js.step.<step>, verdict.<status>.detail).
// Adding a string: add it to every catalogue; this test names what is off.
//
// Usage: node i18n_test.mjs
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dir = path.join(root, 'server/http/i18n');
const LANGUAGES = ['en', 'fr', 'de', 'it', 'es', 'ja'];
const SOURCES = ['server/http/verify_page.cc', 'server/http/buyer_facts.cc',
                 'server/http/i18n.cc', 'server/http/evidence_text.cc',
                 'server/http/web/verify.js'];
const DYNAMIC = [/^enum\.[A-Z0-9_]+$/, /^alloy\./, /^stone\./, /^js\.step\./,
                 /^verdict\.[a-z]+\.detail$/];

let failures = 0;
let passed = 0;
function check(ok, what) {
  if (ok) {
    passed++;
  } else {
    console.log(`FAIL ${what}`);
    failures++;
  }
}

const placeholders = (text) => [...text.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1]).sort();
const catalogues = {};
for (const lang of LANGUAGES) {
  const file = path.join(dir, `${lang}.json`);
  check(fs.existsSync(file), `${lang}.json exists`);
  const text = fs.readFileSync(file, 'utf8');
  const keys = [...text.matchAll(/^\s*"([^"]+)":/gm)].map((m) => m[1]);
  const seen = new Set();
  for (const k of keys) {
    check(!seen.has(k), `${lang}.json: ${k} given twice`);
    seen.add(k);
  }
  catalogues[lang] = JSON.parse(text);
  for (const [k, v] of Object.entries(catalogues[lang])) {
    check(typeof v === 'string' && v.length > 0, `${lang}.json: ${k} is a non-empty string`);
  }
}
const en = catalogues.en;
for (const lang of LANGUAGES) {
  const c = catalogues[lang];
  for (const k of Object.keys(en)) {
    check(k in c, `${lang}.json: missing ${k}`);
    if (k in c) {
      check(JSON.stringify(placeholders(c[k])) === JSON.stringify(placeholders(en[k])),
            `${lang}.json: ${k}: placeholders ${placeholders(c[k])} differ from en's ` +
            `${placeholders(en[k])}`);
    }
  }
  for (const k of Object.keys(c)) check(k in en, `${lang}.json: stray key ${k} (not in en.json)`);
}

// Keys named in the code: T("key"...), row("key"...), t('key'...), and
// string literals that look like keys (verdict keys, what-keys).
const named = new Set();
const literals = new Set();
for (const file of SOURCES) {
  const text = fs.readFileSync(path.join(root, file), 'utf8');
  for (const m of text.matchAll(/\b(?:T|t|row|failed\([^,]+,)\(?\s*["'`]([a-z_]+(?:\.[A-Za-z0-9_-]+)+)["'`]/g)) {
    named.add(m[1]);
  }
  for (const m of text.matchAll(/["'`]([a-z_]+(?:\.[A-Za-z0-9_-]+)+)["'`]/g)) literals.add(m[1]);
}
check(named.size > 50, `the code names catalogue keys (${named.size} found)`);
for (const k of named) {
  if (k.endsWith('.') || /\.(cc|h|js|json|mjs|glb)$/.test(k)) continue;
  check(k in en, `the code names ${k}, which en.json lacks`);
}
for (const k of Object.keys(en)) {
  check(literals.has(k) || DYNAMIC.some((re) => re.test(k)),
        `en.json: ${k} is used nowhere (a stray key?)`);
}
console.log(`${passed} passed, ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
