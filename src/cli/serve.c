/* serve.c — `tessera serve --db PATH [--listen HOST:PORT] [--model MODEL]
 * [--risk-memory-mb N] [--pay-config FILE] [--pay-timeout-s N] [--reconcile-after-s N]`. Without a
 * payment configuration only the built-in sandbox gateway is on (so a fresh install shows the whole
 * paid-order flow); with one, the providers it sets up. Blocks SIGTERM/SIGINT in every
 * thread, waits for one, then stops gracefully: no new connections, in-flight requests
 * finish, the writer drains, the database closes cleanly. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/text.h"
#include "cli/cli.h"
#include "http/server.h"
#include "pay/config.h"
#include "vault/vault.h"

static bool serve_parse_listen(const char *listen, char *host, size_t host_size, uint16_t *port) {
    const char *colon = strrchr(listen, ':');
    if (colon == 0 || colon == listen || (size_t)(colon - listen) >= host_size) return false;
    int64_t value = 0;
    if (text_parse_int(colon + 1, strlen(colon + 1), &value) != STATUS_OK || value > 65535) {
        return false;
    }
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = 0;
    *port = (uint16_t)value;
    return true;
}

int cli_serve(int argc, char **argv) {
    const char *db_path = "var/tessera.db", *listen = "127.0.0.1:8080", *model = 0, *memory = 0,
               *pay_path = 0, *pay_timeout = 0, *reconcile = 0;
    struct cli_option options[] = {{"--db", true, &db_path},
                                   {"--listen", true, &listen},
                                   {"--model", true, &model},
                                   {"--risk-memory-mb", true, &memory},
                                   {"--pay-config", true, &pay_path},
                                   {"--pay-timeout-s", true, &pay_timeout},
                                   {"--reconcile-after-s", true, &reconcile}};
    if (!cli_parse(argc, argv, options, 7, 0)) return 2;
    int64_t reconcile_s = LIMIT_RECONCILE_AFTER_S;
    if (reconcile != 0 &&
        (text_parse_int(reconcile, strlen(reconcile), &reconcile_s) != STATUS_OK ||
         reconcile_s < 0 || reconcile_s > LIMIT_PAY_TIMEOUT_MAX_S)) {
        fprintf(stderr, "tessera serve: --reconcile-after-s must be 0 to %d\n",
                LIMIT_PAY_TIMEOUT_MAX_S);
        return 2;
    }
    int64_t timeout_s = LIMIT_PAY_TIMEOUT_S;
    if (pay_timeout != 0 &&
        (text_parse_int(pay_timeout, strlen(pay_timeout), &timeout_s) != STATUS_OK ||
         timeout_s < 1 || timeout_s > LIMIT_PAY_TIMEOUT_MAX_S)) {
        fprintf(stderr, "tessera serve: --pay-timeout-s must be 1 to %d\n",
                LIMIT_PAY_TIMEOUT_MAX_S);
        return 2;
    }
    int64_t memory_mb = 0;
    if (memory != 0 && (text_parse_int(memory, strlen(memory), &memory_mb) != STATUS_OK ||
                        memory_mb < 1 || memory_mb > 65536)) {
        fprintf(stderr, "tessera serve: --risk-memory-mb must be 1 to 65536\n");
        return 2;
    }
    char host[64];
    uint16_t port = 0;
    if (!serve_parse_listen(listen, host, sizeof host, &port)) {
        fprintf(stderr, "tessera serve: --listen must be HOST:PORT, e.g. 127.0.0.1:8080\n");
        return 2;
    }
    if (vault_global_init() != STATUS_OK) return 1;
    struct pay_config *pay = 0;
    char message[256];
    if (pay_path == 0) {
        pay = pay_config_empty();
        pay_config_sandbox(pay);
    } else if (pay_config_load(pay_path, &pay, message, sizeof message) != STATUS_OK) {
        fprintf(stderr, "tessera serve: %s\n", message);
        return 2;
    }
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &signals, 0); /* inherited by every thread started below */
    struct server_config config = {.db_path = db_path,
                                   .host = host,
                                   .port = port,
                                   .model_path = model,
                                   .risk_memory_mb = (size_t)memory_mb,
                                   .pay = pay,
                                   .pay_timeout_s = timeout_s,
                                   .reconcile_after_s = reconcile_s};
    struct server *server = 0;
    if (server_start(&config, &server) != STATUS_OK) {
        fprintf(stderr, "tessera serve: cannot start (see the log above)\n");
        pay_config_free(pay);
        return 1;
    }
    printf("tessera %s listening on http://%s:%u\n", TESSERA_VERSION, host,
           (unsigned)server_port(server));
    fflush(stdout);
    int received = 0;
    do {
        if (sigwait(&signals, &received) != 0) break;
    } while (received == SIGPIPE);
    log_info("serve: signal %d; stopping", received);
    server_stop(server);
    pay_config_free(pay);
    log_info("serve: stopped cleanly");
    return 0;
}
