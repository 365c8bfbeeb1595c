# Shared by the benchmark scripts (sourced, not run).
# SPDX-License-Identifier: Apache-2.0
#
# measure NAME COMMAND...: runs COMMAND $repeats times in the current folder
# under /usr/bin/time and prints "NAME median_wall_s peak_rss_MiB".
measure() {
    name=$1
    shift
    : > "times_$name"
    i=0
    while [ "$i" -lt "$repeats" ]; do
        /usr/bin/time -f "%e %M" -o "one_$name" sh -c "$*" > /dev/null
        cat "one_$name" >> "times_$name"
        i=$((i + 1))
    done
    sort -n "times_$name" | awk -v n="$name" '{t[NR]=$1; if ($2>m) m=$2} END {printf "%s %.2f %.0f\n", n, t[int((NR+1)/2)], m/1024}'
}
