/* fuzz_journal_entry.c - recovery_entry_parse() (runner/daemon/recovery.h)
 * on arbitrary bytes: a journal entry read back at start after a crash.
 * Beyond "no crash": an accepted entry has the file's execution id, a
 * config-shaped forge name, a non-empty printable job id, a printable
 * project, an empty or 40/64-hex commit, a pid in range and a handle of at
 * most RECOVERY_HANDLE_MAX bytes; a refused one says why. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runner/daemon/recovery.h"
#include "runner/forge/forge.h"
#include "runner/state/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_printable(const char *s)
{
        for (; *s != '\0'; s++)
                if ((unsigned char)*s < 0x20 || *s == 0x7f)
                        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char id[] = "0123456789abcdef0123456789abcdef";
        struct recovery_entry e;
        struct err err = ERR_INIT;
        int r;

        if (size > RECOVERY_ENTRY_MAX)
                return 0;
        r = recovery_entry_parse(&e, (const char *)data, size, id, &err);
        if (r < 0) {
                if (r != -EBADMSG || err.msg[0] == '\0' || e.handle != NULL)
                        abort();
                return 0;
        }
        if (r != 0 || strcmp(e.exec_id, id) != 0 || !state_forge_name_valid(e.forge) ||
            e.job_id[0] == '\0' || (e.commit[0] != '\0' && !job_sha_valid(e.commit)) ||
            e.pid < 0 || e.pid > INT32_MAX)
                abort();
        check_printable(e.job_id);
        check_printable(e.project);
        if (e.handle != NULL && strlen(e.handle) > RECOVERY_HANDLE_MAX)
                abort();
        free(e.handle);
        return 0;
}
