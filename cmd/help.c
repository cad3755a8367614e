/* Help texts: `atb --help`, `atb help TOPIC`, `atb MODE --help`. They say
 * what the SYNOPSIS of atb(1) says. */
#include "cmd.h"

#include <string.h>

static const char overview[] =
    "usage: atb pool     [OPTIONS] [--] CMD [ARG...] [-- CMD [ARG...]]...\n"
    "       atb try-all  [OPTIONS] [--] CMD [ARG...] [-- CMD [ARG...]]...\n"
    "       atb wait-all [OPTIONS] [--] CMD [ARG...] [-- CMD [ARG...]]...\n"
    "       atb race     [OPTIONS] [--] CMD [ARG...] [-- CMD [ARG...]]...\n"
    "       atb run      [OPTIONS] SPEC\n"
    "       atb latch SUBCOMMAND [OPTIONS] NAME...\n"
    "       atb cancel [OPTIONS] [PID...]\n"
    "       atb shield [OPTIONS] [--] CMD [ARG...]\n"
    "       atb --help | --version | help TOPIC\n"
    "\n"
    "Runs commands together as one unit (structured concurrency for processes).\n"
    "Nothing they start outlives the run, even when atb itself is killed.\n"
    "\n"
    "  pool, try-all  the first failure cancels all the others\n"
    "  wait-all       run everything to the end, report every failure\n"
    "  race           the first to end wins, the others are cancelled\n"
    "  run            a run described in a JSON spec (man atb-spec)\n"
    "  latch          set, unset and wait on latch files\n"
    "  cancel         cancel any process and wait until it is gone\n"
    "  shield         run one command that cancellation cannot cut short\n"
    "\n"
    "'atb help MODE' lists a mode's options, 'atb help spec' the spec format;\n"
    "man atb has everything.\n";

static const char mode_options[] =
    "\n"
    "Commands are separated by '--' and run directly, without a shell. With\n"
    "CMD {} ::: A B (or :::: FILE), one command runs for each argument.\n"
    "\n"
    "options:\n"
    "  -c, --shell          each argument is one command for /bin/sh -c\n"
    "      --sep TOKEN      separate commands with TOKEN instead of '--'\n"
    "  -n, --names A,B,...  name the commands in order\n"
    "  -j, --jobs N         run at most N commands at once\n"
    "  -s, --signal SIG     cancel with SIG (default TERM)\n"
    "  -g, --grace DUR      then SIGKILL after DUR (default 5s)\n"
    "  -t, --timeout DUR    cancel everything after DUR and exit 124\n"
    "  -o, --output MODE    prefix, group or inherit (default: inherit for one\n"
    "                       command, prefix for more)\n"
    "      --prefix FORMAT  prefix of each line: {name} {index} {pid} {time}\n"
    "                       (default '[{name}] ')\n"
    "      --no-pad         do not pad prefixes to one width\n"
    "      --color WHEN     auto, always or never (default auto)\n"
    "  -i, --input NAME     give atb's stdin to the command NAME (a lone command\n"
    "                       gets it anyway, as under timeout)\n"
    "      --no-stdin       a lone command reads /dev/null instead\n"
    "      --foreground     give that command the terminal too (it can read it,\n"
    "                       and ^C goes to it), as timeout --foreground\n"
    "      --preserve-status  on timeout, exit with the command's own status\n"
    "      --progress[=WHEN]  a status line on stderr: auto (if a terminal),\n"
    "                       always or never\n"
    "      --finally CMD    cleanup shell command, run after all others whatever\n"
    "                       happened (repeatable)\n"
    "      --stdin          read commands from stdin as they come, one a line: a\n"
    "                       shell command, a JSON command object, or with CMD\n"
    "                       after the options, the input of its {} {.} {/} {//}\n"
    "                       {/.} {#} {%%} (GNU parallel's); -j is then the CPUs\n"
    "  -0, --null           --stdin lines end with NUL (find -print0)\n"
    "  -k, --keep-order     group output in the order given (implies -o group)\n"
    "      --halt now|soon  soon: a failure starts nothing more, lets the running\n"
    "                       finish\n"
    "      --retries N      start a failed command again, up to N more times\n"
    "                       (services never); the run fails only if the last\n"
    "                       attempt does\n"
    "      --retry-delay DUR  wait DUR before each retry (default 0)\n"
    "      --retry-backoff F  multiply the delay by F after each retry\n"
    "      --launcher local|slurm  slurm: run each command through srun, as a\n"
    "                       job (or a step of the allocation atb runs in)\n"
    "      --ready-probe NAME=KIND:VALUE  command NAME is ready once a probe\n"
    "                       succeeds: tcp:HOST:PORT connects, http:URL answers\n"
    "                       2xx, exec:CMD exits 0 (tried every 200ms; -v shows\n"
    "                       what exec probes print)\n"
    "      --report FILE    write a JSON report to FILE ('-': stdout)\n"
    "      --junit FILE     write a JUnit XML report to FILE ('-': stdout)\n"
    "      --events FILE    write the run's events to FILE as they happen, a JSON\n"
    "                       object a line ('-': stdout, the output then going to\n"
    "                       stderr; fd:N: that fd)\n"
    "      --rerun-failed REPORT  run only what did not succeed in REPORT (an\n"
    "                       earlier --report of these commands), with what it\n"
    "                       waits for, and the cleanup commands\n"
    "  -v, --verbose        print the summary on success too\n"
    "  -h, --help           print this help\n"
    "%s"
    "\n"
    "A signal to atb cancels the run: INT, TERM, HUP, QUIT, USR1 and USR2 reach\n"
    "the commands as they are, the others (ALRM, XCPU, ...) as TERM; then atb\n"
    "dies of it. If atb is killed outright (SIGKILL, the OOM killer), its\n"
    "guardian process cancels the commands and their descendants.\n"
    "\n"
    "DUR: 10, 1.5s, 250ms, 2m, 1h. Exit status: 0 success, the first failure's\n"
    "status (race: the winner's), 124 timeout, 125 atb's own error, 126/127\n"
    "cannot execute / not found, 128+N interrupted by signal N.\n";

static const struct {
    const char *name;
    const char *what;
    const char *extra;
} modes[] = {
    {"pool", "Runs the commands together; the first failure cancels all the others.", ""},
    {"try-all", "Runs the commands together; the first failure cancels all the others.",
     ""},
    {"wait-all", "Runs every command to its end and reports every failure.", ""},
    {"race",
     "Runs the commands together; the first to end wins and the others are\n"
     "cancelled. atb exits with the winner's status; with --timeout, the\n"
     "timeout is a contestant that wins with 124.",
     "      --first-success  only a command that succeeds can win\n"},
};

static const char run_help[] =
    "usage: atb run [OPTIONS] SPEC\n"
    "\n"
    "Runs the commands a JSON spec file describes (SPEC '-': standard input).\n"
    "An option given here overrides the spec's setting; man atb-spec has the\n"
    "format.\n"
    "\n"
    "options:\n"
    "  -m, --mode MODE      pool, try-all, wait-all or race\n"
    "  -j, --jobs N         run at most N commands at once\n"
    "  -s, --signal SIG     cancel with SIG (default TERM)\n"
    "  -g, --grace DUR      then SIGKILL after DUR (default 5s)\n"
    "  -t, --timeout DUR    cancel everything after DUR and exit 124\n"
    "  -o, --output MODE    prefix, group or inherit\n"
    "      --prefix FORMAT  prefix of each line: {name} {index} {pid} {time}\n"
    "      --no-pad         do not pad prefixes to one width\n"
    "      --color WHEN     auto, always or never (default auto)\n"
    "  -i, --input NAME     give atb's standard input to command NAME (a lone\n"
    "                       command gets it anyway, unless SPEC is '-')\n"
    "      --no-stdin       a lone command reads /dev/null instead\n"
    "      --foreground     give that command the terminal too\n"
    "      --preserve-status  on timeout, exit with the command's own status\n"
    "      --first-success  race: only a command that succeeds can win\n"
    "  -k, --keep-order     group output in the order given (implies -o group)\n"
    "      --halt now|soon  soon: a failure starts nothing more, lets the running\n"
    "                       finish\n"
    "      --retries N      start a failed command again, up to N more times\n"
    "                       (services never); the run fails only if the last\n"
    "                       attempt does\n"
    "      --retry-delay DUR  wait DUR before each retry (default 0)\n"
    "      --retry-backoff F  multiply the delay by F after each retry\n"
    "      --launcher local|slurm  slurm: run each command through srun, as a\n"
    "                       job (or a step of the allocation atb runs in)\n"
    "      --ready-probe NAME=KIND:VALUE  command NAME is ready (for wait_for)\n"
    "                       once a probe succeeds: tcp:HOST:PORT connects,\n"
    "                       http:URL answers 2xx, exec:CMD exits 0 (as the\n"
    "                       spec's ready_probe, with its defaults)\n"
    "      --health-probe NAME=KIND:VALUE  service NAME, once ready, fails the\n"
    "                       run when the probe fails 3 times in a row\n"
    "      --report FILE    write a JSON report to FILE ('-': stdout)\n"
    "      --junit FILE     write a JUnit XML report to FILE ('-': stdout)\n"
    "      --events FILE    write the run's events to FILE as they happen, a JSON\n"
    "                       object a line ('-': stdout, the output then going to\n"
    "                       stderr; fd:N: that fd)\n"
    "      --rerun-failed REPORT  run only what did not succeed in REPORT (an\n"
    "                       earlier --report of these commands), with what it\n"
    "                       waits for, and the cleanup commands\n"
    "  -v, --verbose        print the summary on success too (and what exec\n"
    "                       probes print)\n"
    "  -h, --help           print this help\n"
    "\n"
    "Signals and exit status: as for 'atb pool'; 125 also for an invalid spec,\n"
    "which starts nothing.\n";

static const char spec_help[] =
    "A spec is a JSON object that 'atb run SPEC' runs (man atb-spec has it all):\n"
    "\n"
    "  {\"mode\": \"pool\", \"timeout\": \"10m\",\n"
    "   \"commands\": [\n"
    "     {\"name\": \"db\", \"argv\": [\"postgres\", \"-D\", \"data\"], \"service\": true,\n"
    "      \"ready_when\": \"ready to accept connections\"},\n"
    "     {\"name\": \"test\", \"shell\": \"make test\", \"wait_for\": [\"db\"]}],\n"
    "   \"cleanup\": [{\"shell\": \"rm -rf tmp\"}]}\n"
    "\n"
    "run settings (an option of 'atb run' beats them):\n"
    "  mode jobs grace signal timeout output prefix color no_pad first_success\n"
    "  input retries retry_delay retry_backoff launcher\n"
    "\n"
    "a command (one of argv or shell):\n"
    "  argv shell name env clear_env cwd timeout service shield\n"
    "  ready_when ready_probe health_probe ready_timeout sets wait_for retries\n"
    "  retry_delay retry_backoff slurm\n"
    "\n"
    "slurm (with \"launcher\": \"slurm\"): partition cpus mem time nodes args\n"
    "\n"
    "a probe (ready_probe, health_probe; one of exec shell tcp http):\n"
    "  exec shell tcp http interval timeout initial_delay failures\n"
    "\n"
    "commands runs them as the mode says; cleanup, after them whatever happened.\n"
    "An error names the file, line:column and JSON path, and starts nothing.\n";

static const char shield_help[] =
    "usage: atb shield [OPTIONS] [--] CMD [ARG...]\n"
    "\n"
    "Runs CMD so that cancellation cannot cut it short. A signal that would end\n"
    "atb (INT, TERM, HUP, QUIT, USR1, USR2, ALRM, ...) is recorded, not\n"
    "forwarded; when CMD ends, atb re-raises the first of them on itself. A\n"
    "second signal cancels CMD after all (that signal to its process group, or\n"
    "TERM for one other than INT, TERM, HUP, QUIT, USR1 and USR2, then SIGKILL\n"
    "after 5s).\n"
    "\n"
    "options:\n"
    "  -g, --grace DUR   cancel CMD anyway once a deferred signal has waited DUR\n"
    "  -v, --verbose     print a summary when CMD ends\n"
    "  -h, --help        print this help\n"
    "\n"
    "Exit status: CMD's own (128+N if it died of signal N); 125 atb's own error;\n"
    "126/127 CMD cannot be executed / not found; death by the deferred signal.\n";

static const char cancel_help[] =
    "usage: atb cancel [OPTIONS] [PID...]\n"
    "\n"
    "Cancels processes atb did not start and waits until they are gone. Every\n"
    "target is pinned by a pidfd first (a reused pid is never signalled), sent\n"
    "SIG, and sent SIGKILL if it is still there when the grace period ends.\n"
    "\n"
    "options:\n"
    "  -s, --signal SIG     send SIG first (default TERM)\n"
    "  -g, --grace DUR      then SIGKILL after DUR (default 5s)\n"
    "      --group          signal each target's whole process group\n"
    "      --pidfile FILE   cancel the pid FILE holds (a pid and a newline, no\n"
    "                       more; FILE a regular file); refused if that process\n"
    "                       started after FILE was written (repeatable)\n"
    "  -v, --verbose        say what is sent and when, and if /proc fallback is used\n"
    "  -h, --help           print this help\n"
    "\n"
    "Refused: pid 1, atb itself and its ancestors, kernel threads, with --group\n"
    "atb's own group, and a pid file's process that started after the file.\n"
    "\n"
    "DUR: 10, 1.5s, 250ms, 2m, 1h. Exit status: 0 every target gone (one that was\n"
    "not running counts as gone), 1 a target could not be signalled or was still\n"
    "there 1s after SIGKILL, 125 usage error or a target refused (then nothing\n"
    "was signalled).\n";

int cmd_help(const char *topic, FILE *out)
{
    if (topic == NULL) {
        fputs(overview, out);
        return 0;
    }
    if (strcmp(topic, "latch") == 0) {
        cmd_latch_usage(out);
        return 0;
    }
    if (strcmp(topic, "cancel") == 0) {
        fputs(cancel_help, out);
        return 0;
    }
    if (strcmp(topic, "run") == 0) {
        fputs(run_help, out);
        return 0;
    }
    if (strcmp(topic, "shield") == 0) {
        fputs(shield_help, out);
        return 0;
    }
    if (strcmp(topic, "spec") == 0) {
        fputs(spec_help, out);
        return 0;
    }
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        if (strcmp(topic, modes[i].name) == 0) {
            fprintf(out, "usage: atb %s [OPTIONS] [--] CMD [ARG...] [-- CMD [ARG...]]...\n\n%s\n",
                    modes[i].name, modes[i].what);
            fprintf(out, mode_options, modes[i].extra);
            return 0;
        }
    }
    return -1;
}
