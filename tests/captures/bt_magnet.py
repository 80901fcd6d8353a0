#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
# python3-libtorrent driver for make-bt-magnet.sh: a small multi-file (or
# single-file) torrent with fixed-seed content, a seeder that has it, and a
# leecher that starts from the magnet link only (info_hash + tracker), so the
# metadata crosses the peer connection by ut_metadata (BEP 9/10). Session
# settings come from bt_lt.py (no DHT, LSD, UPnP, NAT-PMP, uTP, encryption).
#
#   bt_magnet.py mktorrent DIR multi|single TRACKER   -> prints "INFOHASH MAGNET"
#   bt_magnet.py seed TORRENT SAVEDIR IP [--time S]
#   bt_magnet.py leech MAGNET SAVEDIR IP [--time S]   (exit 0 once complete)

import argparse
import os
import random
import sys
import time

import libtorrent as lt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bt_lt  # noqa: E402

# name -> size: total 150000 bytes, 16 KiB pieces
MULTI = [("setup.exe", 70000), ("readme.txt", 1200), ("data/part1.bin", 78800)]
SINGLE = [("setup.exe", 120000)]


def mktorrent(d, layout, tracker):
	rnd = random.Random(0x6b716262)  # fixed seed: same content on every run
	files = MULTI if layout == "multi" else SINGLE
	if layout == "multi":
		root = os.path.join(d, "kqb-files")
	else:
		root = d
	for name, size in files:
		p = os.path.join(root, name)
		os.makedirs(os.path.dirname(p), exist_ok=True)
		with open(p, "wb") as f:
			if name.endswith(".txt"):
				f.write((b"kp2padm test torrent readme\n" * 100)[:size])
			else:
				f.write(b"MZ" + rnd.randbytes(size - 2))
	fs = lt.file_storage()
	lt.add_files(fs, root if layout == "multi" else os.path.join(root, files[0][0]))
	ct = lt.create_torrent(fs, 16384, flags=lt.create_torrent.v1_only)
	ct.add_tracker(tracker, 0)
	ct.set_creator("kp2padm capture script")
	lt.set_piece_hashes(ct, d)
	ent = ct.generate()
	ent[b"creation date"] = 1700000000
	tor = os.path.join(d, "kqb.torrent")
	with open(tor, "wb") as f:
		f.write(lt.bencode(ent))
	ti = lt.torrent_info(tor)
	ih = str(ti.info_hashes().v1)
	print(ih, "magnet:?xt=urn:btih:%s&tr=%s" % (ih, tracker))


def run(a):
	b = argparse.Namespace(ip=a.ip, lsd=False, dht=None, enc=False, utp=False)
	ses = lt.session(bt_lt.settings(b))
	if a.mode == "seed":
		atp = lt.add_torrent_params()
		atp.ti = lt.torrent_info(a.source)
	else:
		atp = lt.parse_magnet_uri(a.source)
	atp.save_path = a.savedir
	h = ses.add_torrent(atp)
	end = time.monotonic() + a.time
	done_at = None
	next_ask = time.monotonic() + 3
	st = h.status()
	while time.monotonic() < end:
		for al in ses.pop_alerts():
			if isinstance(al, (lt.tracker_error_alert, lt.peer_error_alert)):
				print("%s: %s" % (a.mode, al.message()), file=sys.stderr)
		st = h.status()
		if a.mode == "leech" and st.num_peers == 0 and time.monotonic() > next_ask:
			h.force_reannounce(0, -1, lt.reannounce_flags_t.ignore_min_interval)
			next_ask = time.monotonic() + 3
		if a.mode == "leech" and st.is_seeding and done_at is None:
			done_at = time.monotonic()
			print("leech: complete", file=sys.stderr)
		if done_at is not None and time.monotonic() - done_at > 2:
			ses.remove_torrent(h)
			time.sleep(1)
			return 0
		time.sleep(0.2)
	print("%s: time is up (state %s, %.0f%%, peers %d)" %
	      (a.mode, st.state, st.progress * 100, st.num_peers), file=sys.stderr)
	return 0 if a.mode == "seed" else 1


def main():
	if len(sys.argv) > 1 and sys.argv[1] == "mktorrent":
		mktorrent(sys.argv[2], sys.argv[3], sys.argv[4])
		return 0
	p = argparse.ArgumentParser()
	p.add_argument("mode", choices=["seed", "leech"])
	p.add_argument("source", help="seed: .torrent file; leech: magnet link")
	p.add_argument("savedir")
	p.add_argument("ip")
	p.add_argument("--time", type=float, default=40)
	return run(p.parse_args())


if __name__ == "__main__":
	sys.exit(main())
