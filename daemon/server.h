/* SPDX-License-Identifier: Apache-2.0 */
/*
 * server.h - the daemon's single event loop: wires Redis, Kafka, the
 * pipeline and the admin API together, handles signals inside the loop
 * (SIGTERM/SIGINT drain and exit 0, a second SIGINT exits at once, SIGHUP
 * reloads, SIGPIPE ignored) and talks to systemd (READY=1, STOPPING=1,
 * RELOADING=1, WATCHDOG=1).
 */
#ifndef SP_SERVER_H
#define SP_SERVER_H

#include "config.h"

/*
 * Run until stopped; returns the process exit status.  cfg is the loaded
 * configuration (kept and updated in place on reload); path is re-read on
 * SIGHUP, NULL when running on the embedded defaults.
 */
int server_run(struct sp_config *cfg, const char *path);

#endif
