#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Small python3-libtorrent driver for make-bittorrent.sh: makes the fixed-seed
# content and its .torrent, and runs one seeder or leecher session with the
# settings a capture needs. Every session is fenced in: DHT only when asked and
# then bootstrapped only from the address given (198.18.0.0/15), no UPnP/NAT-PMP,
# LSD only when asked, and every run ends by itself (bounded by --time).
#
#   bt_lt.py mktorrent DIR NAME SIZE [TRACKER ...]   -> DIR/NAME, DIR/NAME.torrent, prints infohash
#   bt_lt.py seed|leech TORRENT SAVEDIR IP [--enc] [--utp] [--dht BOOT|-] [--lsd] [--time S]
#           [--peer IP:PORT]
# "leech" exits 0 once it has the whole content (after a short linger), 1 on timeout.

import argparse
import os
import random
import sys
import time

import libtorrent as lt


def mktorrent(d, name, size, trackers):
	os.makedirs(d, exist_ok=True)
	path = os.path.join(d, name)
	rnd = random.Random(0x6b703270)  # fixed seed: same content on every run
	with open(path, "wb") as f:
		f.write(rnd.randbytes(size))
	fs = lt.file_storage()
	lt.add_files(fs, path)
	ct = lt.create_torrent(fs, 65536, flags=lt.create_torrent.v1_only)
	for tier, url in enumerate(trackers):
		ct.add_tracker(url, tier)
	ct.set_creator("kp2padm capture script")
	lt.set_piece_hashes(ct, d)
	ent = ct.generate()
	ent[b"creation date"] = 1700000000
	with open(path + ".torrent", "wb") as f:
		f.write(lt.bencode(ent))
	ti = lt.torrent_info(path + ".torrent")
	print(str(ti.info_hashes().v1))


def settings(a):
	s = {
		"listen_interfaces": "%s:6881" % a.ip,
		"enable_upnp": False,
		"enable_natpmp": False,
		"enable_lsd": bool(a.lsd),
		"local_service_announce_interval": 5,
		"enable_dht": a.dht is not None,
		"dht_bootstrap_nodes": "" if a.dht in (None, "-") else a.dht,
		"dht_restrict_routing_ips": False,
		"dht_restrict_search_ips": False,
		"dht_ignore_dark_internet": False,
		"dht_prefer_verified_node_ids": False,
		"dht_announce_interval": 5,
		"announce_to_all_tiers": True,
		"announce_to_all_trackers": True,
		"min_announce_interval": 30,
		"alert_mask": lt.alert.category_t.status_notification | lt.alert.category_t.error_notification,
	}
	if a.enc:
		s["out_enc_policy"] = int(lt.enc_policy.forced)
		s["in_enc_policy"] = int(lt.enc_policy.forced)
		s["allowed_enc_level"] = int(lt.enc_level.rc4)
		s["prefer_rc4"] = True
	else:
		s["out_enc_policy"] = int(lt.enc_policy.disabled)
		s["in_enc_policy"] = int(lt.enc_policy.disabled)
	if a.utp:
		s["enable_outgoing_tcp"] = False
		s["enable_incoming_tcp"] = False
		s["enable_outgoing_utp"] = True
		s["enable_incoming_utp"] = True
	else:
		s["enable_outgoing_utp"] = False
		s["enable_incoming_utp"] = False
	return s


def run(a):
	ses = lt.session(settings(a))
	atp = lt.add_torrent_params()
	atp.ti = lt.torrent_info(a.torrent)
	atp.save_path = a.savedir
	h = ses.add_torrent(atp)
	if a.peer:
		ip, port = a.peer.rsplit(":", 1)
	end = time.monotonic() + a.time
	done_at = None
	next_peer = 0.0
	while time.monotonic() < end:
		for al in ses.pop_alerts():
			if isinstance(al, (lt.tracker_error_alert, lt.peer_error_alert, lt.listen_failed_alert)):
				print("%s: %s" % (a.mode, al.message()), file=sys.stderr)
		st = h.status()
		if a.peer and st.num_peers == 0 and time.monotonic() > next_peer:
			h.connect_peer((ip, int(port)))
			next_peer = time.monotonic() + 3
		elif a.mode == "leech" and not a.peer and st.num_peers == 0 and \
				time.monotonic() > next_peer and st.progress < 1:
			# the seeder may have announced after us (a busy machine): ask again
			h.force_reannounce(0, -1, lt.reannounce_flags_t.ignore_min_interval)
			next_peer = time.monotonic() + 3
		if a.mode == "leech" and st.is_seeding and done_at is None:
			done_at = time.monotonic()
			print("leech: complete", file=sys.stderr)
		if done_at is not None and time.monotonic() - done_at > a.linger:
			ses.remove_torrent(h)
			time.sleep(1)
			return 0
		time.sleep(0.2)
	print("%s: time is up (state %s, %.0f%%, peers %d)" %
	      (a.mode, st.state, st.progress * 100, st.num_peers), file=sys.stderr)
	return 0 if a.mode == "seed" else 1


def main():
	if len(sys.argv) > 1 and sys.argv[1] == "mktorrent":
		mktorrent(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:])
		return 0
	p = argparse.ArgumentParser()
	p.add_argument("mode", choices=["seed", "leech"])
	p.add_argument("torrent")
	p.add_argument("savedir")
	p.add_argument("ip")
	p.add_argument("--enc", action="store_true")
	p.add_argument("--utp", action="store_true")
	p.add_argument("--dht", default=None, help="bootstrap node ip:port, or - for none")
	p.add_argument("--lsd", action="store_true")
	p.add_argument("--peer", default=None, help="connect to this peer directly")
	p.add_argument("--time", type=float, default=40)
	p.add_argument("--linger", type=float, default=2)
	a = p.parse_args()
	return run(a)


if __name__ == "__main__":
	sys.exit(main())
