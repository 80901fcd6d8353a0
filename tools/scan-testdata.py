#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Test data for the virus scanner, made at build or test time, never kept in clear.

  scan-testdata.py ndb OUT    the project's test signature database: one body signature
                              Kp2padm.Test.EICAR (target any, offset 0, the 68 bytes of the
                              EICAR anti-virus test file) and nothing else
  scan-testdata.py eicar OUT  the EICAR test file itself (68 bytes, no newline)
  scan-testdata.py zip OUT    a zip (deflated) holding eicar.com

The EICAR string is stored reversed below so that virus scanners do not flag the
repository; it is the standard test string of https://www.eicar.org (harmless).
"""
import io
import sys
import zipfile

# The EICAR test string, reversed (eicar() turns it round).
_EICAR_REVERSED = r"*H+H$!ELIF-TSET-SURIVITNA-DRADNATS-RACIE$}7)CC7)^P(45XZP\4[PA@%P!O5X"
SIG_NAME = "Kp2padm.Test.EICAR"


def eicar():
    data = _EICAR_REVERSED[::-1].encode("ascii")
    assert len(data) == 68
    return data


def ndb():
    # ClamAV extended signature format: Name:TargetType:Offset:HexSignature
    return "%s:0:0:%s\n" % (SIG_NAME, eicar().hex())


def zip_bytes():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("eicar.com", eicar())
    return out.getvalue()


def main(argv):
    if len(argv) != 3 or argv[1] not in ("ndb", "eicar", "zip"):
        sys.stderr.write("usage: scan-testdata.py ndb|eicar|zip OUT ('-' = stdout)\n")
        return 2
    kind, path = argv[1], argv[2]
    data = {"ndb": lambda: ndb().encode("ascii"), "eicar": eicar, "zip": zip_bytes}[kind]()
    if path == "-":
        sys.stdout.buffer.write(data)
    else:
        with open(path, "wb") as f:
            f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
