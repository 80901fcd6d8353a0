#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Builds seed corpora for the libFuzzer targets of fuzz/ from captures (pcap
# or pcapng, read here without dependencies) and from the l7-filter patterns:
#
#   fuzz_decode/    link-type byte + one frame (first frames of every capture)
#   fuzz_pipeline/  flag byte + raw IP packets of one flow with 2-byte prefixes
#   fuzz_module/    l4/family byte, ports, then payload chunks with a direction
#                   bit (one file per flow; shared by every fuzz_module_<name>)
#   fuzz_config/    config files made from `kp2padm --help-config` (if given)
#   fuzz_pat/       l7-filter .pat files (if a patterns directory is given)
#
# The formats are those documented at the top of each fuzz/fuzz_*.c file.
# Output is generated data (fuzz/corpus-run/ is ignored by git): never commit it.
#
# usage: fuzz/mkcorpus.py OUTDIR [--help-config FILE] [--pats DIR] CAPTURE...

import argparse
import hashlib
import os
import struct
import sys

# Index into dlts[] of fuzz_decode.c for each capture link type.
DECODE_DLT_INDEX = {0: 0, 1: 1, 9: 2, 12: 3, 14: 4, 50: 5, 51: 6, 108: 7, 113: 8,
                    101: 9, 228: 10, 229: 11, 276: 12}

MAX_FLOWS = 600          # flows kept (module and pipeline seeds)
MAX_FRAMES_PER_CAP = 40  # decode seeds per capture
MAX_PKTS_PER_FLOW = 24
MAX_INPUT = 16384


def read_pcap(path):
    """Yields (linktype, frame) of a pcap or pcapng file; stops quietly on damage."""
    with open(path, 'rb') as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = data[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1', b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        e = '<' if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1') else '>'
        lt = struct.unpack(e + 'I', data[20:24])[0] & 0x0fffffff
        off = 24
        while off + 16 <= len(data):
            incl = struct.unpack(e + 'I', data[off + 8:off + 12])[0]
            off += 16
            if incl > len(data) - off:
                return
            yield lt, data[off:off + incl]
            off += incl
    elif magic == b'\x0a\x0d\x0d\x0a':
        e = '<' if data[8:12] == b'\x4d\x3c\x2b\x1a' else '>'
        ifaces = []
        off = 0
        while off + 12 <= len(data):
            btype, blen = struct.unpack(e + 'II', data[off:off + 8])
            if blen < 12 or off + blen > len(data):
                return
            body = data[off + 8:off + blen - 4]
            if btype == 0x0a0d0d0a:
                e = '<' if body[:4] == b'\x4d\x3c\x2b\x1a' else '>'
                ifaces = []
            elif btype == 1 and len(body) >= 2:
                ifaces.append(struct.unpack(e + 'H', body[:2])[0])
            elif btype == 6 and len(body) >= 20:
                iface, _, _, cap = struct.unpack(e + 'IIII', body[:16])
                if iface < len(ifaces):
                    yield ifaces[iface], body[20:20 + cap]
            elif btype == 3 and len(body) >= 4 and ifaces:
                yield ifaces[0], body[4:]
            off += blen


def ip_of(lt, fr):
    """The IP packet inside a frame, or None."""
    if lt == 1:
        off, et = 14, None
        if len(fr) < 14:
            return None
        et = struct.unpack('>H', fr[12:14])[0]
        while et in (0x8100, 0x88a8) and len(fr) >= off + 4:
            et = struct.unpack('>H', fr[off + 2:off + 4])[0]
            off += 4
        if et in (0x0800, 0x86dd):
            return fr[off:]
        if et == 0x8864 and len(fr) >= off + 8:  # PPPoE session
            return fr[off + 8:]
        return None
    if lt == 113:
        return fr[16:] if len(fr) > 16 else None
    if lt == 276:
        return fr[20:] if len(fr) > 20 else None
    if lt in (0, 108):
        return fr[4:] if len(fr) > 4 else None
    if lt in (12, 14, 101, 228, 229):
        return fr
    return None


def flow_of(ip):
    """(key, l4, src, dst, sport, dport, payload) of a TCP/UDP packet, or None."""
    if len(ip) < 20:
        return None
    v = ip[0] >> 4
    if v == 4:
        ihl = (ip[0] & 15) * 4
        if ip[6] & 0x3f or ip[7]:  # fragment: keep it, with no ports
            return ((ip[12:16], ip[16:20], ip[9], 0, 0), ip[9], ip[12:16], ip[16:20], 0, 0, b'')
        proto, src, dst, l4 = ip[9], ip[12:16], ip[16:20], ip[ihl:]
        tot = struct.unpack('>H', ip[2:4])[0]
        l4 = ip[ihl:tot] if ihl <= tot <= len(ip) else l4
    elif v == 6 and len(ip) >= 40:
        proto, src, dst, l4 = ip[6], ip[8:24], ip[24:40], ip[40:]
    else:
        return None
    if proto == 6 and len(l4) >= 20:
        sp, dp = struct.unpack('>HH', l4[:4])
        pay = l4[(l4[12] >> 4) * 4:]
    elif proto == 17 and len(l4) >= 8:
        sp, dp = struct.unpack('>HH', l4[:4])
        pay = l4[8:]
    else:
        return None
    a, b = (src, sp), (dst, dp)
    key = (min(a, b), max(a, b), proto)
    return key, proto, src, dst, sp, dp, pay


def put(d, data):
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('out')
    ap.add_argument('--help-config')
    ap.add_argument('--pats')
    ap.add_argument('captures', nargs='*')
    a = ap.parse_intermixed_args()

    flows = {}   # key -> list of (ip packet, first src, this src/sport, payload)
    order = []
    for cap in a.captures:
        n = 0
        try:
            for lt, fr in read_pcap(cap):
                if n < MAX_FRAMES_PER_CAP and lt in DECODE_DLT_INDEX:
                    put(os.path.join(a.out, 'fuzz_decode'),
                        bytes([DECODE_DLT_INDEX[lt]]) + fr[:4096])
                    n += 1
                ip = ip_of(lt, fr)
                fl = flow_of(ip) if ip else None
                if not fl:
                    continue
                key = (cap,) + fl[0]
                if key not in flows:
                    if len(order) >= MAX_FLOWS * 4:
                        continue
                    flows[key] = []
                    order.append(key)
                if len(flows[key]) < MAX_PKTS_PER_FLOW:
                    flows[key].append((ip, fl))
        except (OSError, struct.error) as ex:
            print(f'mkcorpus: {cap}: {ex}', file=sys.stderr)

    # prefer flows with payload, spread over captures
    with_pay = [k for k in order if any(len(fl[6]) for _, fl in flows[k])]
    by_cap = {}
    for k in with_pay:
        by_cap.setdefault(k[0], []).append(k)
    chosen = []
    while len(chosen) < MAX_FLOWS and any(by_cap.values()):
        for c in list(by_cap):
            if by_cap[c] and len(chosen) < MAX_FLOWS:
                chosen.append(by_cap[c].pop(0))
    for k in chosen:
        pkts = flows[k]
        _, fl0 = pkts[0]
        cli = (fl0[2], fl0[4])
        # pipeline: raw IP packets, prefix = length (clock step 1 ms)
        blob = bytearray([0])
        for ip, _ in pkts:
            ip = ip[:0x3fff]
            if len(blob) + 2 + len(ip) > MAX_INPUT:
                break
            blob += struct.pack('>H', len(ip)) + ip
        put(os.path.join(a.out, 'fuzz_pipeline'), bytes(blob))
        # module: l4 | family, client port, server port, chunks
        proto = fl0[1]
        fam = 2 if len(fl0[2]) == 16 else 0
        blob = bytearray([(1 if proto == 17 else 0) | fam])
        blob += struct.pack('>HH', fl0[4], fl0[5])
        for _, fl in pkts:
            pay = fl[6][:0x3fff]
            if not pay:
                continue
            d = 0 if (fl[2], fl[4]) == cli else 1
            if len(blob) + 2 + len(pay) > MAX_INPUT:
                break
            blob += struct.pack('>H', (d << 15) | len(pay)) + pay
        if len(blob) > 5:
            put(os.path.join(a.out, 'fuzz_module'), bytes(blob))

    if a.help_config and os.path.exists(a.help_config):
        lines = []
        for ln in open(a.help_config, errors='replace'):
            p = ln.split()
            if len(p) >= 2 and '.' in p[0] or (p and p[0] == 'checksum'):
                val = p[1] if p[1] != '(none)' else ''
                lines.append(f'{p[0]} = {val}\n')
        for i, ln in enumerate(lines):
            put(os.path.join(a.out, 'fuzz_config'), ('# seed\n' + ln).encode())
        put(os.path.join(a.out, 'fuzz_config'), ''.join(lines).encode())
        put(os.path.join(a.out, 'fuzz_config'),
            b'stream.depth = 1m\nflow.memcap=64k # c\nchecksum = strict\nsignatures.dir = /tmp\n')
    if a.pats and os.path.isdir(a.pats):
        for root, _, files in os.walk(a.pats):
            for fn in sorted(files):
                if fn.endswith('.pat'):
                    with open(os.path.join(root, fn), 'rb') as f:
                        put(os.path.join(a.out, 'fuzz_pat'), f.read()[:4096])
    for t in sorted(os.listdir(a.out)) if os.path.isdir(a.out) else []:
        print(f'mkcorpus: {t}: {len(os.listdir(os.path.join(a.out, t)))} seeds')


if __name__ == '__main__':
    main()
