#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# BitTorrent content management end to end, on the magnet-link captures
# (make-bt-magnet.sh): with file.audit = yes the torrent's files (metadata
# fetched by ut_metadata) are file events with state "listed", listed_as
# "torrent", their sizes and the info_hash; the flow event names the torrent;
# with a file rule that blocks *.exe the peer connection gets a block event;
# an info_hash on a hash list blocks the peer connection; without content rules
# there are no file events. (The HTTP announces' answer bodies are file events
# of the http module's: not counted here.)
# Usage: bt-content.sh KP2PADM_BINARY
. "$(dirname "$0")/../cli/lib.sh" "$@"

ih_multi=6e65eb3717d61fc1ac239a423430f395cffdf37a
ih_single=7414cdd718dab2352d9c607a2e9a87f15ebf4045
multi=$pcaps/bt-magnet-multi.pcap
single=$pcaps/bt-magnet-single.pcap

"$bin" --quiet -r "$multi" -s file.audit=yes -l "$tmp/audit.json" 2>"$tmp/why"
kp_check "file.audit: runs" $?
kp_py "$tmp/audit.json" "
files = [e['file'] for e in ev if e['event_type'] == 'file' and e['file']['state'] == 'listed']
got = sorted((f['name'], f['size'], f['state'], f.get('listed_as'), f['app'],
              f['hash']['kind'], f['hash']['value']) for f in files)
want = sorted((n, s, 'listed', 'torrent', 'bittorrent', 'bittorrent.info_hash', '$ih_multi')
              for n, s in [('kqb-files/readme.txt', 1200), ('kqb-files/data/part1.bin', 78800),
                           ('kqb-files/setup.exe', 70000)])
if got != want:
    print('want', want); print('got ', got); sys.exit(1)
other = [e for e in ev if e['event_type'] == 'file' and e['file']['state'] == 'listed'
         and e['dest_port'] != 6881]
if other:
    print('listed files on other flows', other); sys.exit(1)
"
kp_check "file.audit: the 3 files of the multi-file torrent are listed with sizes and info_hash" $?
kp_py "$tmp/audit.json" "
fl = [e for e in ev if e['event_type'] == 'flow' and e['dest_port'] == 6881]
bt = fl[0]['bittorrent'] if len(fl) == 1 else {}
if bt.get('torrent_name') != 'kqb-files' or bt.get('torrent_files') != 3:
    print(fl); sys.exit(1)
"
kp_check "file.audit: the peer flow names the torrent and its file count" $?

"$bin" --quiet -r "$single" -s file.audit=yes -l "$tmp/single.json" 2>"$tmp/why"
kp_py "$tmp/single.json" "
files = [(e['file']['name'], e['file']['size'], e['file']['hash']['value'])
         for e in ev if e['event_type'] == 'file' and e['file']['state'] == 'listed']
if files != [('setup.exe', 120000, '$ih_single')]:
    print(files); sys.exit(1)
"
kp_check "file.audit: the single-file torrent is listed" $?

"$bin" --quiet -r "$multi" -l "$tmp/plain.json" 2>"$tmp/why"
kp_py "$tmp/plain.json" "
n = sum(e['event_type'] == 'file' for e in ev)
if n:
    print(n, 'file events'); sys.exit(1)
"
kp_check "no content rules: no file events" $?

"$bin" --quiet -r "$multi" -s 'file=block glob=*.exe' -l "$tmp/block.json" 2>"$tmp/why"
kp_check "file=block glob=*.exe: runs" $?
kp_py "$tmp/block.json" "
blk = [e for e in ev if e['event_type'] == 'block']
if [e['dest_port'] for e in blk] != [6881]:
    print('block events:', blk); sys.exit(1)
exe = [e['file'] for e in ev if e['event_type'] == 'file' and e['file']['name'].endswith('.exe')]
if [(f['name'], f['verdict']) for f in exe] != [('kqb-files/setup.exe', 'block')]:
    print('exe file events:', exe); sys.exit(1)
"
kp_check "file=block glob=*.exe: one block event for the peer connection, setup.exe verdict block" $?

printf '%s\n' "$ih_multi" >"$tmp/hashes.txt"
"$bin" --quiet -r "$multi" -s "file=block hash=$ih_multi" -l "$tmp/hash.json" 2>"$tmp/why"
kp_py "$tmp/hash.json" "
blk = [e['dest_port'] for e in ev if e['event_type'] == 'block']
if 6881 not in blk:
    print('block events on ports', blk); sys.exit(1)
"
kp_check "file=block hash=INFO_HASH: the peer connection is blocked" $?

# A hash list file on a capture with a tracker: the HTTP announces (port 6969) that name the
# torrent are blocked as well as the peer connection.
printf '# banned torrents\n92f4d37948a6f40d6d618be90c064df089339b3e\n' >"$tmp/banned.txt"
"$bin" --quiet -r "$pcaps/bt-plain.pcap" -s "file=block name=banned hashes=$tmp/banned.txt" \
	-l "$tmp/announce.json" 2>"$tmp/why"
kp_py "$tmp/announce.json" "
blk = sorted(set((e['dest_port'], e['block']['rule']) for e in ev if e['event_type'] == 'block'))
if blk != [(6881, 'banned'), (6969, 'banned')]:
    print('block events:', blk); sys.exit(1)
"
kp_check "hashes=FILE: tracker announces and the peer connection of a listed info_hash are blocked" $?

kp_done
