#!/usr/bin/env bash
# The manual pages punchhole(1) and tstun(8) and the bash completions of both programs, made
# from each program's own -h output so they cannot drift from it: the option list, the synopsis
# and the lines the pages quote come from -h; the prose around them from docs/man/NAME.SECTION.in.
# Usage: scripts/generate-docs.sh OUTDIR [PUNCHHOLE [TSTUN]]
#   PUNCHHOLE, TSTUN: the programs to ask (default artifacts/punchhole/punchhole, artifacts/tstun/tstun)
# Writes OUTDIR/man/punchhole.1, OUTDIR/man/tstun.8, OUTDIR/bash-completion/punchhole and
# OUTDIR/bash-completion/tstun. The page's date is the last commit's (SOURCE_DATE_EPOCH wins).
#
# In a .in file: @VERSION@, @DATE@, @SYNOPSIS@ (the Usage: line), @OPTIONS@ (one .TP entry per
# option of -h) and @HELP:Prefix:@ (the rest of the -h line that starts with "Prefix:", e.g.
# @HELP:Exit status:@; generation fails if -h has no such line).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: scripts/generate-docs.sh OUTDIR [PUNCHHOLE [TSTUN]]}
punchhole=${2:-$root/artifacts/punchhole/punchhole}
tstun=${3:-$root/artifacts/tstun/tstun}
mkdir -p "$out/man" "$out/bash-completion"
# Each program is asked once: -h and --version.
declare -A help version
for program in punchhole tstun; do
  binary=$([ "$program" = tstun ] && echo "$tstun" || echo "$punchhole")
  help[$program]=$("$binary" -h)
  version[$program]=$("$binary" --version | awk '{print $2}')
  version[$program]=${version[$program]%%+*}
done

if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
  date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)
else
  date=$(git -C "$root" log -1 --format=%cs 2>/dev/null || date -u +%Y-%m-%d)
fi

# The options block of -h (from the first line that starts with spaces and '-' to the next empty
# line) as "SPEC<TAB>DESCRIPTION" lines. A line may hold two options ("-4, --ipv4  use IPv4
# -6, --ipv6  use IPv6": fields are separated by two or more spaces); a more indented line that
# does not start with '-' continues the description before it.
options_of() {
  awk '
    !inblock { if ($0 ~ /^[ \t]+-/) inblock = 1; else next }
    /^[ \t]*$/ { exit }
    {
      line = $0; sub(/^[ \t]+/, "", line); sub(/[ \t]+$/, "", line)
      if (line ~ /^-/) {
        n = split(line, field, /  +/)
        for (i = 1; i <= n; i += 2) { count++; spec[count] = field[i]; desc[count] = field[i + 1] }
      } else if (count > 0) {
        desc[count] = desc[count] " " line
      }
    }
    END { for (i = 1; i <= count; i++) print spec[i] "\t" desc[i] }'
}

# Text for roff: backslashes escaped, the hyphens of option names as minus signs (so that a name
# copied from the page is typed right), and no control character at the start of a line.
roff() {
  local s=$1
  s=${s//\\/\\e}
  s=$(perl -pe 's/(?<![\w-])(--?[A-Za-z0-9][\w-]*)/(my $o = $1) =~ s{-}{\\-}g; $o/ge' <<<"$s")
  case $s in .* | \'*) s="\\&$s" ;; esac
  printf '%s\n' "$s"
}

# One .TP entry per option: names in bold, the argument in italics, then the description.
options_roff() {
  local spec desc word head
  while IFS=$'\t' read -r spec desc; do
    head=""
    for word in $spec; do
      case $word in
        -*,) head+="\\fB${word%,}\\fR, " ;;
        -*) head+="\\fB$word\\fR " ;;
        *) head+="\\fI$word\\fR " ;;
      esac
    done
    head=${head%" "}
    printf '.TP\n%s\n' "${head//-/\\-}"
    roff "$desc"
  done
}

# The Usage: line with the program's name and options in bold.
synopsis_roff() {
  local usage=$1 word line=""
  for word in ${usage#Usage: }; do
    case $word in
      punchhole | tstun) line+="\\fB$word\\fR " ;;
      *) line+="$(sed -E 's/(^|[[|])(--?[A-Za-z0-9][A-Za-z0-9-]*)/\1\\fB\2\\fR/g' <<<"$word") " ;;
    esac
  done
  line=${line%" "}
  printf '%s\n' "${line//-/\\-}"
}

page() { # program section
  local program=$1 section=$2 help=${help[$1]} version=${version[$1]} in="$root/docs/man/$1.$2.in" line key value
  while IFS= read -r line || [ -n "$line" ]; do
    case $line in
      @SYNOPSIS@) synopsis_roff "$(head -1 <<<"$help")" ;;
      @OPTIONS@) options_of <<<"$help" | options_roff ;;
      *@HELP:*)
        key=${line#*@HELP:}; key=${key%%:@*}
        value=$(sed -n "s/^$key: *//p" <<<"$help" | head -1)
        [ -n "$value" ] || { echo "generate-docs.sh: '$program -h' has no line starting with '$key:' ($in)" >&2; exit 1; }
        printf '%s\n' "${line%%@HELP:*}$(roff "$value")${line#*:@}"
        ;;
      *) line=${line//@VERSION@/$version}; printf '%s\n' "${line//@DATE@/$date}" ;;
    esac
  done < "$in" > "$out/man/$program.$section"
}

# Completion of option names, and of host names after an option whose argument names a HOST;
# after any other option that takes a value nothing is offered, so that the value is typed.
completion() { # program
  local program=$1 spec desc word names hosts="" values="" all=""
  while IFS=$'\t' read -r spec desc; do
    names=""; local argument=""
    for word in $spec; do
      case $word in -*) names+="${word%,} " ;; *) argument+="$word" ;; esac
    done
    all+="$names"
    if [[ $argument == *HOST* ]]; then hosts+="$names"
    elif [ -n "$argument" ]; then values+="$names"
    fi
  done < <(options_of <<<"${help[$program]}")
  local fn="_${program}_complete"
  cat > "$out/bash-completion/$program" <<EOF
# bash completion for $program, made by scripts/generate-docs.sh from '$program -h'
$fn()
{
    local cur=\${COMP_WORDS[COMP_CWORD]} prev=
    (( COMP_CWORD > 0 )) && prev=\${COMP_WORDS[COMP_CWORD-1]}
    COMPREPLY=()
    case \$prev in
$( [ -n "$hosts" ] && printf '        %s)\n            COMPREPLY=( $(compgen -A hostname -- "$cur") )\n            return 0 ;;\n' "$(tr ' ' '\n' <<<"${hosts% }" | paste -sd'|')" )
$( [ -n "$values" ] && printf '        %s)\n            return 0 ;;\n' "$(tr ' ' '\n' <<<"${values% }" | paste -sd'|')" )
    esac
    if [[ \$cur == -* ]]; then
        COMPREPLY=( \$(compgen -W '${all% }' -- "\$cur") )
    fi
    return 0
}
complete -F $fn $program
EOF
}

page punchhole 1
page tstun 8
completion punchhole
completion tstun
