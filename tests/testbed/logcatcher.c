// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * logcatcher - a minimal /dev/log listener for the pam_userns test bed.
 *
 * usage: logcatcher SOCKET LOGFILE
 *
 * Binds an AF_UNIX datagram socket at SOCKET (mode 0666, so that processes
 * that dropped to a fixture user can log too) and appends every datagram it
 * receives to LOGFILE as one line. Trailing NULs and newlines are stripped;
 * other control characters are escaped as #ooo (rsyslog's convention), so a
 * datagram can never span two lines. Each line is written with a single
 * write(2) on an O_APPEND descriptor: there is no buffering to flush, and
 * truncating LOGFILE (": > LOGFILE") while we run is safe.
 *
 * Runs until killed. No daemonising, no pid file: the test bed tracks it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

/* glibc's syslog() has no fixed limit; 64 KiB is far beyond any real line. */
#define MAX_DATAGRAM	65536
/* Worst case every byte is escaped (4 bytes each), plus a marker and '\n'. */
#define MAX_LINE	(MAX_DATAGRAM * 4 + 64)

static const char *prog = "logcatcher";

static int bind_socket(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old_umask;
	int fd, ret;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "%s: socket path too long (max %zu bytes): %s\n",
			prog, sizeof(addr.sun_path) - 1, path);
		return -ENAMETOOLONG;
	}
	strcpy(addr.sun_path, path);

	/* A stale socket from an earlier run would make bind() fail. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) && unlink(path) < 0) {
		ret = -errno;
		fprintf(stderr, "%s: cannot remove stale socket %s: %s\n",
			prog, path, strerror(errno));
		return ret;
	}

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		fprintf(stderr, "%s: socket: %s\n", prog, strerror(errno));
		return ret;
	}

	/*
	 * Create the socket inode with its final mode, so there is no window
	 * in which a client that sees the path is refused.
	 */
	old_umask = umask(0111);
	ret = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old_umask);
	if (ret < 0) {
		ret = -errno;
		fprintf(stderr, "%s: bind %s: %s\n", prog, path, strerror(errno));
		close(fd);
		return ret;
	}
	return fd;
}

/* Turn one datagram into one line; returns the line length. */
static size_t format_line(char *line, const unsigned char *buf, size_t len,
			  int truncated)
{
	size_t i, n = 0;

	while (len > 0 && (buf[len - 1] == '\0' || buf[len - 1] == '\n' ||
			   buf[len - 1] == '\r'))
		len--;

	for (i = 0; i < len; i++) {
		unsigned char c = buf[i];

		if (c < 0x20 && c != '\t') {
			n += (size_t)snprintf(line + n, MAX_LINE - n, "#%03o", c);
			continue;
		}
		line[n++] = (char)c;
	}
	if (truncated)
		n += (size_t)snprintf(line + n, MAX_LINE - n, " [truncated]");
	line[n++] = '\n';
	return n;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static unsigned char buf[MAX_DATAGRAM];
	static char line[MAX_LINE];
	int sock, out, ret;

	if (argc != 3) {
		fprintf(stderr, "usage: %s SOCKET LOGFILE\n", prog);
		return 2;
	}

	/* A vanished reader of our stderr must not kill us. */
	signal(SIGPIPE, SIG_IGN);

	out = open(argv[2], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (out < 0) {
		fprintf(stderr, "%s: open %s: %s\n", prog, argv[2],
			strerror(errno));
		return 1;
	}

	sock = bind_socket(argv[1]);
	if (sock < 0)
		return 1;

	for (;;) {
		ssize_t n = recv(sock, buf, sizeof(buf), MSG_TRUNC);
		size_t len;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "%s: recv: %s\n", prog, strerror(errno));
			return 1;
		}
		len = (size_t)n > sizeof(buf) ? sizeof(buf) : (size_t)n;
		len = format_line(line, buf, len, (size_t)n > sizeof(buf));
		ret = write_all(out, line, len);
		if (ret < 0) {
			fprintf(stderr, "%s: write %s: %s\n", prog, argv[2],
				strerror(-ret));
			return 1;
		}
	}
}
