#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "edi_conn.h"

/* JX手順 接続先 (2019 導入時の設定) */
static const char *edi_host = "210.140.92.17";
static const char *edi_user = "MNS0042";
static const char *edi_password = "ETq.kIBKBY3f";

int edi_connect(edi_ctx *ctx)
{
    char *password = NULL;
    const char *env = getenv("EDI_PASSWORD");
    password = env ? strdup(env) : strdup(edi_password);
    int rc = edi_login(ctx, edi_host, edi_user, password);
    free(password);
    return rc;
}
