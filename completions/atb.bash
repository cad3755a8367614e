# bash completion for atb(1)                               -*- shell-script -*-
#
# Subcommands, their options, the values of options that take a word from a
# fixed set (modes, outputs, signals, ...), files where a file is asked for,
# spec files for `atb run`, latch names for `atb latch`, and the commands a
# mode or shield runs. Works in plain bash; where the bash-completion
# package is loaded, a command's own completion is used for its arguments.
#
# Installed as share/bash-completion/completions/atb; or source it from
# ~/.bashrc.
#
# The word lists below are split on purpose; none holds a glob character.
# shellcheck disable=SC2086

_atb_subcommands='pool try-all wait-all race run latch cancel shield help'
_atb_topics='pool try-all wait-all race run latch cancel shield spec'
_atb_modes='pool try-all wait-all race'
_atb_latch_subs='set unset status wait-set wait-unset'
# kill -l's names without SIG (the real-time ones beyond RTMIN and RTMAX,
# RTMIN+N and RTMAX-N, are taken but not offered).
_atb_signals='HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM
TERM STKFLT CHLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO
PWR SYS RTMIN RTMAX'

# The options of each subcommand: those that take a value (long, short),
# then all of them. The modes take --health-probe only to refuse it (no
# command of theirs is a service), so it is read but not offered there.
_atb_mode_argl='sep names jobs signal grace timeout output prefix color colour
input finally halt retries retry-delay retry-backoff launcher report junit
events rerun-failed ready-probe health-probe'
_atb_mode_args='n j s g t o i'
_atb_mode_opts='-c --shell --sep -n --names -j --jobs -s --signal -g --grace
-t --timeout -o --output --prefix --no-pad --color --colour -i --input
--no-stdin --foreground --preserve-status --progress --finally --stdin -0
--null -k --keep-order --halt --retries --retry-delay --retry-backoff
--launcher --ready-probe --report --junit --events --rerun-failed -v --verbose -h --help'
_atb_run_argl='mode jobs signal grace timeout output prefix color colour input
halt retries retry-delay retry-backoff launcher report junit events
rerun-failed ready-probe health-probe'
_atb_run_args='m j s g t o i'
_atb_run_opts='-m --mode -j --jobs -s --signal -g --grace -t --timeout
-o --output --prefix --no-pad --color --colour -i --input --no-stdin
--foreground --preserve-status --first-success -k --keep-order --halt
--retries --retry-delay --retry-backoff --launcher --ready-probe --health-probe
--report
--junit --events --rerun-failed -v --verbose -h --help'
_atb_cancel_argl='signal grace pidfile'
_atb_cancel_args='s g'
_atb_cancel_opts='-s --signal -g --grace --group --pidfile -v --verbose
-h --help'
_atb_shield_argl='grace'
_atb_shield_args='g'
_atb_shield_opts='-g --grace -v --verbose -h --help'

# _atb_add CUR WORD...: adds to COMPREPLY each WORD that starts with CUR.
_atb_add() {
	local cur=$1 word
	shift
	for word in "$@"; do
		[[ $word == "$cur"* ]] && COMPREPLY+=("$word")
	done
	return 0
}

# _atb_lines TEXT: adds to COMPREPLY each line of TEXT but empty ones.
_atb_lines() {
	local line
	while IFS= read -r line; do
		[[ -n $line ]] && COMPREPLY+=("$line")
	done <<<"$1"
}

# _atb_files CUR [json]: files (with json: folders, and files ending in
# .json) whose names start with CUR.
_atb_files() {
	compopt -o filenames 2>/dev/null
	if [[ ${2-} == json ]]; then
		_atb_lines "$(compgen -d -- "$1")"
		_atb_lines "$(compgen -f -X '!*.json' -- "$1")"
	else
		_atb_lines "$(compgen -f -- "$1")"
	fi
}

# _atb_value OPTION CUR: the values of OPTION (a long name, or a short one
# with its dash) that start with CUR.
_atb_value() {
	local cur=$2
	case $1 in
	output | -o) _atb_add "$cur" inherit prefix group ;;
	color | colour | progress) _atb_add "$cur" auto always never ;;
	mode | -m) _atb_add "$cur" $_atb_modes ;;
	signal | -s)
		# atb takes any case, with or without SIG: offer the case begun.
		local sigs=$_atb_signals
		[[ $cur == [Ss][Ii][Gg]* ]] && sigs=$(printf 'SIG%s ' $sigs)
		[[ -n $cur && $cur == "${cur,,}" ]] && sigs=${sigs,,}
		_atb_add "$cur" $sigs
		;;
	halt) _atb_add "$cur" now soon now,fail=1 soon,fail=1 ;;
	launcher) _atb_add "$cur" local slurm ;;
	report | junit | events | pidfile) _atb_files "$cur" ;;
	rerun-failed) _atb_files "$cur" json ;;
	finally) _atb_lines "$(compgen -c -- "$cur")" ;;
	esac
	return 0
}

# _atb_words: the words of the line as the program will see them, in w (and
# the index of each in COMP_WORDS in wi), and the index of the word under the
# cursor in cw. Bash splits --output=group into three words because '=' is
# in COMP_WORDBREAKS; here a '=' is glued back to the words it touches
# (in COMP_LINE; without one, such as from a test, it is taken to touch).
_atb_words() {
	local i word glue n line=${COMP_LINE-} have_line=${COMP_LINE+1}
	w=() wi=() cw=0
	for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
		word=${COMP_WORDS[i]}
		glue=1
		if [[ -n $have_line ]]; then
			[[ $line == [[:space:]]* ]] && glue=0
			line=${line#"${line%%[![:space:]]*}"}
			line=${line#"$word"}
		fi
		n=${#w[@]}
		if ((glue && n > 0)) && [[ $word == =* || ${w[n - 1]} == *= ]]; then
			w[n - 1]+=$word
		else
			w+=("$word")
			wi+=("$i")
		fi
		((i == COMP_CWORD)) && cw=$((${#w[@]} - 1))
	done
	# The cursor after the last word: an empty word.
	if ((COMP_CWORD >= ${#COMP_WORDS[@]})); then
		w+=("")
		wi+=("$COMP_CWORD")
		cw=$((${#w[@]} - 1))
	fi
}

# _atb_trim WORD: readline replaces only what follows the last '=' of WORD
# (a word break), so takes that much off the front of each reply.
_atb_trim() {
	local strip i
	[[ $1 == *=* && ${COMP_WORDBREAKS-=} == *=* ]] || return 0
	strip=${1%"${1##*=}"}
	for i in "${!COMPREPLY[@]}"; do
		COMPREPLY[i]=${COMPREPLY[i]#"$strip"}
	done
}

# _atb_long NAME KEY: sets long to the long option of subcommand KEY
# (mode, run, cancel, shield) that NAME is, or is the unique abbreviation
# of (getopt_long takes one); else to NAME.
_atb_long() {
	local name=$1 opts="_atb_${2}_opts" o found=''
	long=$name
	for o in ${!opts} --first-success; do
		o=${o#--}
		if [[ $o == "$name" ]]; then
			return 0
		fi
		[[ $o == "$name"* && $o != -* ]] && found+=" $o"
	done
	found=${found# }
	[[ -n $found && $found != *" "* ]] && long=$found
	return 0
}

# _atb_options KEY STOP: reads the options of subcommand KEY from w[2] up
# to the word under the cursor, as getopt_long would (with STOP=1 it stops
# at the first word that is not an option, as with '+'). Sets opt_value
# (the option whose value is under the cursor: a long name, or a short one
# with its dash; or empty), opt_end (the index of the first word after the
# options, or -1 while they go on), opt_shell (1 when -c or --shell was
# given) and opt_sep (--sep's value).
_atb_options() {
	local key=$1 stop=$2 i j word long c argl args
	argl="_atb_${key}_argl" args="_atb_${key}_args"
	argl=${!argl} args=${!args}
	argl=" ${argl//$'\n'/ } " args=" $args "
	opt_value='' opt_end=-1 opt_shell=0 opt_sep=''
	for ((i = 2; i < cw; i++)); do
		word=${w[i]}
		if [[ -n $opt_value ]]; then
			[[ $opt_value == sep ]] && opt_sep=$word
			opt_value=''
			continue
		fi
		case $word in
		--)
			opt_end=$((i + 1))
			return 0
			;;
		--?*)
			word=${word#--}
			_atb_long "${word%%=*}" "$key"
			[[ $long == shell ]] && opt_shell=1
			if [[ $word == *=* ]]; then
				[[ $long == sep ]] && opt_sep=${word#*=}
			elif [[ $argl == *" $long "* ]]; then
				opt_value=$long
			fi
			;;
		-?*)
			for ((j = 1; j < ${#word}; j++)); do
				c=${word:j:1}
				[[ $key == mode && $c == c ]] && opt_shell=1
				if [[ $args == *" $c "* ]]; then
					((j == ${#word} - 1)) && opt_value=-$c
					break
				fi
			done
			;;
		*)
			if ((stop)); then
				opt_end=$i
				return 0
			fi
			;;
		esac
	done
	return 0
}

# _atb_option_word KEY: completes the word under the cursor while it is
# among the options of subcommand KEY: an option's value, or an option.
# Returns 1 when the word is past the options.
_atb_option_word() {
	local cur=${w[cw]} long opts="_atb_${1}_opts"
	if [[ -n $opt_value ]]; then
		_atb_value "$opt_value" "$cur"
	elif ((opt_end >= 0)) || [[ $cur != -* ]]; then
		return 1
	elif [[ $cur == --*=* ]]; then
		long=${cur%%=*}
		_atb_long "${long#--}" "$1"
		_atb_value "$long" "${cur#*=}"
		COMPREPLY=("${COMPREPLY[@]/#/${cur%%=*}=}")
	else
		_atb_add "$cur" ${!opts}
		[[ $1 == mode && ${w[1]} == race ]] && _atb_add "$cur" --first-success
	fi
	return 0
}

# _atb_command START: completes the word under the cursor as part of the
# command that begins at w[START]. Sets raw: the replies are bash's own.
_atb_command() {
	local start=$1 cur=${w[cw]}
	raw=1
	if declare -F _command_offset >/dev/null; then
		_command_offset "${wi[start]}"
	elif ((cw == start)) && [[ $cur != */* ]]; then
		_atb_lines "$(compgen -c -- "$cur")"
	else
		_atb_files "$cur"
	fi
}

# A mode: options, then commands separated by '--' (or --sep's TOKEN).
_atb_mode() {
	local cur=${w[cw]} opt_value opt_end opt_shell opt_sep i start
	_atb_options mode 1
	_atb_option_word mode && return 0
	if ((opt_shell)); then
		# -c: each word is a command line for /bin/sh -c.
		_atb_lines "$(compgen -c -- "$cur")"
		return 0
	fi
	start=$cw
	((opt_end >= 0)) && start=$opt_end
	for ((i = start; i < cw; i++)); do
		[[ ${w[i]} == "${opt_sep:---}" ]] && start=$((i + 1))
	done
	_atb_command "$start"
}

# atb run [OPTIONS] SPEC: options anywhere before '--', one spec file.
_atb_run() {
	local opt_value opt_end opt_shell opt_sep
	_atb_options run 0
	_atb_option_word run || _atb_files "${w[cw]}" json
}

# atb cancel [OPTIONS] [PID...]
_atb_cancel() {
	local opt_value opt_end opt_shell opt_sep pid
	_atb_options cancel 0
	_atb_option_word cancel && return 0
	for pid in /proc/[0-9]*; do
		_atb_add "${w[cw]}" "${pid#/proc/}"
	done
}

# atb shield [OPTIONS] [--] CMD [ARG...]
_atb_shield() {
	local opt_value opt_end opt_shell opt_sep
	_atb_options shield 1
	_atb_option_word shield && return 0
	((opt_end >= 0)) || opt_end=$cw
	_atb_command "$opt_end"
}

# atb latch SUBCOMMAND [OPTIONS] NAME...: options anywhere before '--'.
_atb_latch() {
	local cur=${w[cw]} sub=${w[2]} i names_only=0 dir f
	if ((cw == 2)); then
		if [[ $cur == -* ]]; then
			_atb_add "$cur" -h --help
		else
			_atb_add "$cur" $_atb_latch_subs
		fi
		return 0
	fi
	for ((i = 3; i < cw; i++)); do
		case ${w[i]} in
		--) names_only=1 ;;
		--timeout | -t | --poll)
			# A duration: nothing to offer.
			((!names_only && i == cw - 1)) && return 0
			;;
		esac
	done
	if ((!names_only)) && [[ $cur == -* ]]; then
		case $sub in
		wait-set | wait-unset) _atb_add "$cur" --any -t --timeout --poll -h --help ;;
		*) _atb_add "$cur" -h --help ;;
		esac
	elif [[ $cur == */* ]]; then
		_atb_files "$cur"
	else
		# A bare NAME: the latches already in the latch folder.
		if [[ -n ${ATB_LATCH_DIR-} ]]; then
			dir=$ATB_LATCH_DIR
		elif [[ ${XDG_RUNTIME_DIR-} == /* ]]; then
			dir=${XDG_RUNTIME_DIR%/}/atb/latch
		else
			dir=/tmp/atb-$EUID/latch
		fi
		# compgen -G, not a glob: failglob may be on.
		while IFS= read -r f; do
			[[ -f $f ]] && _atb_add "$cur" "${f##*/}"
		done <<<"$(compgen -G "$dir/*")"
	fi
	return 0
}

_atb() {
	local -a w wi
	local cw cur raw=0 IFS=$' \t\n'
	COMPREPLY=()
	_atb_words
	cur=${w[cw]}
	if ((cw <= 1)); then
		if [[ $cur == -* ]]; then
			_atb_add "$cur" -h --help -V --version
		else
			_atb_add "$cur" $_atb_subcommands
		fi
		return 0
	fi
	case ${w[1]} in
	pool | try-all | wait-all | race) _atb_mode ;;
	run) _atb_run ;;
	latch) _atb_latch ;;
	cancel) _atb_cancel ;;
	shield) _atb_shield ;;
	help) ((cw == 2)) && _atb_add "$cur" $_atb_topics ;;
	esac
	# The replies are whole words; readline wants only what follows '='.
	((raw)) || _atb_trim "$cur"
	return 0
}

complete -F _atb atb
