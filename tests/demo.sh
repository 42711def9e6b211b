#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# make demo: show the wire format at work (the daemon and client join it as they land).
set -eu
tool=${BUILD:-build}/tests/tools/wire-example

echo "== A 'hello' request as signer-client puts it on the serial line"
"$tool"
echo
echo "== The receiving side decodes it, checking COBS, CRC32 and the envelope"
"$tool" | "$tool" decode
echo
echo "== The same frame with one bit flipped by line noise"
"$tool" | sed 's/^3d 84 a1 76 01/3d 84 a1 77 01/' | "$tool" decode
echo
echo "The wire format is specified in docs/protocol.md."
