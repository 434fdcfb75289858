#!/usr/bin/env python3
"""prom_check.py - a strict reader of Prometheus text format 0.0.4 (what
GET /metrics returns).  Reads the exposition on stdin; exits 1 naming the
line on anything malformed; otherwise prints one JSON object mapping
'name{label="value",...}' (labels sorted) to the sample value, for the
integration tests to compare."""
import json
import re
import sys

NAME = re.compile(r'[a-zA-Z_:][a-zA-Z0-9_:]*')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')


def fail(n, line, why):
    print(f"line {n}: {why}: {line!r}", file=sys.stderr)
    sys.exit(1)


def main():
    text = sys.stdin.read()
    if not text.endswith("\n"):
        fail(0, text[-40:], "exposition does not end with a newline")
    types, helps, samples = {}, set(), {}
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if line.startswith("# HELP "):
            name = line.split(" ", 3)[2]
            if name in helps:
                fail(n, line, "second HELP")
            helps.add(name)
            continue
        if line.startswith("# TYPE "):
            parts = line.split(" ")
            if len(parts) != 4 or parts[3] not in ("counter", "gauge", "histogram", "summary", "untyped"):
                fail(n, line, "bad TYPE")
            if parts[2] in types:
                fail(n, line, "second TYPE")
            types[parts[2]] = parts[3]
            continue
        if line.startswith("#") or line == "":
            fail(n, line, "unexpected comment or blank line")
        m = NAME.match(line)
        if not m:
            fail(n, line, "no metric name")
        name, rest = m.group(0), line[m.end():]
        labels = []
        if rest.startswith("{"):
            rest = rest[1:]
            while not rest.startswith("}"):
                lm = LABEL.match(rest)
                if not lm:
                    fail(n, line, "bad label")
                value = re.sub(r'\\(.)', lambda x: "\n" if x.group(1) == "n" else x.group(1), lm.group(2))
                labels.append((lm.group(1), value))
                rest = rest[lm.end():]
                if rest.startswith(","):
                    rest = rest[1:]
            rest = rest[1:]
        if not rest.startswith(" "):
            fail(n, line, "no space before the value")
        try:
            value = float(rest[1:].replace("+Inf", "inf"))
        except ValueError:
            fail(n, line, "value is not a number")
        family = name
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and types.get(name[:-len(suffix)]) == "histogram":
                family = name[:-len(suffix)]
        if family not in types:
            fail(n, line, "sample before its TYPE line")
        if family not in helps:
            fail(n, line, "sample without HELP")
        key = name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels)) + "}"
        if key in samples:
            fail(n, line, "duplicate series")
        samples[key] = value
    # histograms: cumulative buckets, +Inf equals _count
    for fam, typ in types.items():
        if typ != "histogram":
            continue
        for key, value in samples.items():
            if key.startswith(fam + "_count{"):
                labels = key[len(fam) + 7:-1]
                inf = [v for k, v in samples.items() if k.startswith(fam + "_bucket{")
                       and 'le="+Inf"' in k and k.replace(',le="+Inf"', "").replace('le="+Inf",', "").replace('le="+Inf"', "") == f"{fam}_bucket{{{labels}}}"]
                if inf != [value]:
                    fail(0, key, "+Inf bucket differs from _count")
    json.dump(samples, sys.stdout, sort_keys=True)
    print()


main()
