#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Makes pcap/ftp-vsftpd.pcap with real programs: vsftpd (anonymous, upload allowed
# into incoming/) in the server namespace on 198.19.0.1:21, lftp in the client
# namespace doing a directory listing and downloads over PASV, EPSV and PORT and a
# passive upload; then curl, which sends EPRT for IPv4 (lftp sends EPRT only for
# IPv6), does one active download. tcpdump records the client veth.
# Run as root. Needs: vsftpd, lftp, curl, tcpdump, ethtool, iproute2, openssl, tshark.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/netns.sh"
OUT=$HERE/pcap
mkdir -p "$OUT"

for t in vsftpd lftp curl tcpdump ethtool openssl tshark; do
	command -v "$t" >/dev/null || { echo "missing: $t (apt-get install -y vsftpd lftp curl tcpdump ethtool openssl tshark)" >&2; exit 1; }
done
getent passwd ftp >/dev/null || { echo "no 'ftp' user (the vsftpd package makes it)" >&2; exit 1; }

# Repeatable pseudo-random bytes: $1 = size, $2 = key byte (two hex digits).
fixed_bytes() {
	head -c "$1" /dev/zero | openssl enc -aes-128-ctr -nosalt -K "$(printf "$2%.0s" $(seq 16))" \
		-iv 00000000000000000000000000000000
}

kp_ns_up kpftp
kp_tmpdir
T=$KP_TMP

# Anonymous root: owned by root and not writable (vsftpd insists), incoming/ writable by ftp.
mkdir -p "$T/root/pub" "$T/root/incoming" "$T/empty" "$T/client/home" "$T/client/dl"
for i in $(seq 1 60); do
	printf 'README line %02d: files for the kp2padm FTP classifier tests.\n' "$i"
done >"$T/root/pub/README.txt"
fixed_bytes 102400 11 >"$T/root/pub/data-100k.bin"
fixed_bytes 30720 22 >"$T/root/pub/data-30k.bin"
fixed_bytes 8192 33 >"$T/root/pub/data-8k.bin"
fixed_bytes 20480 44 >"$T/client/upload-20k.bin"
chown root:root "$T/root"
chmod 755 "$T/root" "$T/root/pub"
chmod 644 "$T/root/pub/"*
chown ftp "$T/root/incoming"
chmod 755 "$T/root/incoming"

cat >"$T/vsftpd.conf" <<CONF
# vsftpd config for make-ftp.sh only.
listen=YES
listen_ipv6=NO
listen_address=$KP_SERVER_IP
listen_port=21
background=NO
anonymous_enable=YES
no_anon_password=NO
anon_root=$T/root
local_enable=NO
write_enable=YES
anon_upload_enable=YES
anon_mkdir_write_enable=NO
anon_other_write_enable=NO
anon_umask=022
dirmessage_enable=NO
hide_ids=YES
ftpd_banner=kp2padm test FTP server ready.
pasv_enable=YES
pasv_address=$KP_SERVER_IP
pasv_min_port=40000
pasv_max_port=40009
port_enable=YES
connect_from_port_20=YES
ftp_data_port=20
secure_chroot_dir=$T/empty
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
tcp_wrappers=NO
ssl_enable=NO
xferlog_enable=YES
vsftpd_log_file=$T/vsftpd.log
idle_session_timeout=60
data_connection_timeout=30
CONF

kp_bg "$KP_NS_S" vsftpd "$T/vsftpd.conf"
kp_wait_port "$KP_NS_S" 21

cat >"$T/client/script.lftp" <<LFTP
set cmd:fail-exit yes
set cmd:interactive no
set ftp:ssl-allow no
set ftp:proxy ""
set net:timeout 10
set net:max-retries 2
set net:reconnect-interval-base 1
set ftp:port-range 50000-50009
set xfer:clobber yes
set xfer:log no
set ftp:sync-mode yes
open -u anonymous,kp2padm@ ftp://$KP_SERVER_IP
set ftp:passive-mode yes
set ftp:prefer-epsv no
cls -l pub
get pub/README.txt -o $T/client/dl/README.txt
set ftp:prefer-epsv yes
get pub/data-100k.bin -o $T/client/dl/data-100k.bin
set ftp:passive-mode no
get pub/data-30k.bin -o $T/client/dl/data-30k.bin
set ftp:passive-mode yes
set ftp:prefer-epsv no
put $T/client/upload-20k.bin -o incoming/upload-20k.bin
quit
LFTP

kp_cap_start "$T/cap.pcap"
# Control connection 1: lftp - LIST (PASV), RETR (PASV), RETR (EPSV), RETR (PORT), STOR (PASV).
timeout 60 ip netns exec "$KP_NS_C" env HOME="$T/client/home" LFTP_HOME="$T/client/home" \
	lftp -f "$T/client/script.lftp" >/dev/null
# Control connection 2: curl - active mode with EPRT, one RETR.
timeout 30 ip netns exec "$KP_NS_C" curl -q --noproxy '*' -sS --max-time 20 \
	--ftp-port "$KP_CLIENT_IP:50010-50019" -o "$T/client/dl/data-8k.bin" \
	"ftp://$KP_SERVER_IP/pub/data-8k.bin"
kp_cap_stop

# Everything arrived intact?
for f in README.txt data-100k.bin data-30k.bin data-8k.bin; do
	cmp "$T/root/pub/$f" "$T/client/dl/$f"
done
cmp "$T/client/upload-20k.bin" "$T/root/incoming/upload-20k.bin"

# The commands that make the data connections must all be there.
cmds=$(tshark -r "$T/cap.pcap" -Y ftp.request -T fields -e ftp.request.command 2>/dev/null |
	sort -u | tr '\n' ' ')
for c in PASV EPSV PORT EPRT LIST RETR STOR; do
	case " $cmds" in
	*" $c "*) ;;
	*) echo "no $c in the capture (commands seen: $cmds)" >&2; exit 1 ;;
	esac
done

mv "$T/cap.pcap" "$OUT/ftp-vsftpd.pcap"
chown --reference="$OUT" "$OUT/ftp-vsftpd.pcap"
echo "wrote $OUT/ftp-vsftpd.pcap ($(stat -c %s "$OUT/ftp-vsftpd.pcap") bytes)"
