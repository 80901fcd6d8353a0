#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""BitTorrent by magnet link for the live content tests (content-live.sh).

The leecher starts from a magnet link only, so the torrent's metadata (its file
list) crosses the gateway on the peer connection (BEP 9 ut_metadata over the
BEP 10 extension protocol), where the gateway can see the file names.

  bt_magnet.py mktorrent DIR NAME TRACKER FILE=SIZE...
        a multi-file torrent DIR/NAME/FILE... (fixed pseudo-random content) and
        DIR/NAME.torrent; prints "INFOHASH MAGNET"
  bt_magnet.py leech MAGNET SAVEDIR IP [--time S]
        a libtorrent session on IP:6881 that adds MAGNET and exits 0 once every
        file is complete, 1 when the time is up; prints what it got (metadata
        received or not, progress)

The seeder is tests/captures/bt_lt.py seed (its settings: no DHT, UPnP, NAT-PMP
or LSD, plain peer wire). Every run is bounded by --time.
"""
import argparse
import os
import random
import sys
import time

import libtorrent as lt

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "captures"))
import bt_lt  # noqa: E402  (the shared session settings)


def mktorrent(d, name, tracker, specs):
    top = os.path.join(d, name)
    os.makedirs(top, exist_ok=True)
    rnd = random.Random(0x6b706d67)
    fs = lt.file_storage()
    for spec in specs:
        fname, size = spec.rsplit("=", 1)
        with open(os.path.join(top, fname), "wb") as f:
            f.write(rnd.randbytes(int(size)))
    lt.add_files(fs, top)
    ct = lt.create_torrent(fs, 16384, flags=lt.create_torrent.v1_only)
    ct.add_tracker(tracker, 0)
    ct.set_creator("kp2padm live test")
    lt.set_piece_hashes(ct, d)
    ent = ct.generate()
    ent[b"creation date"] = 1700000000
    with open(top + ".torrent", "wb") as f:
        f.write(lt.bencode(ent))
    ti = lt.torrent_info(top + ".torrent")
    ih = str(ti.info_hashes().v1)
    print("%s magnet:?xt=urn:btih:%s&dn=%s&tr=%s" % (ih, ih, name, tracker))


def leech(a):
    ses = lt.session(bt_lt.settings(argparse.Namespace(ip=a.ip, lsd=False, dht=None, enc=False,
                                                       utp=False)))
    atp = lt.parse_magnet_uri(a.magnet)
    atp.save_path = a.savedir
    h = ses.add_torrent(atp)
    end = time.monotonic() + a.time
    next_ask = 0.0
    st = h.status()
    while time.monotonic() < end:
        for al in ses.pop_alerts():
            if isinstance(al, (lt.tracker_error_alert, lt.peer_error_alert,
                               lt.listen_failed_alert)):
                print("leech: %s" % al.message(), file=sys.stderr)
        st = h.status()
        if st.num_peers == 0 and time.monotonic() > next_ask and st.progress < 1:
            h.force_reannounce(0, -1, lt.reannounce_flags_t.ignore_min_interval)
            next_ask = time.monotonic() + 3
        if st.has_metadata and st.is_seeding:
            print("leech: complete (metadata and every file)", file=sys.stderr)
            time.sleep(0.5)
            ses.remove_torrent(h)
            time.sleep(0.5)
            return 0
        time.sleep(0.2)
    print("leech: time is up (metadata %s, state %s, %.0f%%, peers %d)" %
          ("received" if st.has_metadata else "missing", st.state, st.progress * 100,
           st.num_peers), file=sys.stderr)
    return 1


def main():
    if len(sys.argv) > 4 and sys.argv[1] == "mktorrent":
        mktorrent(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
        return 0
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["leech"])
    p.add_argument("magnet")
    p.add_argument("savedir")
    p.add_argument("ip")
    p.add_argument("--time", type=float, default=40)
    return leech(p.parse_args())


if __name__ == "__main__":
    sys.exit(main())
