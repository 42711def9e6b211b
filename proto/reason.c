/* SPDX-License-Identifier: GPL-3.0-or-later */
/* proto: the RFC 5280 CRLReason names that revocations carry on the wire. */

#include <string.h>

#include "proto/proto.h"

/* Indexed by the RFC 5280 CRLReason code; 7 is unused, 8 (removeFromCRL) is for delta CRLs only. */
static const char *const reason_names[MSG_REASON_MAX + 1] = {
	[0] = "unspecified",
	[1] = "keyCompromise",
	[2] = "cACompromise",
	[3] = "affiliationChanged",
	[4] = "superseded",
	[5] = "cessationOfOperation",
	[6] = "certificateHold",
	[9] = "privilegeWithdrawn",
	[10] = "aACompromise",
};

const char *
msg_reason_name(int code)
{
	if (code < 0 || code > MSG_REASON_MAX)
		return NULL;
	return reason_names[code];
}

int
msg_reason_code(const char *name, size_t len)
{
	int i;

	for (i = 0; i <= MSG_REASON_MAX; i++)
		if (reason_names[i] != NULL && strlen(reason_names[i]) == len &&
		    memcmp(reason_names[i], name, len) == 0)
			return i;
	return -1;
}
