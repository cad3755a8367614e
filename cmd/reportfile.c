/* reportfile: a report file is written whole or not at all. It is written
 * into a temporary file in the same folder, made before the run starts (a
 * path that cannot be written is a usage error before anything happens),
 * and renamed over the report once complete; a run that cannot start, a
 * full disk or a failed write leave the file that was there untouched and
 * no temporary file behind. Standard output ("-") and what is not a regular
 * file (a fifo, /dev/stderr) are written in place, as there is nothing to
 * rename over. */
#include "cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The temporary file's name: hidden, beside the report, random. */
static char *temp_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t dlen = slash ? (size_t)(slash - path) + 1 : 0;
    const char *base = slash ? slash + 1 : path;
    size_t size = dlen + strlen(base) + sizeof(".atb-XXXXXX") + 1;
    char *tmp = malloc(size);

    if (tmp != NULL)
        snprintf(tmp, size, "%.*s.%s.atb-XXXXXX", (int)dlen, path, base);
    return tmp;
}

/* The mode a file created with 0666 would get under the umask. */
static mode_t created_mode(void)
{
    mode_t mask = umask(0);

    umask(mask);
    return 0666 & ~mask;
}

/* A target that is not a regular file (and exists): written in place. */
static int open_in_place(struct cmd_report_file *rf)
{
    int fd;

    do
        fd = open(rf->path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return -errno;
    if ((rf->f = fdopen(fd, "w")) == NULL) {
        int err = -errno;
        close(fd);
        return err;
    }
    return 0;
}

static int open_temp(struct cmd_report_file *rf)
{
    int fd;

    rf->tmp = temp_name(rf->path);
    if (rf->tmp == NULL)
        return -ENOMEM;
    fd = mkostemp(rf->tmp, O_CLOEXEC);
    if (fd < 0) {
        int err = -errno;
        free(rf->tmp);
        rf->tmp = NULL;
        return err;
    }
    (void)fchmod(fd, created_mode());
    if ((rf->f = fdopen(fd, "w")) == NULL) {
        int err = -errno;
        close(fd);
        unlink(rf->tmp);
        free(rf->tmp);
        rf->tmp = NULL;
        return err;
    }
    return 0;
}

int cmd_report_file_open(const char *opt, struct cmd_report_file *rf)
{
    struct stat st;
    int rc;

    rf->f = NULL;
    rf->tmp = NULL;
    if (rf->path == NULL)
        return 0;
    if (strcmp(rf->path, "-") == 0) {
        rf->f = stdout;
        return 0;
    }
    if (stat(rf->path, &st) == 0 && S_ISDIR(st.st_mode))
        rc = -EISDIR;
    else if (stat(rf->path, &st) == 0 && !S_ISREG(st.st_mode))
        rc = open_in_place(rf);
    else
        rc = open_temp(rf);
    if (rc < 0) {
        cmd_err("%s: cannot open '%s': %s", opt, rf->path, strerror(-rc));
        return -1;
    }
    return 0;
}

void cmd_report_file_discard(struct cmd_report_file *rf)
{
    if (rf->f != NULL && rf->f != stdout)
        fclose(rf->f);
    if (rf->tmp != NULL)
        unlink(rf->tmp);
    free(rf->tmp);
    rf->tmp = NULL;
    rf->f = NULL;
}

int cmd_report_file_commit(struct cmd_report_file *rf, int write_rc, int run_ok)
{
    int rc = write_rc;

    if (rf->f != stdout && fclose(rf->f) != 0 && rc == 0)
        rc = -errno;
    rf->f = NULL;
    if (rc == 0 && rf->tmp != NULL && rename(rf->tmp, rf->path) < 0)
        rc = -errno;
    if (rc < 0) {
        /* What was there before stays; the half-written file goes. */
        if (rf->tmp != NULL)
            unlink(rf->tmp);
        cmd_err("%s: cannot write the report: %s%s", rf->path, atb_strerror(rc),
                run_ok ? " (the run itself succeeded)" : "");
    }
    free(rf->tmp);
    rf->tmp = NULL;
    return rc < 0 ? -1 : 0;
}

int cmd_stream_status(FILE *f)
{
    if (fflush(f) == 0 && !ferror(f))
        return 0;
    /* errno is the failed write's (ENOSPC, EPIPE...). */
    return errno > 0 ? -errno : -EIO;
}
