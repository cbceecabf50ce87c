/* main.c — command dispatch for the one binary: tessera init | serve | import | check | risk | pay.
 * Owns argument parsing only; each command lives in src/cli/. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "pay/outbound.h"
#include "store/db.h"

static void usage(FILE *out) {
    fputs(
        "usage: tessera COMMAND [OPTIONS]\n"
        "\n"
        "commands:\n"
        "  init   --db PATH [--demo]            create the database and its vault key\n"
        "  serve  --db PATH [--listen HOST:PORT] serve the HTTP API (default 127.0.0.1:8080)\n"
        "         [--model MODEL] [--risk-memory-mb N]  a risk model; the feature state's bound\n"
        "         [--pay-config FILE] [--pay-timeout-s N] payment gateways (default: sandbox)\n"
        "         [--reconcile-after-s N]        query pending orders at their provider this old\n"
        "  import --db PATH --sku SKU FILE       import card codes (text or CSV code,expires_at)\n"
        "  check  --db PATH                      verify every invariant; JSON summary\n"
        "  risk check RULES [--model MODEL]      compile a rule file; errors as file:line:col\n"
        "  risk replay --rules RULES [--model MODEL] --events FILE|- [--out FILE]\n"
        "              [--features-out FILE] [--memory-mb N]\n"
        "                                        decisions for a JSONL file of events\n"
        "  pay verify --provider wechatpay|alipay|epay|stripe --config FILE --body FILE\n"
        "             [--headers FILE] [--now UNIX_SECONDS]\n"
        "                                        check a captured payment notice\n"
        "  pay create --provider wechatpay|alipay|epay|stripe --config FILE --order REF\n"
        "             --amount N --subject S [--currency C]\n"
        "                                        create a payment at the provider (QR code, URL)\n"
        "  pay query  --provider P --config FILE --order REF [--intent pi_...]\n"
        "                                        ask the provider whether an order is paid\n"
        "  pay refund --provider P --config FILE --order REF --refund REF --amount N\n"
        "             [--total N] [--currency C] [--transaction T] [--reason R]\n"
        "                                        refund at the provider; all print JSON\n"
        "  help                                  this text\n"
        "  --version                             print the version\n"
        "  (--db defaults to var/tessera.db, as make run uses)\n",
        out);
}

static int dispatch(const char *command, int argc, char **argv) {
    if (strcmp(command, "init") == 0) return cli_init(argc - 1, argv + 1);
    if (strcmp(command, "serve") == 0) return cli_serve(argc - 1, argv + 1);
    if (strcmp(command, "import") == 0) return cli_import(argc - 1, argv + 1);
    if (strcmp(command, "check") == 0) return cli_check(argc - 1, argv + 1);
    if (strcmp(command, "risk") == 0) return cli_risk(argc - 1, argv + 1);
    if (strcmp(command, "pay") == 0) return cli_pay(argc - 1, argv + 1);
    fprintf(stderr, "tessera: unknown command '%s'\n\n", command);
    usage(stderr);
    return 2;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *command = argv[1];
    if (strcmp(command, "--version") == 0 || strcmp(command, "version") == 0) {
        printf("tessera %s\n", TESSERA_VERSION);
        return 0;
    }
    if (strcmp(command, "help") == 0 || strcmp(command, "--help") == 0 ||
        strcmp(command, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (db_global_init() != STATUS_OK) {
        fputs("tessera: cannot initialise SQLite\n", stderr);
        return 1;
    }
    /* libcurl's global state, before any thread starts (serve's threads call providers) */
    if (pay_outbound_init() != STATUS_OK) {
        fputs("tessera: cannot initialise libcurl\n", stderr);
        return 1;
    }
    int code = dispatch(command, argc, argv);
    pay_outbound_cleanup();
    return code;
}
