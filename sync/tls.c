/* SPDX-License-Identifier: GPL-3.0-or-later */
/* sync: TLS 1.3 contexts with the link certificate, and the peer pinned by the SHA-256 fingerprint of its certificate. */

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "sync/sync_local.h"

/* The pinned fingerprint, kept with the context. */
struct tls_pin {
	uint8_t fp[CONF_FINGERPRINT_LEN];
};

static int tls_pin_index = -1;
static pthread_once_t tls_pin_once = PTHREAD_ONCE_INIT;

static void
tls_pin_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
    void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	free(ptr);
}

static void
tls_pin_index_new(void)
{
	tls_pin_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL,
	    tls_pin_free);
}

void
sync_tls_error(const char *prefix, char *why, size_t whylen)
{
	char buf[200];
	unsigned long e = ERR_get_error();

	if (e == 0)
		snprintf(buf, sizeof(buf), "no detail");
	else
		ERR_error_string_n(e, buf, sizeof(buf));
	err_why(why, whylen, "%s: %s", prefix, buf);
	ERR_clear_error();
}

/* SHA-256 of the certificate's DER. */
static int
tls_cert_fp(X509 *x, uint8_t fp[CONF_FINGERPRINT_LEN])
{
	unsigned int len = 0;

	if (X509_digest(x, EVP_sha256(), fp, &len) != 1 ||
	    len != CONF_FINGERPRINT_LEN)
		return ERR_INTERNAL;
	return 0;
}

/*
 * The chain is not checked against any CA: the peer is the one whose
 * certificate has the pinned fingerprint, and the handshake proves it holds
 * that certificate's key.
 */
static int
tls_verify(int preverify, X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	const struct tls_pin *pin;
	uint8_t fp[CONF_FINGERPRINT_LEN];
	X509 *x;

	(void)preverify;
	if (X509_STORE_CTX_get_error_depth(xs) != 0)
		return 1;       /* only the peer's own certificate counts */
	if (ssl == NULL || (pin = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl),
	    tls_pin_index)) == NULL ||
	    (x = X509_STORE_CTX_get_current_cert(xs)) == NULL ||
	    tls_cert_fp(x, fp) != 0 ||
	    CRYPTO_memcmp(fp, pin->fp, sizeof(fp)) != 0) {
		X509_STORE_CTX_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	X509_STORE_CTX_set_error(xs, X509_V_OK);
	return 1;
}

/* The key file must be a regular file that only its owner may read. */
static int
tls_key_check(const char *path, char *why, size_t whylen)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		err_why(why, whylen, "%s: %s", path, strerror(errno));
		return ERR_CONFIG;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		err_why(why, whylen, "%s: the link key must be a regular file "
		    "of mode 0600 or 0400 (it is %04o)", path,
		    (unsigned)(st.st_mode & 07777));
		return ERR_CONFIG;
	}
	return 0;
}

static int
tls_ctx_load(SSL_CTX *ctx, const struct conf_sync *c, bool server, char *why,
    size_t whylen)
{
	char msg[CONF_HOSTPORT_MAX + 64];
	int rc;

	if ((rc = tls_key_check(c->key, why, whylen)) != 0)
		return rc;
	snprintf(msg, sizeof(msg), "%.200s", c->cert);
	if (SSL_CTX_use_certificate_chain_file(ctx, c->cert) != 1) {
		sync_tls_error(msg, why, whylen);
		return ERR_CONFIG;
	}
	snprintf(msg, sizeof(msg), "%.200s", c->key);
	if (SSL_CTX_use_PrivateKey_file(ctx, c->key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		sync_tls_error(msg, why, whylen);
		return ERR_CONFIG;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1) {
		sync_tls_error("TLS 1.3", why, whylen);
		return ERR_INTERNAL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
	    (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), tls_verify);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* One peer, reconnecting: nothing is gained by resuming sessions. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	return 0;
}

int
sync_tls_ctx(const struct conf_sync *c, bool server, SSL_CTX **out,
    char *why, size_t whylen)
{
	struct tls_pin *pin = NULL;
	SSL_CTX *ctx;
	int rc;

	*out = NULL;
	pthread_once(&tls_pin_once, tls_pin_index_new);
	if (tls_pin_index < 0)
		return ERR_INTERNAL;
	if ((ctx = SSL_CTX_new(server ? TLS_server_method() :
	    TLS_client_method())) == NULL) {
		sync_tls_error("TLS context", why, whylen);
		return ERR_NOMEM;
	}
	if ((pin = calloc(1, sizeof(*pin))) == NULL) {
		SSL_CTX_free(ctx);
		return ERR_NOMEM;
	}
	if (conf_fingerprint_parse(c->peer_fingerprint, pin->fp) != 0 ||
	    SSL_CTX_set_ex_data(ctx, tls_pin_index, pin) != 1) {
		err_why(why, whylen, "peer_fingerprint is not a SHA-256 "
		    "fingerprint");
		free(pin);
		SSL_CTX_free(ctx);
		return ERR_CONFIG;
	}
	/* pin is the context's now: freed with it */
	if ((rc = tls_ctx_load(ctx, c, server, why, whylen)) != 0) {
		SSL_CTX_free(ctx);
		return rc;
	}
	*out = ctx;
	return 0;
}

int
sync_fingerprint_file(const char *pem, char out[SYNC_FINGERPRINT_TEXT],
    char *why, size_t whylen)
{
	uint8_t fp[CONF_FINGERPRINT_LEN];
	X509 *x = NULL;
	FILE *f;
	size_t i;

	if (pem == NULL || out == NULL)
		return ERR_INVAL;
	out[0] = '\0';
	if ((f = fopen(pem, "r")) == NULL) {
		err_why(why, whylen, "%s: %s", pem, strerror(errno));
		return ERR_CONFIG;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL || tls_cert_fp(x, fp) != 0) {
		X509_free(x);
		ERR_clear_error();
		err_why(why, whylen, "%s: not a PEM certificate", pem);
		return ERR_CONFIG;
	}
	X509_free(x);
	for (i = 0; i < sizeof(fp); i++)
		snprintf(out + 3 * i, SYNC_FINGERPRINT_TEXT - 3 * i, "%02X%s",
		    fp[i], i + 1 < sizeof(fp) ? ":" : "");
	return 0;
}
