#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The worked examples in docs/protocol.md are what the code puts on the wire.
. tests/integration/lib.sh

tool=$BUILD/tests/tools/wire-example
doc=docs/protocol.md

# The hex lines of the indented block that starts with $1 in section $2.
doc_frame() {
	sed -n "/^### $2/,/^##/p" "$doc" | awk -v first="    $1 " '
		index($0, first) == 1 { on = 1 }
		on && /^    [0-9a-f][0-9a-f]( [0-9a-f][0-9a-f])*$/ { print; next }
		on { exit }'
}

"$tool" | grep -v '^#' >"$T_TMP/tool.hex"
doc_frame 3d 2.4 >"$T_TMP/doc24.hex"
check "section 2.4 frame is 62 bytes" \
	test "$(tr -s ' \n' '\n\n' <"$T_TMP/doc24.hex" | grep -c .)" -eq 62
check "section 2.4 frame equals the encoder's output" \
	sh -c "tr -s ' \n' '\n\n' <'$T_TMP/doc24.hex' | grep . >'$T_TMP/a'; \
	       tr -s ' \n' '\n\n' <'$T_TMP/tool.hex' | grep . >'$T_TMP/b'; cmp -s '$T_TMP/a' '$T_TMP/b'"

doc_frame 35 2.5 >"$T_TMP/doc25.hex"
"$tool" decode <"$T_TMP/doc25.hex" >"$T_TMP/doc25.out"
check "section 2.5 frame decodes with a good CRC" grep -q 'CRC32 0xa4b69f87 ok' "$T_TMP/doc25.out"
check "section 2.5 frame is the documented response" \
	grep -q '"result": {"server": "signerd", "node": 1, "max_frame": 65536}' "$T_TMP/doc25.out"

# One flipped bit anywhere in the documented frame is caught.
sed 's/3d 84 a1 76 01/3d 84 a1 77 01/' "$T_TMP/doc24.hex" | "$tool" decode >"$T_TMP/flip.out"
check "a flipped bit in the documented frame fails the CRC" grep -q 'bad frame' "$T_TMP/flip.out"

done_testing
