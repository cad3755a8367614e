# fish completion for atb(1): subcommands, their options and option values,
# spec files for `atb run`, latch names, and the commands a mode or shield
# runs (separated by -- or --sep's TOKEN).
#
# Installed as share/fish/vendor_completions.d/atb.fish; or copy it to
# ~/.config/fish/completions/.

set -l modes pool try-all wait-all race
set -l latch_subs set unset status wait-set wait-unset
# kill -l's names without SIG; atb takes them in any case, SIG or not.
set -l signals HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE \
    ALRM TERM STKFLT CHLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF \
    WINCH IO PWR SYS RTMIN RTMAX

# __atb_sub: the subcommand on the line, if any.
function __atb_sub
    set -l t (commandline -opc)
    set -q t[2]; and echo -- $t[2]
end

# __atb_is SUB...: the subcommand is one of SUB.
function __atb_is
    contains -- (__atb_sub) $argv
end

# __atb_at N: the word being completed is word N (atb is word 1).
function __atb_at -a n
    test (count (commandline -opc)) -eq (math $n - 1)
end

# __atb_state: for a mode or shield, where the word being completed is:
# "opts" among the options, "value" an option's value, "shell" a command
# line of -c, or "cmd N" in the command that begins at word N.
function __atb_state
    set -l t (commandline -opc)
    set -l n (count $t)
    set -l argl sep names jobs signal grace timeout output prefix color colour \
        input finally halt retries retry-delay retry-backoff launcher report junit events rerun-failed \
        ready-probe health-probe
    set -l args n j s g t o i
    if test "$t[2]" = shield
        set argl grace
        set args g
    end
    set -l sep --
    set -l shell 0
    set -l start 0
    set -l i 3
    while test $i -le $n
        set -l w $t[$i]
        switch $w
            case --
                set start (math $i + 1)
                break
            case '--*=*'
                set -l kv (string split -m 1 = -- (string sub -s 3 -- $w))
                test "$kv[1]" = sep; and set sep $kv[2]
            case '--*'
                set -l name (string sub -s 3 -- $w)
                test "$name" = shell; and set shell 1
                if contains -- $name $argl
                    set i (math $i + 1)
                    test $i -gt $n; and echo value; and return
                    test "$name" = sep; and set sep $t[$i]
                end
            case '-?*'
                set -l len (string length -- $w)
                for j in (seq 2 $len)
                    set -l c (string sub -s $j -l 1 -- $w)
                    test "$t[2]" != shield -a "$c" = c; and set shell 1
                    if contains -- $c $args
                        if test $j -eq $len
                            set i (math $i + 1)
                            test $i -gt $n; and echo value; and return
                        end
                        break
                    end
                end
            case '*'
                set start $i
                break
        end
        set i (math $i + 1)
    end
    if test $start -eq 0
        if string match -q -- '-*' (commandline -ct)
            echo opts
            return
        end
        set start (math $n + 1)
    end
    if test $shell -eq 1
        echo shell
        return
    end
    for k in (seq $start $n)
        test "$t[$k]" = "$sep"; and set start (math $k + 1)
    end
    echo cmd $start
end

# __atb_opts SUB...: the subcommand is one of SUB, and its options go on.
function __atb_opts
    set -l sub (__atb_sub)
    contains -- "$sub" $argv; or return 1
    switch $sub
        case run cancel
            not contains -- -- (commandline -opc)
        case '*'
            string match -q -r '^(opts|value)$' -- (__atb_state)
    end
end

# __atb_cmd: the word is part of a command that a mode or shield runs.
function __atb_cmd
    __atb_is pool try-all wait-all race shield; or return 1
    string match -q -r '^(cmd|shell)' -- (__atb_state)
end

# __atb_complete_command: the completions of that command's own word.
function __atb_complete_command
    set -l state (string split ' ' -- (__atb_state))
    if test "$state[1]" = shell
        __fish_complete_command
        return
    end
    set -l t (commandline -opc)
    set -l words
    test $state[2] -le (count $t); and set words $t[$state[2]..-1]
    complete -C (string join ' ' -- (string escape -- $words) (commandline -ct))
end

# __atb_specs: folders, and files ending in .json.
function __atb_specs
    __fish_complete_path (commandline -ct) | string match -r -- '^.*(?:/|\.json)\t.*$'
end

# __atb_latch_names: the latches in the latch folder (a NAME with '/' is a
# path: files then).
function __atb_latch_names
    set -l cur (commandline -ct)
    if string match -q -- '*/*' $cur
        __fish_complete_path $cur
        return
    end
    set -l dir
    if set -q ATB_LATCH_DIR[1]; and test -n "$ATB_LATCH_DIR"
        set dir $ATB_LATCH_DIR
    else if string match -q -- '/*' "$XDG_RUNTIME_DIR"
        set dir (string trim -r -c / -- $XDG_RUNTIME_DIR)/atb/latch
    else
        set dir /tmp/atb-(id -u)/latch
    end
    for f in $dir/*
        test -f $f; and string replace -r '.*/' '' -- $f
    end
end

complete -c atb -f

# atb SUBCOMMAND, atb --help, atb --version
complete -c atb -n '__atb_at 2' -s h -l help -d 'Print help'
complete -c atb -n '__atb_at 2' -s V -l version -d 'Print the version'
complete -c atb -n '__atb_at 2' -a pool -d 'The first failure cancels the others'
complete -c atb -n '__atb_at 2' -a try-all -d 'The same as pool'
complete -c atb -n '__atb_at 2' -a wait-all -d 'Run everything, report every failure'
complete -c atb -n '__atb_at 2' -a race -d 'The first to end wins'
complete -c atb -n '__atb_at 2' -a run -d 'A run described in a JSON spec'
complete -c atb -n '__atb_at 2' -a latch -d 'Set, unset and wait on latch files'
complete -c atb -n '__atb_at 2' -a cancel -d 'Cancel any process and wait until it is gone'
complete -c atb -n '__atb_at 2' -a shield -d 'Run a command cancellation cannot cut short'
complete -c atb -n '__atb_at 2' -a help -d 'Print the help of a topic'

# atb help TOPIC
complete -c atb -n '__atb_at 3; and __atb_is help' \
    -a "$modes run latch cancel shield spec"

# The options of the modes and atb run (cmd.h's CMD_SETTING_OPTIONS and
# CMD_REPORT_OPTIONS).
set -l both "__atb_opts $modes run"
complete -c atb -n $both -s j -l jobs -x -d 'Run at most N commands at once'
complete -c atb -n $both -s s -l signal -x -a "$signals" -d 'Cancel with SIG'
complete -c atb -n $both -s g -l grace -x -d 'Then SIGKILL after DUR'
complete -c atb -n $both -s t -l timeout -x -d 'Cancel everything after DUR'
complete -c atb -n $both -s o -l output -x -a 'prefix group inherit' -d 'Output mode'
complete -c atb -n $both -l prefix -x -d 'Prefix of each line'
complete -c atb -n $both -l no-pad -d 'Do not pad prefixes to one width'
complete -c atb -n $both -l color -x -a 'auto always never' -d 'When to use color'
complete -c atb -n $both -l colour -x -a 'auto always never' -d 'When to use color'
complete -c atb -n $both -s i -l input -x -d 'Give stdin to command NAME'
complete -c atb -n $both -l no-stdin -d 'A lone command reads /dev/null'
complete -c atb -n $both -l foreground -d 'Give that command the terminal too'
complete -c atb -n $both -l preserve-status -d 'On timeout, exit with the command status'
complete -c atb -n $both -s k -l keep-order -d 'Group output in the order given'
complete -c atb -n $both -l halt -x -a 'now soon now,fail=1 soon,fail=1' -d 'When a failure stops the run'
complete -c atb -n $both -l retries -x -d 'Start a failed command again, up to N more times'
complete -c atb -n $both -l retry-delay -x -d 'Wait DUR before each retry'
complete -c atb -n $both -l retry-backoff -x -d 'Multiply the delay by F after each retry'
complete -c atb -n $both -l launcher -x -a 'local slurm' -d 'Where the commands run: here, or through srun'
complete -c atb -n $both -l ready-probe -x -d 'NAME=tcp:HOST:PORT, http:URL or exec:CMD: ready once it succeeds'
complete -c atb -n $both -l report -r -F -d 'Write a JSON report to FILE'
complete -c atb -n $both -l junit -r -F -d 'Write a JUnit XML report to FILE'
complete -c atb -n $both -l events -r -F -d 'Write the events as JSON lines to FILE'
complete -c atb -n $both -l rerun-failed -r -F -d 'Run only what failed in a JSON report'
complete -c atb -n $both -s v -l verbose -d 'Print the summary on success too'
complete -c atb -n $both -s h -l help -d 'Print help'

# The modes' own.
set -l mode "__atb_opts $modes"
complete -c atb -n $mode -s c -l shell -d 'Each argument is one command for /bin/sh -c'
complete -c atb -n $mode -l sep -x -d 'Separate commands with TOKEN instead of --'
complete -c atb -n $mode -s n -l names -x -d 'Name the commands in order'
complete -c atb -n $mode -l progress -d 'A status line on stderr (=auto, =always, =never)'
complete -c atb -n "$mode; and string match -q -- '--progress=*' (commandline -ct)" \
    -a '--progress=auto --progress=always --progress=never'
complete -c atb -n $mode -l finally -x -a '(__fish_complete_command)' -d 'Cleanup shell command'
complete -c atb -n $mode -l stdin -d 'Read commands from stdin as they come'
complete -c atb -n $mode -s 0 -l null -d '--stdin lines end with NUL'
complete -c atb -n '__atb_opts race run' -l first-success -d 'Only a command that succeeds can win'
complete -c atb -n __atb_cmd -x -a '(__atb_complete_command)'

# atb run [OPTIONS] SPEC
complete -c atb -n '__atb_opts run' -l health-probe -x -d 'Service NAME fails the run when the probe fails 3 times in a row'
complete -c atb -n '__atb_opts run' -s m -l mode -x -a "$modes" -d 'The mode, over the spec'
complete -c atb -n '__atb_is run' -x -a '(__atb_specs)'

# atb cancel [OPTIONS] [PID...]
set -l cancel '__atb_opts cancel'
complete -c atb -n $cancel -s s -l signal -x -a "$signals" -d 'Send SIG first'
complete -c atb -n $cancel -s g -l grace -x -d 'Then SIGKILL after DUR'
complete -c atb -n $cancel -l group -d 'Signal the whole process group of each target'
complete -c atb -n $cancel -l pidfile -r -F -d 'Cancel the pid FILE holds'
complete -c atb -n $cancel -s v -l verbose -d 'Say what is sent and when'
complete -c atb -n $cancel -s h -l help -d 'Print help'
complete -c atb -n '__atb_is cancel' -x -a '(__fish_complete_pids)'

# atb shield [OPTIONS] [--] CMD [ARG...]
set -l shield '__atb_opts shield'
complete -c atb -n $shield -s g -l grace -x -d 'Cancel CMD anyway after DUR'
complete -c atb -n $shield -s v -l verbose -d 'Print a summary when CMD ends'
complete -c atb -n $shield -s h -l help -d 'Print help'

# atb latch SUBCOMMAND [OPTIONS] NAME...
complete -c atb -n '__atb_at 3; and __atb_is latch' -s h -l help -d 'Print help'
complete -c atb -n '__atb_at 3; and __atb_is latch' -a set -d 'Set each latch'
complete -c atb -n '__atb_at 3; and __atb_is latch' -a unset -d 'Unset each latch'
complete -c atb -n '__atb_at 3; and __atb_is latch' -a status -d 'Print set or unset for each'
complete -c atb -n '__atb_at 3; and __atb_is latch' -a wait-set -d 'Block until every latch is set'
complete -c atb -n '__atb_at 3; and __atb_is latch' -a wait-unset -d 'Block until every latch is unset'
set -l latch_names "__atb_is latch; and not __atb_at 3; and contains -- (commandline -opc)[3] $latch_subs"
set -l latch_wait "$latch_names; and contains -- (commandline -opc)[3] wait-set wait-unset; and not contains -- -- (commandline -opc)"
complete -c atb -n $latch_wait -l any -d 'Wait until one latch holds'
complete -c atb -n $latch_wait -s t -l timeout -x -d 'Give up after DUR'
complete -c atb -n $latch_wait -l poll -x -d 'Check every DUR instead of using inotify'
complete -c atb -n "$latch_names; and not contains -- -- (commandline -opc)" -s h -l help -d 'Print help'
complete -c atb -n $latch_names -x -a '(__atb_latch_names)'
