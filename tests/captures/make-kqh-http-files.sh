#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Makes pcap/kqh-http-files.pcap: the HTTP file cases http-nginx.pcap lacks, made
# by real programs (nginx with its DAV module, curl) between two namespaces
# kqh-files-c (198.18.0.1) and kqh-files-s (198.19.0.1), on one keep-alive
# connection to port 80:
#   PUT /up/upload-20k.bin         curl -T: a 20480-byte upload (file toserver), 201
#   GET /files/blob.bin, Range     curl -r 100-1123: 206, Content-Range bytes 100-1123/204800
#   GET /dl/euro.bin               Content-Disposition: attachment;
#                                  filename*=UTF-8''%e2%82%ac.exe (RFC 5987), 4096 bytes
# The file contents are fixed (AES-CTR over zeros with fixed keys): the same bytes on
# every run. Run as root. Needs: nginx (nginx-light), curl, tcpdump, ethtool, openssl, tshark.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/netns.sh"
OUT=$HERE/pcap
mkdir -p "$OUT"

for t in nginx curl tcpdump ethtool openssl tshark; do
	command -v "$t" >/dev/null || { echo "missing: $t" >&2; exit 1; }
done

fixed_bytes() { # SIZE KEYBYTE
	head -c "$1" /dev/zero |
		openssl enc -aes-128-ctr -nosalt -K "$2"0102030405060708090a0b0c0d0e0f \
			-iv 00000000000000000000000000000000
}

kp_ns_up kqh-files
kp_tmpdir
d=$KP_TMP
mkdir -p "$d/www/files" "$d/www/dl" "$d/www/up" "$d/tmp" "$d/src"
fixed_bytes 204800 00 >"$d/www/files/blob.bin"
fixed_bytes 4096 11 >"$d/www/dl/euro.bin"
fixed_bytes 20480 22 >"$d/src/upload-20k.bin"
chmod -R a+rwX "$d/www"
cat >"$d/nginx.conf" <<CONF
# nginx config for make-kqh-http-files.sh only; everything lives in $d.
worker_processes 1;
daemon off;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 64; }
http {
	default_type application/octet-stream;
	access_log $d/access.log;
	client_body_temp_path $d/tmp/body;
	proxy_temp_path $d/tmp/proxy;
	fastcgi_temp_path $d/tmp/fastcgi;
	uwsgi_temp_path $d/tmp/uwsgi;
	scgi_temp_path $d/tmp/scgi;
	sendfile off;
	keepalive_timeout 15;
	server {
		listen $KP_SERVER_IP:80;
		root $d/www;
		location /up/ { dav_methods PUT; create_full_put_path on; }
		location /dl/ {
			add_header Content-Disposition "attachment; filename*=UTF-8''%e2%82%ac.exe";
		}
	}
}
CONF
kp_bg "$KP_NS_S" nginx -e "$d/error.log" -c "$d/nginx.conf" -p "$d"
kp_wait_port "$KP_NS_S" 80

tmp_pcap=$d/cap.pcap
kp_cap_start "$tmp_pcap"
base=http://$KP_SERVER_IP
opt=(-q --noproxy '*' -sS -o /dev/null)
timeout 30 ip netns exec "$KP_NS_C" curl "${opt[@]}" --max-time 20 \
	-T "$d/src/upload-20k.bin" "$base/up/upload-20k.bin" \
	--next "${opt[@]}" -r 100-1123 "$base/files/blob.bin" \
	--next "${opt[@]}" "$base/dl/euro.bin"
kp_cap_stop

cmp "$d/src/upload-20k.bin" "$d/www/up/upload-20k.bin"
conns=$(tshark -r "$tmp_pcap" -Y 'tcp.flags.syn==1 && tcp.flags.ack==0' 2>/dev/null | wc -l)
[ "$conns" = 1 ] || { echo "expected one connection, saw $conns" >&2; exit 1; }
mv "$tmp_pcap" "$OUT/kqh-http-files.pcap"
chown --reference="$OUT" "$OUT/kqh-http-files.pcap"
echo "wrote $OUT/kqh-http-files.pcap ($(stat -c %s "$OUT/kqh-http-files.pcap") bytes)"
echo "sha256:"
(cd "$d" && sha256sum src/upload-20k.bin www/dl/euro.bin)
head -c 1124 "$d/www/files/blob.bin" | tail -c 1024 | sha256sum | sed 's/-$/blob.bin bytes 100-1123/'
