// hcl2json_dump.js FILE... - the facts HashiCorp's HCL parser (@cdktf/hcl2json,
// the Go hclsyntax parser compiled to WebAssembly) gives for each .tf file,
// in the shape tests/unit/hcl_dump.c prints for tfgate's reader:
//   {"FILE": {"required_providers": [{"name","source","version"}],
//             "blocks": ["resource TYPE NAME", "data TYPE NAME", "module NAME",
//                        "provisioner TYPE NAME KIND"]}}
// A file the parser refuses gives {"error": "..."}.  Needs NODE_PATH or a
// node_modules above this file's directory (tests/node_modules).
'use strict';
const fs = require('fs');
const path = require('path');

let hcl2json;
try {
  hcl2json = require(require.resolve('@cdktf/hcl2json',
    { paths: [path.join(__dirname, '..', '..')] }));
} catch (e) {
  console.error(`hcl2json_dump: cannot load @cdktf/hcl2json (run npm ci in tests/): ${e.message}`);
  process.exit(2);
}

// hcl2json writes templates back as "${...}": those are not literals, and
// tfgate's reader reports them as expressions (null here)
function literal(v) {
  if (typeof v !== 'string' || v.includes('${') || v.includes('%{')) return null;
  return v;
}

function facts(doc) {
  const rp = [];
  const blocks = [];
  for (const tf of doc.terraform || []) {
    for (const block of tf.required_providers || []) {
      for (const [name, v] of Object.entries(block)) {
        if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
          rp.push({ name, source: literal(v.source), version: literal(v.version) });
        } else {
          rp.push({ name, source: null, version: literal(v) });
        }
      }
    }
  }
  for (const kind of ['resource', 'data']) {
    for (const [type, byName] of Object.entries(doc[kind] || {})) {
      for (const [name, bodies] of Object.entries(byName)) {
        for (const body of bodies) {
          blocks.push(`${kind} ${type} ${name}`);
          if (kind !== 'resource') continue;
          for (const [pk, list] of Object.entries(body.provisioner || {})) {
            for (let i = 0; i < list.length; i++) blocks.push(`provisioner ${type} ${name} ${pk}`);
          }
        }
      }
    }
  }
  for (const [name, bodies] of Object.entries(doc.module || {})) {
    for (let i = 0; i < bodies.length; i++) blocks.push(`module ${name}`);
  }
  rp.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  blocks.sort();
  return { required_providers: rp, blocks };
}

(async () => {
  const out = {};
  for (const file of process.argv.slice(2)) {
    try {
      out[file] = facts(await hcl2json.parse(file, fs.readFileSync(file, 'utf8')));
    } catch (e) {
      out[file] = { error: String(e && e.message ? e.message : e) };
    }
  }
  process.stdout.write(JSON.stringify(out, null, 1) + '\n');
})().catch((e) => {
  console.error(`hcl2json_dump: ${e.stack || e}`);
  process.exit(2);
});
