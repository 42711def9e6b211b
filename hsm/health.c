/* SPDX-License-Identifier: GPL-3.0-or-later */
/* hsm: the health probe: token presence, login state, and a test signature per key. */

#include <string.h>
#include <unistd.h>

#include "hsm/hsm_local.h"

int
hsm_health(struct hsm *h, struct hsm_key *const *keys, size_t n,
    int *key_err, struct hsm_health *out, char *why, size_t whylen)
{
	char kwhy[HSM_WHY_MAX];
	size_t i;
	int first, r;

	memset(out, 0, sizeof(*out));
	err_why(why, whylen, "%s", "");
	if (h == NULL || (n > 0 && (keys == NULL || key_err == NULL)))
		return ERR_INVAL;
	if (h->pid != getpid())
		return hsm_usable(h, why, whylen);
	first = hsm_bring_up(h, why, whylen);
	out->token_present = hsm_token_present(h);
	for (i = 0; i < n; i++) {
		/* Token still down: every key shares that error. */
		if (first != 0 && !h->up)
			r = first;
		else
			r = hsm_key_probe(keys[i], kwhy, sizeof(kwhy));
		key_err[i] = r;
		if (r == 0)
			out->keys_ok++;
		else if (first == 0) {
			first = r;
			err_why(why, whylen, "%s", kwhy);
		}
	}
	if (first == 0 && h->pin_refused)
		first = hsm_usable(h, why, whylen);
	out->pin_refused = h->pin_refused;
	out->logged_in = h->up && h->logged_in && !h->pin_refused;
	out->stats = h->stats;
	return first;
}
