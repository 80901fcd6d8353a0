#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Queries over a kp2padm events file (JSON lines), for the live tests.

  events.py count FILE KEY=VALUE...      events whose (dotted) keys have these values
  events.py max FILE KEY KEY=VALUE...    the largest numeric KEY among them (0 if none)
  events.py show FILE KEY=VALUE...       one short line per matching event (not stats)
  events.py stats FILE KEY...            KEYs under "stats" of the last stats event, on
                                         one line ("n/a" for a missing one; cache.* are 0
                                         when the daemon runs without a cache)

Values compare as text: True/False for booleans, numbers in decimal. A filter
KEY~REGEX instead of KEY=VALUE matches when REGEX is found in the value's text.
"""
import json
import re
import sys


def get(ev, key):
    for part in key.split("."):
        ev = ev.get(part) if isinstance(ev, dict) else None
    return ev


def matcher(flt):
    """KEY=VALUE (equal text) or KEY~REGEX (found in the text); the first of = and ~ splits."""
    eq, rx = flt.find("="), flt.find("~")
    if rx >= 0 and (eq < 0 or rx < eq):
        key, pat = flt[:rx], re.compile(flt[rx + 1:])
        return lambda ev: get(ev, key) is not None and pat.search(str(get(ev, key))) is not None
    key, val = flt.split("=", 1)
    return lambda ev: str(get(ev, key)) == val


def matching(path, filters):
    want = [matcher(f) for f in filters]
    with open(path, errors="replace") as f:
        for line in f:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if all(m(ev) for m in want):
                yield ev


def main(argv):
    cmd, path = argv[1], argv[2]
    if cmd == "count":
        print(sum(1 for _ in matching(path, argv[3:])))
    elif cmd == "max":
        vals = [get(ev, argv[3]) for ev in matching(path, argv[4:])]
        print(max([v for v in vals if isinstance(v, (int, float))] or [0]))
    elif cmd == "show":
        for ev in matching(path, argv[3:]):
            if ev.get("event_type") == "stats":
                continue
            t = ev.get("event_type")
            if t not in ("flow", "block"):  # file, chat, virus, search: their own object
                print("# event", t, ev.get("proto"), "%s:%s > %s:%s" % (
                    ev.get("src_ip"), ev.get("src_port"), ev.get("dest_ip"), ev.get("dest_port")),
                    ev.get("app_proto"), json.dumps(ev.get(t), ensure_ascii=False))
                continue
            print("# event", ev.get("event_type"), ev.get("proto"),
                  "%s:%s > %s:%s" % (ev.get("src_ip"), ev.get("src_port"), ev.get("dest_ip"),
                                     ev.get("dest_port")),
                  ev.get("app_proto"), "conf", ev.get("app_proto_confidence"), "pkts",
                  ev.get("pkts_toserver"), ev.get("pkts_toclient"), "flow",
                  json.dumps(ev.get("flow")), "block", json.dumps(ev.get("block")))
    elif cmd == "stats":
        last = None
        for ev in matching(path, ["event_type=stats"]):
            last = ev.get("stats") or {}
        out = []
        for key in argv[3:]:
            v = get(last, key) if last is not None else None
            if v is None and last is not None and key.startswith("cache.") and "cache" not in last:
                v = 0  # no connection cache (cache.ttl = 0): nothing hit it
            out.append("n/a" if v is None else str(v))
        print(" ".join(out))
    else:
        sys.exit("usage: events.py count|max|show|stats FILE ...")


if __name__ == "__main__":
    main(sys.argv)
