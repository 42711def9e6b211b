/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The serial line: open a tty raw 8N1, non-blocking and exclusive, at a standard baud rate. */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "proto/proto.h"

struct line_rate {
	uint32_t baud;
	speed_t speed;
};

static const struct line_rate line_rates[] = {
	{ 9600, B9600 }, { 19200, B19200 }, { 38400, B38400 },
	{ 57600, B57600 }, { 115200, B115200 }, { 230400, B230400 },
	{ 460800, B460800 }, { 500000, B500000 }, { 576000, B576000 },
	{ 921600, B921600 }, { 1000000, B1000000 }, { 1152000, B1152000 },
	{ 1500000, B1500000 }, { 2000000, B2000000 }, { 2500000, B2500000 },
	{ 3000000, B3000000 }, { 3500000, B3500000 }, { 4000000, B4000000 },
};

static int
line_speed(uint32_t baud, speed_t *out)
{
	size_t i;

	for (i = 0; i < sizeof(line_rates) / sizeof(line_rates[0]); i++) {
		if (line_rates[i].baud == baud) {
			*out = line_rates[i].speed;
			return 0;
		}
	}
	return ERR_INVAL;
}

/* Raw 8N1 with the receiver on, modem lines ignored, one byte satisfies a read. */
static int
line_configure(int fd, speed_t speed, bool rtscts, char *why, size_t whylen)
{
	struct termios tio;

	if (tcgetattr(fd, &tio) == -1) {
		err_why(why, whylen, "tcgetattr: %s", strerror(errno));
		return ERR_SYSTEM;
	}
	cfmakeraw(&tio);
	tio.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | CSTOPB | CRTSCTS);
	tio.c_cflag |= CS8 | CLOCAL | CREAD;
	if (rtscts)
		tio.c_cflag |= CRTSCTS;
	tio.c_iflag &= ~(tcflag_t)(IXON | IXOFF | IXANY);
	tio.c_cc[VMIN] = 1;
	tio.c_cc[VTIME] = 0;
	if (cfsetispeed(&tio, speed) == -1 || cfsetospeed(&tio, speed) == -1) {
		err_why(why, whylen, "cfsetspeed: %s", strerror(errno));
		return ERR_SYSTEM;
	}
	if (tcsetattr(fd, TCSANOW, &tio) == -1) {
		err_why(why, whylen, "tcsetattr: %s", strerror(errno));
		return ERR_SYSTEM;
	}
	/* Bytes left over from before we owned the line are not ours to read. */
	(void)tcflush(fd, TCIOFLUSH);
	return 0;
}

int
line_open(const char *device, uint32_t baud, bool rtscts, int *fd, char *why,
    size_t whylen)
{
	speed_t speed;
	int f, rc;

	if (fd == NULL || device == NULL) {
		err_why(why, whylen, "no device given");
		return ERR_INVAL;
	}
	*fd = -1;
	if (line_speed(baud, &speed) != 0) {
		err_why(why, whylen, "%s: unsupported baud rate %u", device,
		    (unsigned)baud);
		return ERR_INVAL;
	}
	f = open(device, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (f == -1) {
		err_why(why, whylen, "%s: open: %s", device, strerror(errno));
		return ERR_SYSTEM;
	}
	if (!isatty(f)) {
		err_why(why, whylen, "%s: not a terminal device", device);
		close(f);
		return ERR_CONFIG;
	}
	if (ioctl(f, TIOCEXCL) == -1) {
		err_why(why, whylen, "%s: TIOCEXCL: %s", device, strerror(errno));
		close(f);
		return ERR_SYSTEM;
	}
	if ((rc = line_configure(f, speed, rtscts, why, whylen)) != 0) {
		close(f);
		return rc;
	}
	*fd = f;
	return 0;
}
