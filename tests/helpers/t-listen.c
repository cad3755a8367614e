/* t-listen: a TCP (or tiny HTTP) server on 127.0.0.1 for the probe tests,
 * which listens only when the test lets it.
 *
 *   t-listen [-p PORTFILE] [-P PIDFILE] [-w FILE] [-d DELAY_MS] [-F READYFILE]
 *            [-H CODES] [-l LOG]
 *
 * The order is what makes the tests deterministic:
 *   1. bind 127.0.0.1 on an ephemeral port (port 0); bound but not
 *      listening, the port refuses connections (ECONNREFUSED), and no
 *      other socket can take it;
 *   2. write the port to PORTFILE and the pid to PIDFILE (each a temporary
 *      file renamed over it, so a reader sees all of it or nothing);
 *   3. wait until FILE exists (-w, polled every 10 ms), then DELAY_MS (-d);
 *   4. write READYFILE ("listening"), then listen(): whoever connected
 *      once always finds READYFILE, and whoever finds it not there knows
 *      nobody could connect yet;
 *   5. accept connections until SIGTERM, or 60 s after the start at most
 *      (a safety bound: exit 3).
 * Without -H each connection is accepted, logged as "accept" and closed (a
 * TCP probe). With -H 503,503,200 it is an HTTP server: the n-th request
 * gets the n-th status (the last one repeats), logged as "CODE PATH"
 * before the answer is sent, and the connection is closed after it.
 * -l LOG: one line a connection, appended. Exits 2 on a usage error. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_CODES 32
#define SAFETY_S 60

static const char *log_path;
static int codes[MAX_CODES];
static int ncodes;

static void on_term(int signo)
{
    _exit(signo == SIGTERM ? 0 : 3);
}

static void usage(void)
{
    fputs("usage: t-listen [-p PORTFILE] [-P PIDFILE] [-w FILE] [-d DELAY_MS] "
          "[-F READYFILE] [-H CODES] [-l LOG]\n", stderr);
    exit(2);
}

static void die(const char *what)
{
    fprintf(stderr, "t-listen: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Writes text to path whole: a temporary file beside it, renamed over it. */
static void put_file(const char *path, const char *text)
{
    char tmp[4096];
    size_t len = strlen(text);
    int fd;

    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, text, len) != (ssize_t)len || close(fd) < 0)
        die(tmp);
    if (rename(tmp, path) < 0)
        die(path);
}

static void log_line(const char *text)
{
    int fd;

    if (log_path == NULL)
        return;
    fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        die(log_path);
    if (write(fd, text, strlen(text)) < 0)
        die(log_path);
    close(fd);
}

/* -H 503,503,200 */
static void parse_codes(const char *text)
{
    char *end;

    for (;;) {
        long v = strtol(text, &end, 10);

        if (end == text || v < 100 || v > 999 || ncodes == MAX_CODES)
            usage();
        codes[ncodes++] = (int)v;
        if (*end == '\0')
            return;
        if (*end != ',')
            usage();
        text = end + 1;
    }
}

static const char *reason(int code)
{
    switch (code) {
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 404:
        return "Not Found";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    }
    return "Status";
}

/* Reads the request's head (bounded), answers with the next status. */
static void serve_http(int fd, unsigned long n)
{
    char req[4096], path[256] = "?", line[320], resp[256];
    size_t len = 0;
    int code = codes[n < (unsigned long)ncodes ? n : (unsigned long)ncodes - 1];
    int rlen;

    while (len < sizeof(req) - 1) {
        ssize_t r = read(fd, req + len, sizeof(req) - 1 - len);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
        req[len] = '\0';
        if (strstr(req, "\r\n\r\n") != NULL || strstr(req, "\n\n") != NULL)
            break;
    }
    req[len] = '\0';
    sscanf(req, "%*s %255s", path);
    snprintf(line, sizeof(line), "%d %s\n", code, path);
    log_line(line);
    rlen = snprintf(resp, sizeof(resp),
                    "HTTP/1.0 %d %s\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n"
                    "Connection: close\r\n\r\n",
                    code, reason(code));
    if (send(fd, resp, (size_t)rlen, MSG_NOSIGNAL) < 0) {
        /* The client went away: nothing to tell it. */
    }
}

static void serve(int lfd)
{
    struct timeval tv = {2, 0};

    for (unsigned long n = 0;; n++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            die("accept");
        }
        /* A client that connects and sends nothing does not stop us. */
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        if (ncodes > 0)
            serve_http(fd, n);
        else
            log_line("accept\n");
        close(fd);
    }
}

/* Bound to 127.0.0.1 on a port the kernel picks, not listening yet. */
static int bind_any(unsigned *port)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        die("socket");
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        die("bind");
    if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
        die("getsockname");
    *port = ntohs(sa.sin_port);
    return fd;
}

int main(int argc, char **argv)
{
    const char *portfile = NULL, *pidfile = NULL, *waitfile = NULL, *readyfile = NULL;
    long delay_ms = 0;
    unsigned port;
    char text[32];
    int opt, fd;

    while ((opt = getopt(argc, argv, "p:P:w:d:F:H:l:")) != -1) {
        switch (opt) {
        case 'p':
            portfile = optarg;
            break;
        case 'P':
            pidfile = optarg;
            break;
        case 'w':
            waitfile = optarg;
            break;
        case 'd':
            delay_ms = atol(optarg);
            break;
        case 'F':
            readyfile = optarg;
            break;
        case 'H':
            parse_codes(optarg);
            break;
        case 'l':
            log_path = optarg;
            break;
        default:
            usage();
        }
    }
    if (optind != argc || delay_ms < 0)
        usage();
    signal(SIGTERM, on_term);
    signal(SIGALRM, on_term);
    alarm(SAFETY_S);
    fd = bind_any(&port);
    if (pidfile != NULL) {
        snprintf(text, sizeof(text), "%ld\n", (long)getpid());
        put_file(pidfile, text);
    }
    if (portfile != NULL) {
        snprintf(text, sizeof(text), "%u\n", port);
        put_file(portfile, text);
    }
    while (waitfile != NULL && access(waitfile, F_OK) < 0)
        sleep_ms(10);
    sleep_ms(delay_ms);
    if (readyfile != NULL)
        put_file(readyfile, "listening\n");
    if (listen(fd, 64) < 0)
        die("listen");
    serve(fd);
    return 0;
}
