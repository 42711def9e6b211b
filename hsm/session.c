/* SPDX-License-Identifier: GPL-3.0-or-later */
/* hsm: pkcs11-helper set-up, token lookup by label, login, and the one-retry recovery when the token or its session goes away. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "hsm/hsm_local.h"

#define HSM_PROVIDER_REF "signer"       /* pkcs11-helper's module name */
#define HSM_CKR_NAME_MAX 32             /* "CKR 0x" and 16 hex digits fit */
#define HSM_LABELS_SEEN_MAX 96          /* labels quoted when ours is missing */

/*
 * pkcs11-helper keeps its state in globals: one hsm at a time. Recovery
 * model: pkcs11-helper already re-opens its session and logs in again, once,
 * when a private-key operation fails; it asks our PIN hook for the PIN. Each
 * call into this module may hand out one PIN (logins_left), so that built-in
 * retry is the call's one recovery and a second failure ends the call. When
 * pkcs11-helper gives up before it asks for a PIN (token not in any slot,
 * C_OpenSession failing, ...), the module is finalised, initialised again
 * and logged in with the call's PIN, and the operation is retried once.
 */
static bool hsm_open_now;


/* "CKR_DEVICE_REMOVED", or the number for codes pkcs11-helper does not name. */
static const char *
hsm_ckr_name(CK_RV rv, char *buf, size_t len)
{
	const char *s = pkcs11h_getMessage(rv);

	if (strncmp(s, "CKR_", 4) == 0)
		return s;
	snprintf(buf, len, "CKR 0x%lx", (unsigned long)rv);
	return buf;
}

/* The token or its session went away: a new session and login may help. */
static bool
hsm_rv_recoverable(CK_RV rv)
{
	switch (rv) {
	case CKR_SESSION_HANDLE_INVALID:
	case CKR_SESSION_CLOSED:
	case CKR_USER_NOT_LOGGED_IN:
	case CKR_DEVICE_REMOVED:
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_DEVICE_ERROR:
	case CKR_CRYPTOKI_NOT_INITIALIZED:
	case CKR_GENERAL_ERROR:
	case CKR_OBJECT_HANDLE_INVALID:
	case CKR_KEY_HANDLE_INVALID:
		return true;
	default:
		return false;
	}
}

/* The PIN was refused: trying again would count towards a lockout. */
static bool
hsm_rv_pin(CK_RV rv)
{
	switch (rv) {
	case CKR_PIN_INCORRECT:
	case CKR_PIN_INVALID:
	case CKR_PIN_LEN_RANGE:
	case CKR_PIN_EXPIRED:
	case CKR_PIN_LOCKED:
		return true;
	default:
		return false;
	}
}

/* Map a failed pkcs11-helper call to an error; a refused PIN latches. */
static int
hsm_rv_error(struct hsm *h, CK_RV rv, const char *what, char *why,
    size_t whylen)
{
	char name[HSM_CKR_NAME_MAX];
	int r;

	if (rv == CKR_CANCEL || hsm_rv_pin(rv) || hsm_rv_recoverable(rv))
		h->logged_in = false;
	if (rv == CKR_CANCEL && h->hook_err != 0) {
		r = h->hook_err;
		h->hook_err = 0;
		err_why(why, whylen, "%s: %s", what, h->hook_why);
		return r;
	}
	if (hsm_rv_pin(rv)) {
		h->pin_refused = true;
		err_why(why, whylen, "%s: %s: PIN refused; it is not tried "
		    "again until the HSM is opened anew", what,
		    hsm_ckr_name(rv, name, sizeof(name)));
		return ERR_PIN;
	}
	if (rv == CKR_CANCEL && h->logins_left == 0) {
		err_why(why, whylen, "%s: the token failed again after its "
		    "session was re-opened; giving up this call", what);
		return ERR_HSM;
	}
	err_why(why, whylen, "%s: %s", what, hsm_ckr_name(rv, name,
	    sizeof(name)));
	return rv == CKR_HOST_MEMORY ? ERR_NOMEM : ERR_HSM;
}

static void
hsm_log_hook(void *const global, const unsigned flags,
    const char *const format, va_list args)
{
	/* Library code never logs; errors travel back as return values. */
	(void)global;
	(void)flags;
	(void)format;
	(void)args;
}

static PKCS11H_BOOL
hsm_token_hook(void *const global, void *const user,
    const pkcs11h_token_id_t token, const unsigned retry)
{
	/* Never wait for a token to be inserted: the caller retries later. */
	(void)global;
	(void)user;
	(void)token;
	(void)retry;
	return FALSE;
}

/*
 * pkcs11-helper asks for the PIN when it logs in by itself. Give it at most
 * one PIN per login attempt (retry 0 only), only while the current call has
 * a login left, and never after a refusal: it must not loop on a wrong PIN.
 */
static PKCS11H_BOOL
hsm_pin_hook(void *const global, void *const user,
    const pkcs11h_token_id_t token, const unsigned retry, char *const pin,
    const size_t pin_max)
{
	struct hsm *h = global;
	char buf[HSM_PIN_MAX + 1];
	size_t len;
	int r;

	(void)user;
	(void)token;
	if (h == NULL || retry != 0 || h->pin_refused || h->logins_left == 0)
		return FALSE;
	h->logins_left--;
	r = hsm_pin_read(h->pin_file, h->pin_env, buf, sizeof(buf),
	    h->hook_why, sizeof(h->hook_why));
	if (r != 0) {
		h->hook_err = r;
		return FALSE;
	}
	len = strlen(buf);
	if (len >= pin_max) {
		OPENSSL_cleanse(buf, sizeof(buf));
		h->hook_err = ERR_CONFIG;
		err_why(h->hook_why, sizeof(h->hook_why), "PIN longer than "
		    "pkcs11-helper accepts (%zu bytes)", pin_max - 1);
		return FALSE;
	}
	memcpy(pin, buf, len + 1);
	OPENSSL_cleanse(buf, sizeof(buf));
	h->stats.logins++;
	return TRUE;
}

static int
hsm_configure(struct hsm *h, char *why, size_t whylen)
{
	char name[HSM_CKR_NAME_MAX];
	CK_RV rv;

	pkcs11h_setLogLevel(PKCS11H_LOG_QUIET);
	rv = pkcs11h_setLogHook(hsm_log_hook, NULL);
	if (rv == CKR_OK)
		rv = pkcs11h_setTokenPromptHook(hsm_token_hook, h);
	if (rv == CKR_OK)
		rv = pkcs11h_setPINPromptHook(hsm_pin_hook, h);
	/* One C_Login per login: pkcs11-helper would otherwise try 3 times. */
	if (rv == CKR_OK)
		rv = pkcs11h_setMaxLoginRetries(1);
	if (rv == CKR_OK)
		rv = pkcs11h_setPINCachePeriod(PKCS11H_PIN_CACHE_INFINITE);
	if (rv == CKR_OK)
		rv = pkcs11h_setProtectedAuthentication(FALSE);
	/* No automatic re-initialisation in children: see hsm.h on fork(). */
	if (rv == CKR_OK)
		rv = pkcs11h_setForkMode(FALSE);
	if (rv != CKR_OK) {
		err_why(why, whylen, "pkcs11-helper: configure: %s",
		    hsm_ckr_name(rv, name, sizeof(name)));
		return ERR_HSM;
	}
	return 0;
}

static int
hsm_load_module(struct hsm *h, char *why, size_t whylen)
{
	char name[HSM_CKR_NAME_MAX];
	CK_RV rv;

	/* The provider's private-key mode is "sign": only C_Sign is used. */
	rv = pkcs11h_addProvider(HSM_PROVIDER_REF, h->module, FALSE,
	    PKCS11H_PRIVATEMODE_MASK_SIGN, PKCS11H_SLOTEVENT_METHOD_AUTO, 0,
	    FALSE);
	if (rv != CKR_OK) {
		err_why(why, whylen, "PKCS#11 module %s: cannot load or "
		    "initialise it: %s", h->module, hsm_ckr_name(rv, name,
		    sizeof(name)));
		return rv == CKR_HOST_MEMORY ? ERR_NOMEM : ERR_HSM;
	}
	return 0;
}

/* Append 'label' to seen (for the "no such token" message), as room allows. */
static void
hsm_labels_add(char *seen, size_t len, const char *label)
{
	size_t used = strlen(seen);

	if (label[0] == '\0' || used >= len - 1)
		return;
	snprintf(seen + used, len - used, "%s'%s'", used > 0 ? ", " : "",
	    label);
}

/* Find the one present token labelled h->label; h->token is set. */
static int
hsm_token_find(struct hsm *h, char *why, size_t whylen)
{
	pkcs11h_token_id_list_t list = NULL, e;
	pkcs11h_token_id_t found = NULL;
	char seen[HSM_LABELS_SEEN_MAX] = "", name[HSM_CKR_NAME_MAX];
	size_t n = 0;
	CK_RV rv;
	int r = 0;

	rv = pkcs11h_token_enumTokenIds(PKCS11H_ENUM_METHOD_RELOAD, &list);
	if (rv != CKR_OK) {
		err_why(why, whylen, "PKCS#11 module %s: list tokens: %s",
		    h->module, hsm_ckr_name(rv, name, sizeof(name)));
		return ERR_HSM;
	}
	for (e = list; e != NULL; e = e->next) {
		if (strcmp(e->token_id->label, h->label) != 0) {
			hsm_labels_add(seen, sizeof(seen), e->token_id->label);
			continue;
		}
		if (n++ == 0)
			found = e->token_id;
	}
	if (n == 0) {
		err_why(why, whylen, "no token labelled '%s' in %s (%s%s)",
		    h->label, h->module, seen[0] != '\0' ? "tokens: " :
		    "no labelled token present", seen);
		/* Later, a missing token is the HSM failing, not a lookup. */
		r = h->opened ? ERR_HSM : ERR_NOT_FOUND;
	} else if (n > 1) {
		err_why(why, whylen, "%zu tokens are labelled '%s' in %s; "
		    "the label must name one token", n, h->label, h->module);
		r = ERR_HSM;
	} else if (pkcs11h_token_duplicateTokenId(&h->token, found) !=
	    CKR_OK) {
		err_why(why, whylen, "out of memory");
		r = ERR_NOMEM;
	}
	pkcs11h_token_freeTokenIdList(list);
	return r;
}

/* Log in with the PIN read now; spends the current call's login. */
static int
hsm_login(struct hsm *h, char *why, size_t whylen)
{
	char pin[HSM_PIN_MAX + 1], what[HSM_LABEL_MAX + 32];
	CK_RV rv;
	int r;

	if (h->pin_refused) {
		err_why(why, whylen, "token '%s': a PIN was refused earlier; "
		    "it is not tried again", h->label);
		return ERR_PIN;
	}
	if (h->logins_left == 0) {
		err_why(why, whylen, "token '%s': needs a new login, but this "
		    "call already logged in once", h->label);
		return ERR_HSM;
	}
	h->logins_left--;
	if ((r = hsm_pin_read(h->pin_file, h->pin_env, pin, sizeof(pin), why,
	    whylen)) != 0)
		return r;
	rv = pkcs11h_token_login(h->token, TRUE, pin);
	OPENSSL_cleanse(pin, sizeof(pin));
	h->stats.logins++;
	if (rv != CKR_OK) {
		snprintf(what, sizeof(what), "token '%s': login", h->label);
		return hsm_rv_error(h, rv, what, why, whylen);
	}
	h->logged_in = true;
	return 0;
}

/* Initialise pkcs11-helper, load the module, find the token, log in. */
static int
hsm_start(struct hsm *h, char *why, size_t whylen)
{
	char name[HSM_CKR_NAME_MAX];
	CK_RV rv;
	int r;

	if ((rv = pkcs11h_initialize()) != CKR_OK) {
		err_why(why, whylen, "pkcs11-helper: initialise: %s",
		    hsm_ckr_name(rv, name, sizeof(name)));
		return rv == CKR_HOST_MEMORY ? ERR_NOMEM : ERR_HSM;
	}
	h->inited = true;
	if ((r = hsm_configure(h, why, whylen)) != 0 ||
	    (r = hsm_load_module(h, why, whylen)) != 0 ||
	    (r = hsm_token_find(h, why, whylen)) != 0)
		return r;
	return hsm_login(h, why, whylen);
}

/* Drop every PKCS#11 handle and finalise the module. */
static void
hsm_stop(struct hsm *h)
{
	struct hsm_key *k;

	for (k = h->keys; k != NULL; k = k->next)
		hsm_key_unbind(k);
	if (h->token != NULL) {
		pkcs11h_token_freeTokenId(h->token);
		h->token = NULL;
	}
	if (h->inited) {
		pkcs11h_logout();
		pkcs11h_terminate();
		h->inited = false;
	}
	h->up = false;
	h->logged_in = false;
}

/* Start over: finalise, initialise, log in, bind every key again. */
static int
hsm_reinit(struct hsm *h, char *why, size_t whylen)
{
	struct hsm_key *k;
	int r;

	hsm_stop(h);
	h->stats.reinits++;
	if ((r = hsm_start(h, why, whylen)) != 0)
		return r;
	for (k = h->keys; k != NULL; k = k->next) {
		if ((r = hsm_key_bind(k)) != 0) {
			err_why(why, whylen, "token '%s': bind key %s again",
			    h->label, k->id_hex);
			return r;
		}
	}
	h->up = true;
	return 0;
}

static int
hsm_params_check(const struct hsm_params *p, char *why, size_t whylen)
{
	struct stat st;
	size_t len;

	if (p == NULL || p->token == NULL) {
		err_why(why, whylen, "no token label given");
		return ERR_INVAL;
	}
	len = strlen(p->token);
	if (len == 0 || len > HSM_LABEL_MAX) {
		err_why(why, whylen, "token label must be 1..%d bytes",
		    HSM_LABEL_MAX);
		return ERR_INVAL;
	}
	if ((p->pin_file == NULL) == (p->pin_env == NULL)) {
		err_why(why, whylen, "exactly one of a PIN file and a PIN "
		    "environment variable must be given");
		return ERR_INVAL;
	}
	if (p->module != NULL && stat(p->module, &st) == -1) {
		err_why(why, whylen, "PKCS#11 module %s: %s", p->module,
		    strerror(errno));
		return ERR_CONFIG;
	}
	return 0;
}

/* Check the PIN source before the token is touched; the PIN is wiped. */
static int
hsm_pin_check(const struct hsm_params *p, char *why, size_t whylen)
{
	char pin[HSM_PIN_MAX + 1];
	int r;

	r = hsm_pin_read(p->pin_file, p->pin_env, pin, sizeof(pin), why,
	    whylen);
	OPENSSL_cleanse(pin, sizeof(pin));
	return r;
}

static struct hsm *
hsm_new(const struct hsm_params *p)
{
	struct hsm *h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->module = strdup(p->module != NULL ? p->module : HSM_MODULE_DEFAULT);
	if (p->pin_file != NULL)
		h->pin_file = strdup(p->pin_file);
	else
		h->pin_env = strdup(p->pin_env);
	if (h->module == NULL || (h->pin_file == NULL && h->pin_env == NULL)) {
		free(h->module);
		free(h->pin_file);
		free(h->pin_env);
		free(h);
		return NULL;
	}
	memcpy(h->label, p->token, strlen(p->token) + 1);
	h->pid = getpid();
	return h;
}

int
hsm_open(const struct hsm_params *p, struct hsm **out, char *why,
    size_t whylen)
{
	struct hsm *h;
	int r;

	err_why(why, whylen, "%s", "");
	if (out == NULL)
		return ERR_INVAL;
	*out = NULL;
	if ((r = hsm_params_check(p, why, whylen)) != 0)
		return r;
	if (hsm_open_now) {
		err_why(why, whylen, "an HSM is already open in this process");
		return ERR_INVAL;
	}
	if ((r = hsm_pin_check(p, why, whylen)) != 0)
		return r;
	if ((h = hsm_new(p)) == NULL) {
		err_why(why, whylen, "out of memory");
		return ERR_NOMEM;
	}
	hsm_open_now = true;
	h->logins_left = 1;
	r = hsm_start(h, why, whylen);
	h->logins_left = 0;
	if (r != 0) {
		hsm_close(h);
		return r;
	}
	h->up = true;
	h->opened = true;
	*out = h;
	h = NULL; /* transferred */
	return 0;
}

void
hsm_close(struct hsm *h)
{
	struct hsm_key *k, *next;

	if (h == NULL)
		return;
	/* A child after fork() must not touch the parent's PKCS#11 state. */
	if (h->pid == getpid())
		hsm_stop(h);
	for (k = h->keys; k != NULL; k = next) {
		next = k->next;
		k->cert = NULL;
		k->h = NULL;
		k->next = NULL;
	}
	free(h->module);
	free(h->pin_file);
	free(h->pin_env);
	free(h);
	hsm_open_now = false;
}

void
hsm_get_stats(const struct hsm *h, struct hsm_stats *out)
{
	if (h == NULL)
		memset(out, 0, sizeof(*out));
	else
		*out = h->stats;
}

/* Whether a call may go to the token now. */
int
hsm_usable(const struct hsm *h, char *why, size_t whylen)
{
	if (h == NULL) {
		err_why(why, whylen, "the key's HSM was closed");
		return ERR_INVAL;
	}
	if (h->pid != getpid()) {
		err_why(why, whylen, "the HSM was opened in process %ld: "
		    "PKCS#11 does not survive fork(); open it in the process "
		    "that signs", (long)h->pid);
		return ERR_INVAL;
	}
	if (h->pin_refused) {
		err_why(why, whylen, "token '%s': a PIN was refused earlier; "
		    "it is not tried again until the HSM is opened anew",
		    h->label);
		return ERR_PIN;
	}
	return 0;
}

/* Make k usable by pkcs11-helper: an id "<token>/<CKA_ID>" and a handle. */
int
hsm_key_bind(struct hsm_key *k)
{
	struct hsm *h = k->h;
	pkcs11h_certificate_id_t cid = NULL;
	char *s = NULL;
	size_t n = 0;
	CK_RV rv;
	int r = ERR_HSM;

	if (k->cert != NULL)
		return 0;
	rv = pkcs11h_token_serializeTokenId(NULL, &n, h->token);
	if (rv != CKR_OK || n == 0)
		goto out;
	if ((s = malloc(n + 2 * k->id_len + 1)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if (pkcs11h_token_serializeTokenId(s, &n, h->token) != CKR_OK)
		goto out;
	s[n - 1] = '/';
	memcpy(s + n, k->id_hex, 2 * k->id_len + 1);
	if (pkcs11h_certificate_deserializeCertificateId(&cid, s) != CKR_OK)
		goto out;
	rv = pkcs11h_certificate_create(cid, h,
	    PKCS11H_PROMPT_MASK_ALLOW_PIN_PROMPT, PKCS11H_PIN_CACHE_INFINITE,
	    &k->cert);
	if (rv == CKR_OK)
		r = 0;
	else if (rv == CKR_HOST_MEMORY)
		r = ERR_NOMEM;
 out:
	if (cid != NULL)
		pkcs11h_certificate_freeCertificateId(cid);
	free(s);
	return r;
}

void
hsm_key_unbind(struct hsm_key *k)
{
	if (k->cert != NULL) {
		pkcs11h_certificate_freeCertificate(k->cert);
		k->cert = NULL;
	}
}

static CK_RV
hsm_sign_once(struct hsm_key *k, CK_MECHANISM_TYPE mech, const uint8_t *in,
    size_t inlen, uint8_t *out, size_t cap, size_t *outlen)
{
	size_t len = cap;
	CK_RV rv;

	if (k->cert == NULL)
		return CKR_SESSION_HANDLE_INVALID;
	rv = pkcs11h_certificate_signAny(k->cert, mech, in, inlen, out, &len);
	*outlen = rv == CKR_OK ? len : 0;
	return rv;
}

/* The error for a failed signature on k. */
static int
hsm_sign_error(struct hsm_key *k, CK_RV rv, char *why, size_t whylen)
{
	struct hsm *h = k->h;
	char what[HSM_LABEL_MAX + 2 * HSM_KEY_ID_MAX + 32];

	/* pkcs11-helper's word for "no private key with this CKA_ID". */
	if (rv == CKR_FUNCTION_REJECTED) {
		err_why(why, whylen, "token '%s' has no private key with "
		    "CKA_ID %s%s", h->label, k->id_hex, k->found ?
		    " any more" : "");
		return k->found ? ERR_HSM : ERR_NOT_FOUND;
	}
	if (rv == CKR_BUFFER_TOO_SMALL) {
		err_why(why, whylen, "token '%s', key %s: signature longer "
		    "than %d bytes", h->label, k->id_hex, HSM_SIG_MAX);
		return ERR_HSM;
	}
	snprintf(what, sizeof(what), "token '%s', key %s: sign", h->label,
	    k->id_hex);
	return hsm_rv_error(h, rv, what, why, whylen);
}

/*
 * One signature with mechanism mech over in, into out (*outlen bytes of
 * room; set to the length). At most one new session and login per call.
 */
int
hsm_token_sign(struct hsm_key *k, CK_MECHANISM_TYPE mech, const uint8_t *in,
    size_t inlen, uint8_t *out, size_t *outlen, char *why, size_t whylen)
{
	struct hsm *h = k->h;
	size_t cap = *outlen;
	CK_RV rv;
	int r;

	*outlen = 0;
	if ((r = hsm_usable(h, why, whylen)) != 0)
		return r;
	h->logins_left = 1;
	h->hook_err = 0;
	if (!h->up && (r = hsm_reinit(h, why, whylen)) != 0)
		goto out;
	rv = hsm_sign_once(k, mech, in, inlen, out, cap, outlen);
	if (rv != CKR_OK && hsm_rv_recoverable(rv) && h->logins_left > 0) {
		/* pkcs11-helper gave up before it could log in again. */
		if ((r = hsm_reinit(h, why, whylen)) != 0)
			goto out;
		rv = hsm_sign_once(k, mech, in, inlen, out, cap, outlen);
	}
	if (rv == CKR_OK)
		h->logged_in = true;
	else
		r = hsm_sign_error(k, rv, why, whylen);
 out:
	if (h->logins_left == 0)
		h->stats.recoveries++;
	if (r != 0)
		h->stats.failures++;
	h->logins_left = 0;
	return r;
}

/* Whether a token labelled h->label is in a slot now (no login needed). */
bool
hsm_token_present(struct hsm *h)
{
	pkcs11h_token_id_list_t list = NULL, e;
	bool found = false;

	if (!h->inited ||
	    pkcs11h_token_enumTokenIds(PKCS11H_ENUM_METHOD_RELOAD, &list) !=
	    CKR_OK)
		return false;
	for (e = list; e != NULL && !found; e = e->next)
		found = strcmp(e->token_id->label, h->label) == 0;
	pkcs11h_token_freeTokenIdList(list);
	return found;
}

/* Start over if an earlier recovery failed; never after a refused PIN. */
int
hsm_bring_up(struct hsm *h, char *why, size_t whylen)
{
	int r;

	if (h->up || h->pin_refused)
		return 0;
	h->logins_left = 1;
	h->hook_err = 0;
	r = hsm_reinit(h, why, whylen);
	if (h->logins_left == 0)
		h->stats.recoveries++;
	h->logins_left = 0;
	return r;
}
