#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Makes the project's own HTTP test captures with real programs: nginx serves a
# small site in the server namespace (198.19.0.1, ports 80 and 8081 - the second
# one non-standard, so only the content can give the label), curl fetches it from
# the client namespace, tcpdump records the client veth.
#   pcap/http-nginx.pcap    checksums finished in software (tx offload off), as on a wire
#   pcap/http-offload.pcap  the same traffic with tx checksum offload left ON on the
#                           client veth: packets the client sends carry unfinished
#                           (partial) TCP checksums in the capture
# Run as root. Needs: nginx (nginx-light), curl, tcpdump, ethtool, iproute2, openssl.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/netns.sh"
OUT=$HERE/pcap
mkdir -p "$OUT"

for t in nginx curl tcpdump ethtool openssl; do
	command -v "$t" >/dev/null || { echo "missing: $t (apt-get install -y nginx-light curl tcpdump ethtool openssl)" >&2; exit 1; }
done

# Fixed content, the same bytes on every run.
make_site() {
	local www=$1
	mkdir -p "$www/files"
	cat >"$www/index.html" <<'HTML'
<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>kp2padm test site</title></head>
<body>
<h1>kp2padm capture test</h1>
<p>A small page served by nginx for the HTTP classifier tests.</p>
<ul>
<li><a href="/files/blob.bin">blob.bin</a> (200 KiB of fixed pseudo-random bytes)</li>
<li><a href="/notes.txt">notes.txt</a> (plain text, sent gzip-compressed and chunked)</li>
</ul>
</body>
</html>
HTML
	local i
	for i in $(seq 1 120); do
		printf 'line %03d: the quick brown fox jumps over the lazy dog, again and again.\n' "$i"
	done >"$www/notes.txt"
	# 200 KiB from AES-128-CTR over zeros with a fixed key: pseudo-random, repeatable.
	head -c 204800 /dev/zero |
		openssl enc -aes-128-ctr -nosalt -K 000102030405060708090a0b0c0d0e0f \
			-iv 00000000000000000000000000000000 >"$www/files/blob.bin"
	chmod -R a+rX "$www"
}

write_nginx_conf() {
	local d=$1
	mkdir -p "$d/tmp"
	cat >"$d/nginx.conf" <<CONF
# nginx config for make-http.sh only; everything lives in $d.
worker_processes 1;
daemon off;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 64; }
http {
	include /etc/nginx/mime.types;
	default_type application/octet-stream;
	access_log $d/access.log;
	client_body_temp_path $d/tmp/body;
	proxy_temp_path $d/tmp/proxy;
	fastcgi_temp_path $d/tmp/fastcgi;
	uwsgi_temp_path $d/tmp/uwsgi;
	scgi_temp_path $d/tmp/scgi;
	sendfile off;
	keepalive_timeout 15;
	keepalive_requests 100;
	gzip on;
	gzip_types text/plain;
	gzip_min_length 64;
	resolver_timeout 1s;
	server {
		listen $KP_SERVER_IP:80;
		listen $KP_SERVER_IP:8081;
		server_name www.kp2padm.test;
		root $d/www;
	}
}
CONF
}

# One capture: $1 = output file, $2 = "on" to leave tx checksum offload on (client veth).
capture_http() {
	local out=$1 offload=$2 base
	kp_ns_up kphttp
	if [ "$offload" = on ]; then
		ip netns exec "$KP_NS_C" ethtool -K kpc0 tx on >/dev/null
	fi
	kp_tmpdir
	make_site "$KP_TMP/www"
	write_nginx_conf "$KP_TMP"
	kp_bg "$KP_NS_S" nginx -e "$KP_TMP/error.log" -c "$KP_TMP/nginx.conf" -p "$KP_TMP"
	kp_wait_port "$KP_NS_S" 80
	kp_wait_port "$KP_NS_S" 8081

	local tmp_pcap=$KP_TMP/cap.pcap
	kp_cap_start "$tmp_pcap"
	local curl=(timeout 30 ip netns exec "$KP_NS_C" curl -q --noproxy '*' -sS --max-time 20
		-o /dev/null)

	# Connection 1, port 80, keep-alive: page, 200 KiB binary, HEAD - one TCP connection.
	base=http://$KP_SERVER_IP
	"${curl[@]}" "$base/index.html" --next -q --noproxy '*' -sS -o /dev/null "$base/files/blob.bin" \
		--next -q --noproxy '*' -sS -I -o /dev/null "$base/index.html"
	# Connection 2, port 8081 (content, not port): gzip + chunked text, then a 404.
	base=http://$KP_SERVER_IP:8081
	"${curl[@]}" --compressed "$base/notes.txt" --next -q --noproxy '*' -sS -o /dev/null \
		"$base/no-such-page.html"
	kp_cap_stop

	# Both ports must have been used, each by exactly one connection.
	local conns
	conns=$(tshark -r "$tmp_pcap" -Y 'tcp.flags.syn==1 && tcp.flags.ack==0' -T fields -e tcp.dstport 2>/dev/null |
		sort | tr '\n' ' ')
	if [ "$conns" != "80 8081 " ]; then
		echo "unexpected connections in $out: $conns" >&2
		return 1
	fi
	mv "$tmp_pcap" "$out"
	chown --reference="$OUT" "$out"
	kp_cleanup
	echo "wrote $out ($(stat -c %s "$out") bytes)"
}

command -v tshark >/dev/null || { echo "missing: tshark (apt-get install -y tshark)" >&2; exit 1; }
capture_http "$OUT/http-nginx.pcap" off
capture_http "$OUT/http-offload.pcap" on

# The offload capture must show bad checksums on client packets, the other none.
bad=$(tshark -r "$OUT/http-offload.pcap" -o tcp.check_checksum:TRUE \
	-Y "tcp.checksum.status == 0 && ip.src == $KP_CLIENT_IP" 2>/dev/null | wc -l)
good=$(tshark -r "$OUT/http-nginx.pcap" -o tcp.check_checksum:TRUE -Y "tcp.checksum.status == 0" 2>/dev/null | wc -l)
if [ "$bad" -eq 0 ] || [ "$good" -ne 0 ]; then
	echo "checksum check failed: offload capture bad=$bad, plain capture bad=$good" >&2
	exit 1
fi
echo "http-offload.pcap: $bad client packets with unfinished checksums; http-nginx.pcap: none"
