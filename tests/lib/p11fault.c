/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Test PKCS#11 module: forwards every call to a real module and fails chosen calls on demand. */

/*
 * Environment, read at every call:
 *   P11FAULT_MODULE  the real module (default: SoftHSM's), loaded once and
 *                    kept loaded. This module keeps itself loaded too, so
 *                    that fault counts survive C_Finalize and dlclose().
 *   P11FAULT_FILE    the fault plan, read again whenever the file changes
 *                    (device, inode, size or modification time). One fault
 *                    per line: "<function> <CKR_ name or 0x number> <count>",
 *                    e.g. "C_Sign CKR_DEVICE_REMOVED 1"; count -1 fails every
 *                    call. '#' starts a comment. A failed C_Sign, C_SignFinal
 *                    or C_SignRecover still reaches the real module first, so
 *                    that its operation ends as the standard says.
 *   P11FAULT_LOG     when set, every call appends "<function> <result>\n"
 *                    (with " injected" for a planned failure) to this file.
 */

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#define P11F_DEFAULT_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define P11F_FAULTS_MAX 32
#define P11F_NAME_MAX 40
#define P11F_LINE_MAX 256

struct p11f_fault {
	char fn[P11F_NAME_MAX];
	CK_RV rv;
	long count;             /* calls still to fail; -1: all */
};

struct p11f_code {
	const char *name;
	CK_RV rv;
};

static const struct p11f_code p11f_codes[] = {
	{ "CKR_OK", CKR_OK },
	{ "CKR_CANCEL", CKR_CANCEL },
	{ "CKR_HOST_MEMORY", CKR_HOST_MEMORY },
	{ "CKR_SLOT_ID_INVALID", CKR_SLOT_ID_INVALID },
	{ "CKR_GENERAL_ERROR", CKR_GENERAL_ERROR },
	{ "CKR_FUNCTION_FAILED", CKR_FUNCTION_FAILED },
	{ "CKR_ARGUMENTS_BAD", CKR_ARGUMENTS_BAD },
	{ "CKR_ATTRIBUTE_TYPE_INVALID", CKR_ATTRIBUTE_TYPE_INVALID },
	{ "CKR_DATA_INVALID", CKR_DATA_INVALID },
	{ "CKR_DATA_LEN_RANGE", CKR_DATA_LEN_RANGE },
	{ "CKR_DEVICE_ERROR", CKR_DEVICE_ERROR },
	{ "CKR_DEVICE_MEMORY", CKR_DEVICE_MEMORY },
	{ "CKR_DEVICE_REMOVED", CKR_DEVICE_REMOVED },
	{ "CKR_FUNCTION_CANCELED", CKR_FUNCTION_CANCELED },
	{ "CKR_FUNCTION_NOT_SUPPORTED", CKR_FUNCTION_NOT_SUPPORTED },
	{ "CKR_KEY_HANDLE_INVALID", CKR_KEY_HANDLE_INVALID },
	{ "CKR_KEY_TYPE_INCONSISTENT", CKR_KEY_TYPE_INCONSISTENT },
	{ "CKR_KEY_FUNCTION_NOT_PERMITTED", CKR_KEY_FUNCTION_NOT_PERMITTED },
	{ "CKR_MECHANISM_INVALID", CKR_MECHANISM_INVALID },
	{ "CKR_OBJECT_HANDLE_INVALID", CKR_OBJECT_HANDLE_INVALID },
	{ "CKR_OPERATION_ACTIVE", CKR_OPERATION_ACTIVE },
	{ "CKR_OPERATION_NOT_INITIALIZED", CKR_OPERATION_NOT_INITIALIZED },
	{ "CKR_PIN_INCORRECT", CKR_PIN_INCORRECT },
	{ "CKR_PIN_INVALID", CKR_PIN_INVALID },
	{ "CKR_PIN_LEN_RANGE", CKR_PIN_LEN_RANGE },
	{ "CKR_PIN_EXPIRED", CKR_PIN_EXPIRED },
	{ "CKR_PIN_LOCKED", CKR_PIN_LOCKED },
	{ "CKR_SESSION_CLOSED", CKR_SESSION_CLOSED },
	{ "CKR_SESSION_COUNT", CKR_SESSION_COUNT },
	{ "CKR_SESSION_HANDLE_INVALID", CKR_SESSION_HANDLE_INVALID },
	{ "CKR_SESSION_READ_ONLY", CKR_SESSION_READ_ONLY },
	{ "CKR_SIGNATURE_INVALID", CKR_SIGNATURE_INVALID },
	{ "CKR_TOKEN_NOT_PRESENT", CKR_TOKEN_NOT_PRESENT },
	{ "CKR_TOKEN_NOT_RECOGNIZED", CKR_TOKEN_NOT_RECOGNIZED },
	{ "CKR_USER_ALREADY_LOGGED_IN", CKR_USER_ALREADY_LOGGED_IN },
	{ "CKR_USER_NOT_LOGGED_IN", CKR_USER_NOT_LOGGED_IN },
	{ "CKR_USER_PIN_NOT_INITIALIZED", CKR_USER_PIN_NOT_INITIALIZED },
	{ "CKR_USER_TYPE_INVALID", CKR_USER_TYPE_INVALID },
	{ "CKR_BUFFER_TOO_SMALL", CKR_BUFFER_TOO_SMALL },
	{ "CKR_CRYPTOKI_NOT_INITIALIZED", CKR_CRYPTOKI_NOT_INITIALIZED },
	{ "CKR_CRYPTOKI_ALREADY_INITIALIZED",
	    CKR_CRYPTOKI_ALREADY_INITIALIZED },
	{ "CKR_FUNCTION_REJECTED", CKR_FUNCTION_REJECTED },
};

static void *p11f_handle;
static CK_FUNCTION_LIST *p11f_real;
static struct p11f_fault p11f_faults[P11F_FAULTS_MAX];
static size_t p11f_nfaults;
static struct stat p11f_plan_st;        /* identity of the plan last read */
static int p11f_plan_read;

static const char *
p11f_code_name(CK_RV rv, char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(p11f_codes) / sizeof(p11f_codes[0]); i++)
		if (p11f_codes[i].rv == rv)
			return p11f_codes[i].name;
	snprintf(buf, len, "0x%lx", (unsigned long)rv);
	return buf;
}

/* A CKR_ name or a number; 0 when unknown. */
static int
p11f_code_parse(const char *s, CK_RV *rv)
{
	unsigned long v;
	char *end;
	size_t i;

	for (i = 0; i < sizeof(p11f_codes) / sizeof(p11f_codes[0]); i++) {
		if (strcmp(p11f_codes[i].name, s) == 0) {
			*rv = p11f_codes[i].rv;
			return 1;
		}
	}
	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno != 0 || end == s || *end != '\0')
		return 0;
	*rv = v;
	return 1;
}

/* One plan line into f; 0 for blank lines, comments and bad lines. */
static int
p11f_parse_line(char *line, struct p11f_fault *f)
{
	char *fn, *code, *count, *end, *save = NULL;
	long n;

	if ((end = strchr(line, '#')) != NULL)
		*end = '\0';
	fn = strtok_r(line, " \t\r\n", &save);
	code = strtok_r(NULL, " \t\r\n", &save);
	count = strtok_r(NULL, " \t\r\n", &save);
	if (fn == NULL || code == NULL || strlen(fn) >= sizeof(f->fn))
		return 0;
	if (!p11f_code_parse(code, &f->rv))
		return 0;
	n = 1;
	if (count != NULL) {
		errno = 0;
		n = strtol(count, &end, 10);
		if (errno != 0 || end == count || *end != '\0' || n < -1)
			return 0;
	}
	memcpy(f->fn, fn, strlen(fn) + 1);
	f->count = n;
	return 1;
}

static int
p11f_same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Read the plan again if P11FAULT_FILE changed; no file: no faults. */
static void
p11f_refresh(void)
{
	const char *path = getenv("P11FAULT_FILE");
	char line[P11F_LINE_MAX];
	struct stat st;
	FILE *fp;

	if (path == NULL || stat(path, &st) == -1) {
		p11f_nfaults = 0;
		p11f_plan_read = 0;
		return;
	}
	if (p11f_plan_read && p11f_same_file(&st, &p11f_plan_st))
		return;
	p11f_nfaults = 0;
	p11f_plan_st = st;
	p11f_plan_read = 1;
	if ((fp = fopen(path, "re")) == NULL)
		return;
	while (p11f_nfaults < P11F_FAULTS_MAX &&
	    fgets(line, sizeof(line), fp) != NULL) {
		if (p11f_parse_line(line, &p11f_faults[p11f_nfaults]))
			p11f_nfaults++;
	}
	fclose(fp);
}

/* 1 when this call of fn is planned to fail; *rv is the result. */
static int
p11f_take(const char *fn, CK_RV *rv)
{
	struct p11f_fault *f;
	size_t i;

	p11f_refresh();
	for (i = 0; i < p11f_nfaults; i++) {
		f = &p11f_faults[i];
		if (f->count == 0 || strcmp(f->fn, fn) != 0)
			continue;
		if (f->count > 0)
			f->count--;
		*rv = f->rv;
		return 1;
	}
	return 0;
}

static CK_RV
p11f_note(const char *fn, CK_RV rv, int injected)
{
	const char *path = getenv("P11FAULT_LOG");
	char buf[32];
	int fd, saved = errno;

	if (path != NULL &&
	    (fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0600)) != -1) {
		dprintf(fd, "%s %s%s\n", fn, p11f_code_name(rv, buf,
		    sizeof(buf)), injected ? " injected" : "");
		close(fd);
	}
	errno = saved;
	return rv;
}

/* Load the real module once; it stays loaded for the life of the process. */
static CK_RV
p11f_load(void)
{
	const char *path = getenv("P11FAULT_MODULE");
	CK_C_GetFunctionList gfl;
	void *sym;

	if (p11f_real != NULL)
		return CKR_OK;
	if (path == NULL)
		path = P11F_DEFAULT_MODULE;
	if (p11f_handle == NULL &&
	    (p11f_handle = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL)
		return CKR_GENERAL_ERROR;
	if ((sym = dlsym(p11f_handle, "C_GetFunctionList")) == NULL)
		return CKR_GENERAL_ERROR;
	memcpy(&gfl, &sym, sizeof(gfl));
	return gfl(&p11f_real);
}

/* A wrapper that fails instead of calling the real function. */
#define P11F_WRAP(name, params, args)					\
static CK_RV								\
p11f_##name params							\
{									\
	CK_RV rv;							\
									\
	if (p11f_take(#name, &rv))					\
		return p11f_note(#name, rv, 1);				\
	if (p11f_real == NULL)						\
		return p11f_note(#name, CKR_CRYPTOKI_NOT_INITIALIZED, 0); \
	return p11f_note(#name, p11f_real->name args, 0);		\
}

/* A wrapper that lets the real function end its operation, then fails. */
#define P11F_WRAP_AFTER(name, params, args)				\
static CK_RV								\
p11f_##name params							\
{									\
	CK_RV rv, real_rv;						\
									\
	if (p11f_real == NULL)						\
		return p11f_note(#name, CKR_CRYPTOKI_NOT_INITIALIZED, 0); \
	real_rv = p11f_real->name args;					\
	if (p11f_take(#name, &rv))					\
		return p11f_note(#name, rv, 1);				\
	return p11f_note(#name, real_rv, 0);				\
}

static CK_RV
p11f_C_Initialize(void *init_args)
{
	CK_RV rv;

	if (p11f_take("C_Initialize", &rv))
		return p11f_note("C_Initialize", rv, 1);
	if ((rv = p11f_load()) != CKR_OK)
		return p11f_note("C_Initialize", rv, 0);
	return p11f_note("C_Initialize", p11f_real->C_Initialize(init_args), 0);
}

P11F_WRAP(C_Finalize, (void *reserved), (reserved))
P11F_WRAP(C_GetInfo, (CK_INFO *info), (info))
P11F_WRAP(C_GetSlotList, (unsigned char present, CK_SLOT_ID *list,
    unsigned long *count), (present, list, count))
P11F_WRAP(C_GetSlotInfo, (CK_SLOT_ID slot, CK_SLOT_INFO *info),
    (slot, info))
P11F_WRAP(C_GetTokenInfo, (CK_SLOT_ID slot, CK_TOKEN_INFO *info),
    (slot, info))
P11F_WRAP(C_WaitForSlotEvent, (CK_FLAGS flags, CK_SLOT_ID *slot,
    void *reserved), (flags, slot, reserved))
P11F_WRAP(C_GetMechanismList, (CK_SLOT_ID slot, CK_MECHANISM_TYPE *list,
    unsigned long *count), (slot, list, count))
P11F_WRAP(C_GetMechanismInfo, (CK_SLOT_ID slot, CK_MECHANISM_TYPE type,
    CK_MECHANISM_INFO *info), (slot, type, info))
P11F_WRAP(C_InitToken, (CK_SLOT_ID slot, unsigned char *pin,
    unsigned long pin_len, unsigned char *label), (slot, pin, pin_len, label))
P11F_WRAP(C_InitPIN, (CK_SESSION_HANDLE s, unsigned char *pin,
    unsigned long pin_len), (s, pin, pin_len))
P11F_WRAP(C_SetPIN, (CK_SESSION_HANDLE s, unsigned char *old_pin,
    unsigned long old_len, unsigned char *new_pin, unsigned long new_len),
    (s, old_pin, old_len, new_pin, new_len))
P11F_WRAP(C_OpenSession, (CK_SLOT_ID slot, CK_FLAGS flags, void *app,
    CK_NOTIFY notify, CK_SESSION_HANDLE *s), (slot, flags, app, notify, s))
P11F_WRAP(C_CloseSession, (CK_SESSION_HANDLE s), (s))
P11F_WRAP(C_CloseAllSessions, (CK_SLOT_ID slot), (slot))
P11F_WRAP(C_GetSessionInfo, (CK_SESSION_HANDLE s,
    CK_SESSION_INFO *info), (s, info))
P11F_WRAP(C_GetOperationState, (CK_SESSION_HANDLE s, unsigned char *state,
    unsigned long *state_len), (s, state, state_len))
P11F_WRAP(C_SetOperationState, (CK_SESSION_HANDLE s, unsigned char *state,
    unsigned long state_len, CK_OBJECT_HANDLE enc_key,
    CK_OBJECT_HANDLE auth_key), (s, state, state_len, enc_key, auth_key))
P11F_WRAP(C_Login, (CK_SESSION_HANDLE s, CK_USER_TYPE user,
    unsigned char *pin, unsigned long pin_len), (s, user, pin, pin_len))
P11F_WRAP(C_Logout, (CK_SESSION_HANDLE s), (s))
P11F_WRAP(C_CreateObject, (CK_SESSION_HANDLE s, CK_ATTRIBUTE *templ,
    unsigned long count, CK_OBJECT_HANDLE *obj), (s, templ, count, obj))
P11F_WRAP(C_CopyObject, (CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj,
    CK_ATTRIBUTE *templ, unsigned long count,
    CK_OBJECT_HANDLE *new_obj), (s, obj, templ, count, new_obj))
P11F_WRAP(C_DestroyObject, (CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj),
    (s, obj))
P11F_WRAP(C_GetObjectSize, (CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj,
    unsigned long *size), (s, obj, size))
P11F_WRAP(C_GetAttributeValue, (CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj,
    CK_ATTRIBUTE *templ, unsigned long count), (s, obj, templ, count))
P11F_WRAP(C_SetAttributeValue, (CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj,
    CK_ATTRIBUTE *templ, unsigned long count), (s, obj, templ, count))
P11F_WRAP(C_FindObjectsInit, (CK_SESSION_HANDLE s,
    CK_ATTRIBUTE *templ, unsigned long count), (s, templ, count))
P11F_WRAP(C_FindObjects, (CK_SESSION_HANDLE s, CK_OBJECT_HANDLE *objs,
    unsigned long max, unsigned long *count), (s, objs, max, count))
P11F_WRAP(C_FindObjectsFinal, (CK_SESSION_HANDLE s), (s))
P11F_WRAP(C_EncryptInit, (CK_SESSION_HANDLE s, CK_MECHANISM *mech,
    CK_OBJECT_HANDLE key), (s, mech, key))
P11F_WRAP(C_Encrypt, (CK_SESSION_HANDLE s, unsigned char *data,
    unsigned long data_len, unsigned char *out, unsigned long *out_len),
    (s, data, data_len, out, out_len))
P11F_WRAP(C_EncryptUpdate, (CK_SESSION_HANDLE s, unsigned char *part,
    unsigned long part_len, unsigned char *out, unsigned long *out_len),
    (s, part, part_len, out, out_len))
P11F_WRAP(C_EncryptFinal, (CK_SESSION_HANDLE s, unsigned char *out,
    unsigned long *out_len), (s, out, out_len))
P11F_WRAP(C_DecryptInit, (CK_SESSION_HANDLE s, CK_MECHANISM *mech,
    CK_OBJECT_HANDLE key), (s, mech, key))
P11F_WRAP(C_Decrypt, (CK_SESSION_HANDLE s, unsigned char *data,
    unsigned long data_len, unsigned char *out, unsigned long *out_len),
    (s, data, data_len, out, out_len))
P11F_WRAP(C_DecryptUpdate, (CK_SESSION_HANDLE s, unsigned char *part,
    unsigned long part_len, unsigned char *out, unsigned long *out_len),
    (s, part, part_len, out, out_len))
P11F_WRAP(C_DecryptFinal, (CK_SESSION_HANDLE s, unsigned char *out,
    unsigned long *out_len), (s, out, out_len))
P11F_WRAP(C_DigestInit, (CK_SESSION_HANDLE s, CK_MECHANISM *mech),
    (s, mech))
P11F_WRAP(C_Digest, (CK_SESSION_HANDLE s, unsigned char *data,
    unsigned long data_len, unsigned char *out, unsigned long *out_len),
    (s, data, data_len, out, out_len))
P11F_WRAP(C_DigestUpdate, (CK_SESSION_HANDLE s, unsigned char *part,
    unsigned long part_len), (s, part, part_len))
P11F_WRAP(C_DigestKey, (CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key),
    (s, key))
P11F_WRAP(C_DigestFinal, (CK_SESSION_HANDLE s, unsigned char *out,
    unsigned long *out_len), (s, out, out_len))
P11F_WRAP(C_SignInit, (CK_SESSION_HANDLE s, CK_MECHANISM *mech,
    CK_OBJECT_HANDLE key), (s, mech, key))
P11F_WRAP_AFTER(C_Sign, (CK_SESSION_HANDLE s, unsigned char *data,
    unsigned long data_len, unsigned char *sig, unsigned long *sig_len),
    (s, data, data_len, sig, sig_len))
P11F_WRAP(C_SignUpdate, (CK_SESSION_HANDLE s, unsigned char *part,
    unsigned long part_len), (s, part, part_len))
P11F_WRAP_AFTER(C_SignFinal, (CK_SESSION_HANDLE s, unsigned char *sig,
    unsigned long *sig_len), (s, sig, sig_len))
P11F_WRAP(C_SignRecoverInit, (CK_SESSION_HANDLE s,
    CK_MECHANISM *mech, CK_OBJECT_HANDLE key), (s, mech, key))
P11F_WRAP_AFTER(C_SignRecover, (CK_SESSION_HANDLE s, unsigned char *data,
    unsigned long data_len, unsigned char *sig, unsigned long *sig_len),
    (s, data, data_len, sig, sig_len))
P11F_WRAP(C_VerifyInit, (CK_SESSION_HANDLE s, CK_MECHANISM *mech,
    CK_OBJECT_HANDLE key), (s, mech, key))
P11F_WRAP(C_Verify, (CK_SESSION_HANDLE s, unsigned char *data,
    unsigned long data_len, unsigned char *sig, unsigned long sig_len),
    (s, data, data_len, sig, sig_len))
P11F_WRAP(C_VerifyUpdate, (CK_SESSION_HANDLE s, unsigned char *part,
    unsigned long part_len), (s, part, part_len))
P11F_WRAP(C_VerifyFinal, (CK_SESSION_HANDLE s, unsigned char *sig,
    unsigned long sig_len), (s, sig, sig_len))
P11F_WRAP(C_VerifyRecoverInit, (CK_SESSION_HANDLE s,
    CK_MECHANISM *mech, CK_OBJECT_HANDLE key), (s, mech, key))
P11F_WRAP(C_VerifyRecover, (CK_SESSION_HANDLE s, unsigned char *sig,
    unsigned long sig_len, unsigned char *data, unsigned long *data_len),
    (s, sig, sig_len, data, data_len))
P11F_WRAP(C_DigestEncryptUpdate, (CK_SESSION_HANDLE s, unsigned char *part,
    unsigned long part_len, unsigned char *out, unsigned long *out_len),
    (s, part, part_len, out, out_len))
P11F_WRAP(C_DecryptDigestUpdate, (CK_SESSION_HANDLE s, unsigned char *part,
    unsigned long part_len, unsigned char *out, unsigned long *out_len),
    (s, part, part_len, out, out_len))
P11F_WRAP(C_SignEncryptUpdate, (CK_SESSION_HANDLE s, unsigned char *part,
    unsigned long part_len, unsigned char *out, unsigned long *out_len),
    (s, part, part_len, out, out_len))
P11F_WRAP(C_DecryptVerifyUpdate, (CK_SESSION_HANDLE s, unsigned char *part,
    unsigned long part_len, unsigned char *out, unsigned long *out_len),
    (s, part, part_len, out, out_len))
P11F_WRAP(C_GenerateKey, (CK_SESSION_HANDLE s, CK_MECHANISM *mech,
    CK_ATTRIBUTE *templ, unsigned long count, CK_OBJECT_HANDLE *key),
    (s, mech, templ, count, key))
P11F_WRAP(C_GenerateKeyPair, (CK_SESSION_HANDLE s,
    CK_MECHANISM *mech, CK_ATTRIBUTE *pub_templ,
    unsigned long pub_count, CK_ATTRIBUTE *priv_templ,
    unsigned long priv_count, CK_OBJECT_HANDLE *pub,
    CK_OBJECT_HANDLE *priv),
    (s, mech, pub_templ, pub_count, priv_templ, priv_count, pub, priv))
P11F_WRAP(C_WrapKey, (CK_SESSION_HANDLE s, CK_MECHANISM *mech,
    CK_OBJECT_HANDLE wrapping, CK_OBJECT_HANDLE key, unsigned char *out,
    unsigned long *out_len), (s, mech, wrapping, key, out, out_len))
P11F_WRAP(C_UnwrapKey, (CK_SESSION_HANDLE s, CK_MECHANISM *mech,
    CK_OBJECT_HANDLE unwrapping, unsigned char *wrapped,
    unsigned long wrapped_len, CK_ATTRIBUTE *templ,
    unsigned long count, CK_OBJECT_HANDLE *key),
    (s, mech, unwrapping, wrapped, wrapped_len, templ, count, key))
P11F_WRAP(C_DeriveKey, (CK_SESSION_HANDLE s, CK_MECHANISM *mech,
    CK_OBJECT_HANDLE base, CK_ATTRIBUTE *templ, unsigned long count,
    CK_OBJECT_HANDLE *key), (s, mech, base, templ, count, key))
P11F_WRAP(C_SeedRandom, (CK_SESSION_HANDLE s, unsigned char *seed,
    unsigned long seed_len), (s, seed, seed_len))
P11F_WRAP(C_GenerateRandom, (CK_SESSION_HANDLE s, unsigned char *out,
    unsigned long out_len), (s, out, out_len))
P11F_WRAP(C_GetFunctionStatus, (CK_SESSION_HANDLE s), (s))
P11F_WRAP(C_CancelFunction, (CK_SESSION_HANDLE s), (s))

static CK_FUNCTION_LIST p11f_list = {
	.version = { 2, 40 },
	.C_Initialize = p11f_C_Initialize,
	.C_Finalize = p11f_C_Finalize,
	.C_GetInfo = p11f_C_GetInfo,
	.C_GetFunctionList = C_GetFunctionList,
	.C_GetSlotList = p11f_C_GetSlotList,
	.C_GetSlotInfo = p11f_C_GetSlotInfo,
	.C_GetTokenInfo = p11f_C_GetTokenInfo,
	.C_GetMechanismList = p11f_C_GetMechanismList,
	.C_GetMechanismInfo = p11f_C_GetMechanismInfo,
	.C_InitToken = p11f_C_InitToken,
	.C_InitPIN = p11f_C_InitPIN,
	.C_SetPIN = p11f_C_SetPIN,
	.C_OpenSession = p11f_C_OpenSession,
	.C_CloseSession = p11f_C_CloseSession,
	.C_CloseAllSessions = p11f_C_CloseAllSessions,
	.C_GetSessionInfo = p11f_C_GetSessionInfo,
	.C_GetOperationState = p11f_C_GetOperationState,
	.C_SetOperationState = p11f_C_SetOperationState,
	.C_Login = p11f_C_Login,
	.C_Logout = p11f_C_Logout,
	.C_CreateObject = p11f_C_CreateObject,
	.C_CopyObject = p11f_C_CopyObject,
	.C_DestroyObject = p11f_C_DestroyObject,
	.C_GetObjectSize = p11f_C_GetObjectSize,
	.C_GetAttributeValue = p11f_C_GetAttributeValue,
	.C_SetAttributeValue = p11f_C_SetAttributeValue,
	.C_FindObjectsInit = p11f_C_FindObjectsInit,
	.C_FindObjects = p11f_C_FindObjects,
	.C_FindObjectsFinal = p11f_C_FindObjectsFinal,
	.C_EncryptInit = p11f_C_EncryptInit,
	.C_Encrypt = p11f_C_Encrypt,
	.C_EncryptUpdate = p11f_C_EncryptUpdate,
	.C_EncryptFinal = p11f_C_EncryptFinal,
	.C_DecryptInit = p11f_C_DecryptInit,
	.C_Decrypt = p11f_C_Decrypt,
	.C_DecryptUpdate = p11f_C_DecryptUpdate,
	.C_DecryptFinal = p11f_C_DecryptFinal,
	.C_DigestInit = p11f_C_DigestInit,
	.C_Digest = p11f_C_Digest,
	.C_DigestUpdate = p11f_C_DigestUpdate,
	.C_DigestKey = p11f_C_DigestKey,
	.C_DigestFinal = p11f_C_DigestFinal,
	.C_SignInit = p11f_C_SignInit,
	.C_Sign = p11f_C_Sign,
	.C_SignUpdate = p11f_C_SignUpdate,
	.C_SignFinal = p11f_C_SignFinal,
	.C_SignRecoverInit = p11f_C_SignRecoverInit,
	.C_SignRecover = p11f_C_SignRecover,
	.C_VerifyInit = p11f_C_VerifyInit,
	.C_Verify = p11f_C_Verify,
	.C_VerifyUpdate = p11f_C_VerifyUpdate,
	.C_VerifyFinal = p11f_C_VerifyFinal,
	.C_VerifyRecoverInit = p11f_C_VerifyRecoverInit,
	.C_VerifyRecover = p11f_C_VerifyRecover,
	.C_DigestEncryptUpdate = p11f_C_DigestEncryptUpdate,
	.C_DecryptDigestUpdate = p11f_C_DecryptDigestUpdate,
	.C_SignEncryptUpdate = p11f_C_SignEncryptUpdate,
	.C_DecryptVerifyUpdate = p11f_C_DecryptVerifyUpdate,
	.C_GenerateKey = p11f_C_GenerateKey,
	.C_GenerateKeyPair = p11f_C_GenerateKeyPair,
	.C_WrapKey = p11f_C_WrapKey,
	.C_UnwrapKey = p11f_C_UnwrapKey,
	.C_DeriveKey = p11f_C_DeriveKey,
	.C_SeedRandom = p11f_C_SeedRandom,
	.C_GenerateRandom = p11f_C_GenerateRandom,
	.C_GetFunctionStatus = p11f_C_GetFunctionStatus,
	.C_CancelFunction = p11f_C_CancelFunction,
	.C_WaitForSlotEvent = p11f_C_WaitForSlotEvent,
};

/* Stay loaded after the caller's dlclose(): the plan's counts live here. */
__attribute__((constructor)) static void
p11f_pin(void)
{
	Dl_info info;

	if (dladdr(&p11f_list, &info) != 0 && info.dli_fname != NULL)
		(void)dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD |
		    RTLD_NODELETE);
}

CK_RV
C_GetFunctionList(CK_FUNCTION_LIST **list)
{
	CK_RV rv;

	if (list == NULL)
		return CKR_ARGUMENTS_BAD;
	if ((rv = p11f_load()) != CKR_OK)
		return rv;
	*list = &p11f_list;
	return CKR_OK;
}
