/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Test tool: relays bytes both ways between two tty devices, paced to a baud rate and with line noise at set rates. */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto/proto.h"

#define RELAY_BUF_MAX (64u * 1024)      /* bytes held per direction (backpressure beyond) */
#define RELAY_READ_CHUNK 4096           /* bytes read at once */
#define RELAY_EXPAND_MAX 3              /* one byte in: a garbage byte, itself, its duplicate */
#define RELAY_BITS_PER_BYTE 10          /* 8N1: start bit, 8 data bits, stop bit */
#define RELAY_DATA_BITS 8               /* bits of a byte that noise may flip */
#define RELAY_SIDES 2                   /* devices, and directions */
#define RELAY_BAUD_MAX 100000000u       /* largest --baud */
#define RELAY_BUCKET_NS 5000000u        /* the pacing bucket holds this much line time */
#define RELAY_BUCKET_MIN_BYTES 4u       /* ... and at least this many bytes */
#define RELAY_TICK_NS 1000000           /* shortest wait for pacing credit */
#define RELAY_STATS_NS 100000000        /* the stats file is rewritten this often */
#define RELAY_BACKOFF_MIN_MS 20         /* first delay before re-opening a device */
#define RELAY_BACKOFF_MAX_MS 1000       /* longest delay */
#define RELAY_TTY_BAUD 115200u          /* termios rate when --baud is not a standard one */
#define RELAY_SEED_DEFAULT 1u
#define RELAY_WHY_MAX 512
#define RELAY_PATH_MAX 4096
#define NS_PER_S 1000000000ull
#define NS_PER_MS 1000000ll

/* 2^64 as a double: a probability times this is a 64-bit threshold. */
#define RELAY_TWO64 18446744073709551616.0

static volatile sig_atomic_t relay_quit;

struct relay_dev {
	const char *path;
	int fd;
	int64_t reopen_at;              /* ns, CLOCK_MONOTONIC */
	int64_t backoff_ms;
	uint64_t reopens;
	int outage_logged;
};

struct relay_stats {
	uint64_t in, out, flipped, dropped, duplicated, injected;
};

/* One direction: bytes read from `from`, noised, held, paced out to `to`. */
struct relay_dir {
	const char *name;
	struct relay_dev *from, *to;
	uint8_t buf[RELAY_BUF_MAX];     /* a ring */
	size_t head, len;
	uint64_t rng;
	uint64_t credit;                /* pacing credit in bytes * NS_PER_S */
	int64_t refilled;               /* ns of the last refill */
	int blocked;                    /* the last write would have blocked */
	struct relay_stats st;
};

/* Probabilities as thresholds of a uniform 64-bit draw; 0 never happens. */
struct relay_noise {
	uint64_t ber, drop, dup, garbage;
};

struct relay {
	struct relay_dev dev[RELAY_SIDES];
	struct relay_dir dir[RELAY_SIDES]; /* [0] a to b, [1] b to a */
	struct relay_noise noise;
	uint32_t baud;                  /* 0: unpaced */
	uint64_t rate;                  /* bytes per second */
	uint64_t bucket;                /* most credit, bytes * NS_PER_S */
	uint64_t seed;
	const char *stats_path;
	int64_t stats_at;
};

static void
usage(void)
{
	fprintf(stderr, "usage: line-relay [--baud N] [--ber P] [--drop P] "
	    "[--dup P] [--garbage P]\n"
	    "                  [--seed S] [--stats FILE] DEV_A DEV_B\n"
	    "  --baud N     pace each direction to N/10 bytes/s (8N1); "
	    "default unpaced\n"
	    "  --ber P      flip each bit with probability P\n"
	    "  --drop P     drop each byte with probability P\n"
	    "  --dup P      send each byte twice with probability P\n"
	    "  --garbage P  insert a random byte before each byte with "
	    "probability P\n"
	    "  --seed S     seed of the noise (default %u)\n"
	    "  --stats FILE rewrite counters into FILE every 100 ms and at "
	    "exit\n", RELAY_SEED_DEFAULT);
	exit(2);
}

static void
relay_on_signal(int sig)
{
	(void)sig;
	relay_quit = 1;
}

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * (int64_t)NS_PER_S + ts.tv_nsec;
}

/* ---- noise -------------------------------------------------------------- */

/* splitmix64: small, fast and reproducible from its seed. */
static uint64_t
rng_next(uint64_t *s)
{
	uint64_t z;

	*s += 0x9e3779b97f4a7c15ull;
	z = *s;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int
chance(uint64_t *s, uint64_t threshold)
{
	return threshold != 0 && rng_next(s) < threshold;
}

/* The bytes that reach the wire for one byte in: 0 to RELAY_EXPAND_MAX of them. */
static size_t
noise_byte(struct relay_dir *d, const struct relay_noise *n, uint8_t c,
    uint8_t *out)
{
	size_t k = 0;
	int bit;

	if (chance(&d->rng, n->garbage)) {
		out[k++] = (uint8_t)rng_next(&d->rng);
		d->st.injected++;
	}
	if (chance(&d->rng, n->drop)) {
		d->st.dropped++;
		return k;
	}
	for (bit = 0; n->ber != 0 && bit < RELAY_DATA_BITS; bit++) {
		if (chance(&d->rng, n->ber)) {
			c ^= (uint8_t)(1u << bit);
			d->st.flipped++;
		}
	}
	out[k++] = c;
	if (chance(&d->rng, n->dup)) {
		out[k++] = c;
		d->st.duplicated++;
	}
	return k;
}

/* ---- devices ------------------------------------------------------------ */

static void
dev_down(struct relay_dev *v, const char *reason)
{
	if (v->fd < 0)
		return;
	fprintf(stderr, "line-relay: %s: %s; re-opening in %lld ms\n", v->path,
	    reason, (long long)v->backoff_ms);
	close(v->fd);
	v->fd = -1;
	v->reopen_at = now_ns() + v->backoff_ms * NS_PER_MS;
	v->reopens++;
}

static void
dev_backoff(struct relay_dev *v, int64_t now)
{
	v->reopen_at = now + v->backoff_ms * NS_PER_MS;
	v->backoff_ms = v->backoff_ms * 2 > RELAY_BACKOFF_MAX_MS ?
	    RELAY_BACKOFF_MAX_MS : v->backoff_ms * 2;
}

/* A pty ignores the termios rate; a real tty gets --baud when it is standard. */
static int
dev_open(struct relay *r, struct relay_dev *v, char *why, size_t whylen)
{
	int rc;

	rc = line_open(v->path, r->baud != 0 ? r->baud : RELAY_TTY_BAUD, false,
	    &v->fd, why, whylen);
	if (rc == ERR_INVAL && r->baud != 0)
		rc = line_open(v->path, RELAY_TTY_BAUD, false, &v->fd, why,
		    whylen);
	return rc;
}

static void
dev_up(struct relay *r, struct relay_dev *v, int64_t now)
{
	char why[RELAY_WHY_MAX];

	if (v->fd >= 0 || now < v->reopen_at)
		return;
	if (dev_open(r, v, why, sizeof(why)) != 0) {
		if (!v->outage_logged)
			fprintf(stderr, "line-relay: %s; retrying\n", why);
		v->outage_logged = 1;
		v->fd = -1;
		dev_backoff(v, now);
		return;
	}
	if (v->reopens > 0 || v->outage_logged)
		fprintf(stderr, "line-relay: %s: open again\n", v->path);
	v->outage_logged = 0;
}

/* ---- one direction ------------------------------------------------------ */

static size_t
dir_room(const struct relay_dir *d)
{
	return (RELAY_BUF_MAX - d->len) / RELAY_EXPAND_MAX;
}

static void
dir_push(struct relay_dir *d, const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n && d->len < RELAY_BUF_MAX; i++) {
		d->buf[(d->head + d->len) % RELAY_BUF_MAX] = b[i];
		d->len++;
	}
}

static void
dir_read(struct relay *r, struct relay_dir *d)
{
	uint8_t chunk[RELAY_READ_CHUNK], out[RELAY_EXPAND_MAX];
	size_t room = dir_room(d), i, k;
	ssize_t n;

	if (room == 0 || d->from->fd < 0)
		return;
	n = read(d->from->fd, chunk, room < sizeof(chunk) ? room :
	    sizeof(chunk));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* A pty whose other side is gone reads EIO. */
		dev_down(d->from, n == 0 ? "end of file" : strerror(errno));
		return;
	}
	d->from->backoff_ms = RELAY_BACKOFF_MIN_MS;
	d->st.in += (uint64_t)n;
	for (i = 0; i < (size_t)n; i++) {
		k = noise_byte(d, &r->noise, chunk[i], out);
		dir_push(d, out, k);
	}
}

/* Credit for the line time since the last refill, never beyond the bucket. */
static void
pace_refill(struct relay *r, struct relay_dir *d, int64_t now)
{
	uint64_t dt;

	dt = now > d->refilled ? (uint64_t)(now - d->refilled) : 0;
	d->refilled = now;
	if (dt > NS_PER_S)
		dt = NS_PER_S;          /* the bucket is far smaller anyway */
	d->credit += dt * r->rate;
	if (d->credit > r->bucket)
		d->credit = r->bucket;
}

/* Write what the pacing allows; returns the bytes written, or -1 when stuck. */
static ssize_t
dir_write_once(struct relay *r, struct relay_dir *d, int64_t now)
{
	size_t n = d->len < RELAY_BUF_MAX - d->head ? d->len :
	    RELAY_BUF_MAX - d->head;
	uint64_t allowed;
	ssize_t w;

	if (r->rate != 0) {
		pace_refill(r, d, now);
		allowed = d->credit / NS_PER_S;
		if (n > allowed)
			n = (size_t)allowed;
	}
	if (n == 0)
		return -1;
	if ((w = write(d->to->fd, d->buf + d->head, n)) < 0) {
		if (errno == EAGAIN)
			d->blocked = 1;
		else if (errno != EINTR)
			dev_down(d->to, strerror(errno));
		return -1;
	}
	/* A short write means the other side is full: wait for POLLOUT. */
	if ((size_t)w < n)
		d->blocked = 1;
	d->head = (d->head + (size_t)w) % RELAY_BUF_MAX;
	d->len -= (size_t)w;
	d->st.out += (uint64_t)w;
	if (r->rate != 0)
		d->credit -= (uint64_t)w * NS_PER_S;
	return w;
}

static void
dir_write(struct relay *r, struct relay_dir *d, int64_t now)
{
	if (d->to->fd < 0 || d->blocked || d->len == 0)
		return;
	/* Twice: the held bytes may wrap around the end of the ring. */
	if (dir_write_once(r, d, now) > 0 && d->len > 0)
		(void)dir_write_once(r, d, now);
}

/* Nanoseconds until this direction can write again; -1 when it need not wake. */
static int64_t
dir_wait(const struct relay *r, const struct relay_dir *d)
{
	uint64_t need;

	if (r->rate == 0 || d->len == 0 || d->blocked || d->to->fd < 0)
		return -1;
	need = d->credit >= NS_PER_S ? 0 :
	    (NS_PER_S - d->credit + r->rate - 1) / r->rate;
	return need < RELAY_TICK_NS ? RELAY_TICK_NS : (int64_t)need;
}

/* ---- stats -------------------------------------------------------------- */

static void
stats_print(FILE *f, const struct relay *r)
{
	const struct relay_dir *d;
	size_t i;

	for (i = 0; i < RELAY_SIDES; i++) {
		d = &r->dir[i];
		fprintf(f, "%s in=%" PRIu64 " out=%" PRIu64 " flipped=%" PRIu64
		    " dropped=%" PRIu64 " duplicated=%" PRIu64 " injected=%"
		    PRIu64 " held=%zu\n", d->name, d->st.in, d->st.out,
		    d->st.flipped, d->st.dropped, d->st.duplicated,
		    d->st.injected, d->len);
	}
	fprintf(f, "devices a_reopens=%" PRIu64 " b_reopens=%" PRIu64
	    " baud=%u seed=%" PRIu64 "\n", r->dev[0].reopens,
	    r->dev[1].reopens, (unsigned)r->baud, r->seed);
}

/* Rewrite the stats file through a temporary name, so that readers see whole files. */
static void
stats_write(const struct relay *r)
{
	char tmp[RELAY_PATH_MAX];
	FILE *f;
	int n;

	if (r->stats_path == NULL)
		return;
	n = snprintf(tmp, sizeof(tmp), "%s.tmp", r->stats_path);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return;
	if ((f = fopen(tmp, "w")) == NULL) {
		fprintf(stderr, "line-relay: %s: %s\n", tmp, strerror(errno));
		return;
	}
	stats_print(f, r);
	if (fclose(f) != 0 || rename(tmp, r->stats_path) != 0)
		fprintf(stderr, "line-relay: %s: %s\n", r->stats_path,
		    strerror(errno));
}

/* ---- the loop ----------------------------------------------------------- */

/* The poll timeout: pacing credit, a re-open or the stats file, whichever comes first. */
static int64_t
loop_wait(const struct relay *r, int64_t now)
{
	int64_t t = -1, w;
	size_t i;

	for (i = 0; i < RELAY_SIDES; i++) {
		if ((w = dir_wait(r, &r->dir[i])) >= 0 && (t < 0 || w < t))
			t = w;
		if (r->dev[i].fd < 0) {
			w = r->dev[i].reopen_at > now ? r->dev[i].reopen_at -
			    now : 0;
			if (t < 0 || w < t)
				t = w;
		}
	}
	if (r->stats_path != NULL) {
		w = r->stats_at > now ? r->stats_at - now : 0;
		if (t < 0 || w < t)
			t = w;
	}
	return t;
}

/* Events for device i: read while its outgoing direction has room, write when blocked. */
static short
loop_events(const struct relay *r, size_t i)
{
	short ev = 0;

	if (dir_room(&r->dir[i]) > 0)
		ev |= POLLIN;
	if (r->dir[1 - i].blocked)
		ev |= POLLOUT;
	return ev;
}

static void
loop_revents(struct relay *r, const struct pollfd *p)
{
	size_t i;

	for (i = 0; i < RELAY_SIDES; i++) {
		if (r->dev[i].fd < 0 || p[i].fd != r->dev[i].fd)
			continue;
		if (p[i].revents & POLLOUT)
			r->dir[1 - i].blocked = 0;
		if (p[i].revents & POLLIN)
			dir_read(r, &r->dir[i]);
		else if (p[i].revents & (POLLHUP | POLLERR | POLLNVAL))
			dev_down(&r->dev[i], "hang-up");
		if (r->dev[i].fd < 0)
			r->dir[1 - i].blocked = 0;
	}
}

static void
loop_step(struct relay *r, const sigset_t *waitmask)
{
	struct pollfd p[RELAY_SIDES];
	struct timespec ts;
	int64_t now = now_ns(), t;
	size_t i;

	for (i = 0; i < RELAY_SIDES; i++) {
		dev_up(r, &r->dev[i], now);
		dir_write(r, &r->dir[i], now);
	}
	if (r->stats_path != NULL && now >= r->stats_at) {
		stats_write(r);
		r->stats_at = now + RELAY_STATS_NS;
	}
	for (i = 0; i < RELAY_SIDES; i++) {
		p[i].fd = r->dev[i].fd;
		p[i].events = r->dev[i].fd >= 0 ? loop_events(r, i) : 0;
		p[i].revents = 0;
	}
	if ((t = loop_wait(r, now)) >= 0) {
		ts.tv_sec = (time_t)(t / (int64_t)NS_PER_S);
		ts.tv_nsec = (long)(t % (int64_t)NS_PER_S);
	}
	if (ppoll(p, RELAY_SIDES, t >= 0 ? &ts : NULL, waitmask) < 0) {
		if (errno != EINTR)
			fprintf(stderr, "line-relay: poll: %s\n",
			    strerror(errno));
		return;
	}
	loop_revents(r, p);
}

/* ---- options ------------------------------------------------------------ */

static int
parse_prob(const char *s, uint64_t *out)
{
	char *end;
	double p;

	errno = 0;
	p = strtod(s, &end);
	if (end == s || *end != '\0' || errno != 0 || !(p >= 0.0 && p <= 1.0))
		return -1;
	*out = p >= 1.0 ? UINT64_MAX : (uint64_t)(p * RELAY_TWO64);
	return 0;
}

static int
parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

static void
parse_args(struct relay *r, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "baud", required_argument, NULL, 'b' },
		{ "ber", required_argument, NULL, 'e' },
		{ "drop", required_argument, NULL, 'd' },
		{ "dup", required_argument, NULL, 'u' },
		{ "garbage", required_argument, NULL, 'g' },
		{ "seed", required_argument, NULL, 's' },
		{ "stats", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int ch, bad;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		bad = 0;
		if (ch == 'b') {
			bad = parse_u64(optarg, RELAY_BAUD_MAX, &v) != 0 ||
			    v < RELAY_BITS_PER_BYTE;
			r->baud = (uint32_t)v;
		} else if (ch == 'e')
			bad = parse_prob(optarg, &r->noise.ber);
		else if (ch == 'd')
			bad = parse_prob(optarg, &r->noise.drop);
		else if (ch == 'u')
			bad = parse_prob(optarg, &r->noise.dup);
		else if (ch == 'g')
			bad = parse_prob(optarg, &r->noise.garbage);
		else if (ch == 's')
			bad = parse_u64(optarg, UINT64_MAX, &r->seed);
		else if (ch == 'S')
			r->stats_path = optarg;
		else
			usage();
		if (bad) {
			fprintf(stderr, "line-relay: bad value '%s'\n", optarg);
			usage();
		}
	}
	if (argc - optind != 2)
		usage();
	r->dev[0].path = argv[optind];
	r->dev[1].path = argv[optind + 1];
}

static void
relay_init(struct relay *r)
{
	uint64_t bytes, s;
	size_t i;

	r->rate = r->baud / RELAY_BITS_PER_BYTE;
	bytes = r->rate * RELAY_BUCKET_NS / NS_PER_S;
	if (bytes < RELAY_BUCKET_MIN_BYTES)
		bytes = RELAY_BUCKET_MIN_BYTES;
	r->bucket = bytes * NS_PER_S;
	s = r->seed;
	for (i = 0; i < RELAY_SIDES; i++) {
		r->dev[i].fd = -1;
		r->dev[i].backoff_ms = RELAY_BACKOFF_MIN_MS;
		r->dir[i].from = &r->dev[i];
		r->dir[i].to = &r->dev[1 - i];
		/* Each direction draws from its own stream: reproducible per byte stream. */
		r->dir[i].rng = rng_next(&s);
		r->dir[i].refilled = now_ns();
	}
	r->dir[0].name = "a_to_b";
	r->dir[1].name = "b_to_a";
}

static void
relay_signals(sigset_t *waitmask)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = relay_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	/* Blocked except inside ppoll(): a signal cannot slip in before the wait. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, waitmask);
	sigdelset(waitmask, SIGTERM);
	sigdelset(waitmask, SIGINT);
}

int
main(int argc, char **argv)
{
	static struct relay r;          /* two ring buffers: not on the stack */
	sigset_t waitmask;
	size_t i;

	r.seed = RELAY_SEED_DEFAULT;
	parse_args(&r, argc, argv);
	relay_init(&r);
	relay_signals(&waitmask);
	while (!relay_quit)
		loop_step(&r, &waitmask);
	stats_write(&r);
	stats_print(stderr, &r);
	for (i = 0; i < RELAY_SIDES; i++)
		if (r.dev[i].fd >= 0)
			close(r.dev[i].fd);
	return 0;
}
