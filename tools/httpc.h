/* SPDX-License-Identifier: Apache-2.0 */
/*
 * httpc.h - a minimal blocking HTTP/1.1 client for the admin API, used by
 * smartpromoctl, the replay demo and the tests.
 *
 * One request per connection (Connection: close).  URLs are
 * http://HOST[:PORT][/PATH]; no TLS (the admin API listens on loopback or a
 * private network).  The response body is malloc'd and owned by the caller.
 */
#ifndef SP_HTTPC_H
#define SP_HTTPC_H

#include <stddef.h>

struct httpc_response {
	int status;             /* HTTP status, e.g. 201 */
	char *body;             /* NUL-terminated, caller frees */
	size_t len;
};

/*
 * Send method to base_url + path with an optional JSON body and bearer
 * token (NULL: none).  timeout_ms bounds connect, send and receive.
 * Returns 0 with resp filled, or -1 with a reason in err.
 */
int httpc_request(const char *base_url, const char *method, const char *path,
    const char *body, const char *token, int timeout_ms,
    struct httpc_response *resp, char *err, size_t errlen);

/* Free the body. */
void httpc_response_release(struct httpc_response *resp);

#endif
