/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The engine's state, shared by signer/engine.c and signer/engine_sign.c; not a public interface. */
#ifndef SIGNER_ENGINE_LOCAL_H
#define SIGNER_ENGINE_LOCAL_H

#include <stddef.h>

#include "signer/signer.h"

struct signer {
	const struct conf_signerd *conf;
	struct repo *repo;
	struct hsm *hsm;
	struct cert_issuer *issuers;
	struct hsm_key **keys;          /* keys[i] signs for issuers[i] */
	size_t n_issuers;
};

/* The index of the issuer with id, or -1. */
int engine_issuer_index(const struct signer *s, const char *id);

#endif /* SIGNER_ENGINE_LOCAL_H */
