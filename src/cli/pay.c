/* pay.c — `tessera pay verify --provider wechatpay|alipay|epay|stripe --config FILE
 * --body FILE [--headers FILE] [--now UNIX_SECONDS]`: checks a captured payment notice as the
 * server would (signature on the raw bytes, timestamp window, merchant id) and prints
 * `valid` or `invalid: REASON` on the first line — then, for WeChat Pay with an APIv3 key
 * configured, the decrypted resource. Exit 0 when valid, 1 when not, 2 on usage errors.
 * --body holds the raw body (a GET notice: its query string); --headers holds `Name: value`
 * lines. Nothing secret is printed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/assert.h"
#include "base/text.h"
#include "cli/cli.h"
#include "pay/config.h"
#include "pay/pay.h"

#define PAY_HEADERS_FILE_BYTES (LIMIT_HEADER_COUNT * (LIMIT_PAY_HEADER_BYTES + 128))

/* Splits text into `Name: value` headers (names and values point into text, which is
 * modified); false after saying why. A trailing CR is dropped; blank lines are skipped. */
static bool pay_parse_headers(char *text, size_t len, struct pay_header *headers, int *count) {
    *count = 0;
    char *line = text;
    int number = 0;
    while (line < text + len) {
        char *end = memchr(line, '\n', (size_t)(text + len - line));
        if (end == 0) end = text + len;
        *end = 0;
        number++;
        size_t n = (size_t)(end - line);
        if (n > 0 && line[n - 1] == '\r') line[--n] = 0;
        char *colon = n > 0 ? memchr(line, ':', n) : 0;
        if (n > 0 && (colon == 0 || colon == line)) {
            fprintf(stderr, "tessera pay: headers line %d is not `Name: value`\n", number);
            return false;
        }
        if (n > 0) {
            if (*count == LIMIT_HEADER_COUNT) {
                fprintf(stderr, "tessera pay: more than %d headers\n", LIMIT_HEADER_COUNT);
                return false;
            }
            *colon = 0;
            char *value = colon + 1;
            while (*value == ' ' || *value == '\t')
                value++;
            size_t value_len = strlen(value);
            while (value_len > 0 && (value[value_len - 1] == ' ' || value[value_len - 1] == '\t'))
                value[--value_len] = 0;
            headers[*count].name = line;
            headers[*count].value = value;
            (*count)++;
        }
        line = end + 1;
    }
    return true;
}

static int pay_verify_command(int argc, char **argv) {
    const char *provider_name = 0, *config_path = 0, *body_path = 0, *headers_path = 0,
               *now_text = 0;
    struct cli_option options[] = {{"--provider", true, &provider_name},
                                   {"--config", true, &config_path},
                                   {"--body", true, &body_path},
                                   {"--headers", true, &headers_path},
                                   {"--now", true, &now_text}};
    if (!cli_parse(argc, argv, options, 5, 0)) return 2;
    enum pay_provider provider = PAY_SANDBOX;
    if (provider_name == 0 || config_path == 0 || body_path == 0) {
        fputs("tessera pay verify: --provider, --config and --body are required\n", stderr);
        return 2;
    }
    if (!pay_provider_parse(provider_name, &provider) || provider == PAY_SANDBOX) {
        fputs("tessera pay verify: --provider is wechatpay, alipay, epay or stripe\n", stderr);
        return 2;
    }
    int64_t now = (int64_t)time(0);
    if (now_text != 0 &&
        (text_parse_int(now_text, strlen(now_text), &now) != STATUS_OK || now < 0)) {
        fputs("tessera pay verify: --now is a number of seconds since 1970\n", stderr);
        return 2;
    }
    char message[256];
    struct pay_config *config = 0;
    if (pay_config_load(config_path, &config, message, sizeof message) != STATUS_OK) {
        fprintf(stderr, "tessera pay verify: %s\n", message);
        return 2;
    }
    struct buf body, headers_text;
    buf_init(&headers_text, 1);
    struct pay_header headers[LIMIT_HEADER_COUNT];
    int header_count = 0;
    int code = 2;
    if (cli_read_file("pay", body_path, LIMIT_PAY_NOTICE_BYTES, &body)) {
        bool ok = headers_path == 0 ||
                  (cli_read_file("pay", headers_path, PAY_HEADERS_FILE_BYTES, &headers_text) &&
                   pay_parse_headers(headers_text.data ? headers_text.data : "", headers_text.len,
                                     headers, &header_count));
        if (ok) {
            struct pay_request request = {body.data ? body.data : "", body.len, headers,
                                          header_count, now};
            struct pay_notice notice;
            struct buf resource;
            buf_init(&resource, LIMIT_PAY_NOTICE_BYTES);
            char reason[200];
            enum status status =
                pay_verify(config, provider, &request, &notice, &resource, reason, sizeof reason);
            if (status == STATUS_OK) {
                printf("valid\n");
                if (resource.len > 0) printf("%s\n", resource.data);
                code = 0;
            } else {
                printf("invalid: %s\n",
                       status == STATUS_INVALID_NOTICE ? reason : status_message(status));
                code = 1;
            }
            buf_free(&resource);
        }
        buf_free(&body);
    }
    buf_free(&headers_text);
    pay_config_free(config);
    return code;
}

int cli_pay(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "verify") == 0) return pay_verify_command(argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "create") == 0 || strcmp(argv[1], "query") == 0 ||
                      strcmp(argv[1], "refund") == 0))
        return cli_pay_outbound(argc - 1, argv + 1);
    fputs("usage: tessera pay verify --provider wechatpay|alipay|epay|stripe --config FILE\n"
          "                          --body FILE [--headers FILE] [--now UNIX_SECONDS]\n"
          "       tessera pay create --provider P --config FILE --order REF --amount N\n"
          "                          --subject S [--currency C]\n"
          "       tessera pay query  --provider P --config FILE --order REF [--intent pi_...]\n"
          "       tessera pay refund --provider P --config FILE --order REF --refund REF\n"
          "                          --amount N [--total N] [--currency C] [--transaction T]\n"
          "                          [--reason R]\n",
          stderr);
    return 2;
}
