/* SPDX-License-Identifier: Apache-2.0 */
/*
 * httpc.c - blocking HTTP/1.1 client over a TCP socket with poll() timeouts.
 */
#define _GNU_SOURCE
#include "httpc.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Split http://host:port/prefix into parts. */
static int
httpc_parse_url(const char *url, char *host, size_t hostlen, char *port,
    size_t portlen, char *prefix, size_t prefixlen)
{
	const char *p, *slash, *colon;

	if (strncmp(url, "http://", 7) != 0)
		return -1;
	p = url + 7;
	slash = strchr(p, '/');
	if (slash == NULL)
		slash = p + strlen(p);
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(slash - p));

		if (rb == NULL)
			return -1;
		snprintf(host, hostlen, "%.*s", (int)(rb - p - 1), p + 1);
		colon = rb[1] == ':' ? rb + 1 : NULL;
	} else {
		colon = memchr(p, ':', (size_t)(slash - p));
		snprintf(host, hostlen, "%.*s",
		    (int)((colon ? colon : slash) - p), p);
	}
	if (colon != NULL)
		snprintf(port, portlen, "%.*s", (int)(slash - colon - 1),
		    colon + 1);
	else
		snprintf(port, portlen, "80");
	snprintf(prefix, prefixlen, "%s", slash);
	/* drop a trailing slash so prefix + "/v1/..." stays clean */
	if (prefix[0] != '\0' && prefix[strlen(prefix) - 1] == '/')
		prefix[strlen(prefix) - 1] = '\0';
	return host[0] != '\0' ? 0 : -1;
}

/* Wait until fd is ready for events or the timeout passes. */
static int
httpc_wait(int fd, short events, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int n;

	do
		n = poll(&pfd, 1, timeout_ms);
	while (n == -1 && errno == EINTR);
	if (n == 0)
		errno = ETIMEDOUT;      /* not a stale errno in messages */
	return n > 0 ? 0 : -1;
}

/* Connect to host:port within the timeout; the socket, or -1. */
static int
httpc_connect(const char *host, const char *port, int timeout_ms, char *err,
    size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	int fd = -1, rc;

	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot resolve \"%s\": %s", host,
		    gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK,
		    ai->ai_protocol);
		if (fd == -1)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
		    (errno == EINPROGRESS &&
		    httpc_wait(fd, POLLOUT, timeout_ms) == 0)) {
			int soerr = 0;
			socklen_t sl = sizeof(soerr);

			getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
			if (soerr == 0)
				break;
			errno = soerr;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		snprintf(err, errlen, "cannot connect to %s:%s: %s", host,
		    port, strerror(errno));
	return fd;
}

/* Write all of buf. */
static int
httpc_send_all(int fd, const char *buf, size_t len, int timeout_ms)
{
	while (len > 0) {
		ssize_t n;

		if (httpc_wait(fd, POLLOUT, timeout_ms) == -1)
			return -1;
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read until the peer closes; malloc'd buffer in *out. */
static int
httpc_recv_all(int fd, int timeout_ms, char **out, size_t *outlen)
{
	size_t cap = 8192, len = 0;
	char *buf = malloc(cap);

	if (buf == NULL)
		return -1;
	for (;;) {
		ssize_t n;

		if (len + 4096 + 1 > cap) {
			char *nb = realloc(buf, cap * 2);

			if (nb == NULL)
				break;
			buf = nb;
			cap *= 2;
		}
		if (httpc_wait(fd, POLLIN, timeout_ms) == -1)
			break;
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == 0) {
			buf[len] = '\0';
			*out = buf;
			*outlen = len;
			return 0;
		}
		if (n < 0)
			break;
		len += (size_t)n;
	}
	free(buf);
	return -1;
}

/* Decode a chunked body in place; returns the new length. */
static size_t
httpc_dechunk(char *body, size_t len)
{
	char *in = body, *end = body + len, *out = body;

	while (in < end) {
		char *eol;
		unsigned long n = strtoul(in, &eol, 16);

		eol = strstr(in, "\r\n");
		if (eol == NULL || n == 0)
			break;
		in = eol + 2;
		if ((size_t)(end - in) < n)
			n = (unsigned long)(end - in);
		memmove(out, in, n);
		out += n;
		in += n + 2;
	}
	*out = '\0';
	return (size_t)(out - body);
}

/* Split a raw response into status and body. */
static int
httpc_parse_response(char *raw, size_t rawlen, struct httpc_response *resp)
{
	char *hdr_end = strstr(raw, "\r\n\r\n");
	int chunked;
	size_t blen;

	if (hdr_end == NULL || sscanf(raw, "HTTP/1.%*d %d", &resp->status) != 1)
		return -1;
	*hdr_end = '\0';
	chunked = strcasestr(raw, "transfer-encoding: chunked") != NULL;
	blen = rawlen - (size_t)(hdr_end + 4 - raw);
	resp->body = malloc(blen + 1);
	if (resp->body == NULL)
		return -1;
	memcpy(resp->body, hdr_end + 4, blen);
	resp->body[blen] = '\0';
	resp->len = chunked ? httpc_dechunk(resp->body, blen) : blen;
	return 0;
}

/* One request, one connection. */
int
httpc_request(const char *base_url, const char *method, const char *path,
    const char *body, const char *token, int timeout_ms,
    struct httpc_response *resp, char *err, size_t errlen)
{
	char host[256], port[16], prefix[512], head[2048], *raw = NULL;
	size_t blen = body ? strlen(body) : 0, rawlen = 0;
	int fd, n;

	memset(resp, 0, sizeof(*resp));
	if (httpc_parse_url(base_url, host, sizeof(host), port, sizeof(port),
	    prefix, sizeof(prefix)) == -1) {
		snprintf(err, errlen, "bad url \"%s\"", base_url);
		return -1;
	}
	if ((fd = httpc_connect(host, port, timeout_ms, err, errlen)) == -1)
		return -1;
	n = snprintf(head, sizeof(head),
	    "%s %s%s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n"
	    "Accept: application/json\r\n%s%s%s"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
	    method, prefix, path, host, port,
	    token ? "Authorization: Bearer " : "", token ? token : "",
	    token ? "\r\n" : "", blen);
	if (n < 0 || (size_t)n >= sizeof(head) ||
	    httpc_send_all(fd, head, (size_t)n, timeout_ms) == -1 ||
	    httpc_send_all(fd, body ? body : "", blen, timeout_ms) == -1 ||
	    httpc_recv_all(fd, timeout_ms, &raw, &rawlen) == -1) {
		snprintf(err, errlen, "request to %s:%s failed: %s", host, port,
		    errno ? strerror(errno) : "timeout");
		close(fd);
		return -1;
	}
	close(fd);
	if (httpc_parse_response(raw, rawlen, resp) == -1) {
		snprintf(err, errlen, "malformed response from %s:%s", host,
		    port);
		free(raw);
		return -1;
	}
	free(raw);
	return 0;
}

/* Free the body. */
void
httpc_response_release(struct httpc_response *resp)
{
	free(resp->body);
	resp->body = NULL;
	resp->len = 0;
}
