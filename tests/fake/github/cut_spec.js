// cut_spec.js - cut GitHub's OpenAPI description (@octokit/openapi) down to
// the operations tfgate calls, so Prism starts in seconds (reference/github.md
// section 4.3).  Keeps every #/components/ entry the operations reach.
//
// Two adjustments, both because the description does not list every status
// GitHub really sends (they change nothing about request validation):
//  - an application/vnd.github+json alias of every application/json response
//    (tfgate sends the Accept header GitHub recommends; Prism matches it);
//  - a "default" response with no body schema on every kept operation, so
//    Prism in --errors mode passes the fake's injected faults (304 on any
//    conditional GET, 401, 403/429 rate limits, 5xx) through instead of
//    answering 500 for an undocumented status.
//
// usage: node cut_spec.js FULL.json OUT.json "METHOD /path" ...
'use strict';
const fs = require('fs');
const [, , inF, outF, ...ops] = process.argv;
const full = JSON.parse(fs.readFileSync(inF, 'utf8'));
const out = {
  openapi: full.openapi, info: full.info,
  servers: [{ url: 'http://127.0.0.1' }], paths: {}, components: {},
};
for (const s of ops) {
  const [m, p] = s.split(' ');
  const it = full.paths[p];
  if (!it || !it[m.toLowerCase()]) throw new Error('no operation ' + s);
  out.paths[p] = out.paths[p] || {};
  if (it.parameters) out.paths[p].parameters = it.parameters;
  out.paths[p][m.toLowerCase()] = it[m.toLowerCase()];
}
const seen = new Set();
const q = [out.paths];
while (q.length) {
  const n = q.pop();
  if (Array.isArray(n)) { n.forEach((x) => q.push(x)); continue; }
  if (!n || typeof n !== 'object') continue;
  for (const [k, v] of Object.entries(n)) {
    if (k === '$ref' && typeof v === 'string' && v.startsWith('#/components/')) {
      if (seen.has(v)) continue;
      seen.add(v);
      const [, , kind, name] = v.split('/');
      (out.components[kind] = out.components[kind] || {})[name] = full.components[kind][name];
      q.push(full.components[kind][name]);
    } else {
      q.push(v);
    }
  }
}
const alias = (r) => {
  if (r && r.content && r.content['application/json'] && !r.content['application/vnd.github+json'])
    r.content['application/vnd.github+json'] = r.content['application/json'];
};
for (const it of Object.values(out.paths)) {
  for (const [m, op] of Object.entries(it)) {
    if (m === 'parameters') continue;
    Object.values(op.responses || {}).forEach(alias);
    op.responses.default = { description: 'any other status (faults injected by the fake)' };
  }
}
Object.values(out.components.responses || {}).forEach(alias);
fs.writeFileSync(outF, JSON.stringify(out, null, 1));
