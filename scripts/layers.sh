#!/bin/bash
# The layering rule (docs/layers.md): each folder may include only its own
# headers and those of the layers below it.
#
#   lib/                 the base: includes nothing else of the project
#   vpc/     netmon/     lib/ and themselves (not each other)
#   daemon/              lib/, vpc/, netmon/
#   hooks/               everything above (the CLI is the daemon's client)
#
#   scripts/layers.sh [ROOT]   prints "FILE:LINE: ..." for every include that
#                              points the wrong way; exit 1 if there is one
set -u
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root" || exit 2

declare -A may=(
	[lib]="lib"
	[vpc]="lib vpc"
	[netmon]="lib netmon"
	[daemon]="lib vpc netmon daemon"
	[hooks]="lib vpc netmon daemon hooks"
)
bad=0
for layer in lib vpc netmon daemon hooks; do
	[ -d "$layer" ] || continue
	for f in "$layer"/*.c "$layer"/*.h; do
		[ -f "$f" ] || continue
		# #include "dir/file.h" lines: their line number and the folder.
		while IFS=: read -r line dir; do
			case " ${may[$layer]} " in
			*" $dir "*) ;;
			*)
				echo "$f:$line: includes a $dir/ header, but $layer/ may include only: ${may[$layer]// /, }"
				bad=1
				;;
			esac
		done < <(sed -n '=;s|^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([a-z_]*\)/[^"]*".*|\1|p' "$f" |
			sed -n '/^[0-9]*$/{h;d};{x;G;s/\n/:/p}')
	done
done
exit $bad
