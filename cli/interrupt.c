/* SPDX-License-Identifier: Apache-2.0 */
/* SIGINT / SIGTERM for long commands: the first asks the work to stop at a safe point, a second one
 * ends the program at once (the default action). */
#include <signal.h>
#include <string.h>

#include "cli.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    interrupted = sig;
    signal(sig, SIG_DFL); /* a second Ctrl-C is not ignored */
}

const volatile sig_atomic_t *mmdx_cli_catch_interrupts(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return &interrupted;
}

int mmdx_cli_interrupted(void) { return interrupted != 0; }
