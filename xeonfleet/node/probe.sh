# xeonfleet node probe: prints every file the node facts need, in one run, with few processes.
#
# POSIX sh (dash, busybox ash). Reads ONLY files under $ROOT ("" = the live host, or an offline
# tree in the `lscpu --sysroot` layout). Never fails: whatever is missing is simply not printed and
# the parsers say so. $PARTS limits the groups read (default: all), so small pyinfra facts reuse it.
# PACK=1 sends the output gzipped + base64, as one line, after a "@@@ packed gzip base64" line (when the
# node has both tools): a 2-socket host's ~3,000 lines become 2, and line reads are most of a remote run's cost.
# proc/cpuinfo is sent as the first processor's whole block, then only each CPU's placement and
# microcode lines (all the parsers read: 400 KB become 17 KB on 224 CPUs); FULL_CPUINFO=1 sends it
# whole (snapshots, which rebuild the file), as does a node without awk.
#
# Output (sections start with "@@@ "):
#   @@@ xeonfleet-probe 1
#   @@@ file PATH       then the raw content of one big text file (proc/cpuinfo, trimmed as above)
#   @@@ text            then "relative/path:line" for every line of every other text file (one grep)
#   @@@ hex PATH        then `od -An -v -tx1` of a binary file (the SMBIOS table)
#   @@@ unreadable PATH a file that exists but cannot be read; "@@@ unreadable PATH needs-root": a root-only
#                       file (SMBIOS table, MSR, CPUID) this user may not read and sudo -n did not grant
#   @@@ virtual PATH    a virtual network or block device (to skip in nics/disks)
#   @@@ tool NAME PATH  an installed tool
#   @@@ device PATH     a CPU driver's device that exists (dev/cpu/0/msr, dev/cpu/0/cpuid)
#   @@@ end

ROOT="${ROOT:-}"
PARTS="${PARTS:-cpu numa memory power os devices tools frameworks}"
PACK="${PACK:-}"
FULL_CPUINFO="${FULL_CPUINFO:-}"

# Root-only reads (the SMBIOS table, the knobs' MSRs, CPUID; xeonfleet/connect/privilege.py lists them). A file
# this run can read (as root, or a sysroot's copy) is read directly. Any other user on a live host ($ROOT "")
# reads it through `sudo -n` with a fixed command line, the one `xeonfleet sudoers --role audit` grants:
# first asked with `sudo -n -l CMD` (runs nothing, so a read that fails, e.g. an MSR the CPU lacks, is not
# taken for a refusal), once per kind of read: a drop-in from an older xeonfleet that lacks one kind still
# grants the others. -n: sudo never prompts, so the probe never hangs. With SUDO_STDIN=1 (host data
# _sudo_password: a node whose sudo wants a password) the controller sends the password as the first line of
# stdin instead; the shell's builtin printf hands it to `sudo -S`, so it is in no process's arguments. Refused
# (no sudo, no grant, a password needed or wrong): the file is named "@@@ unreadable FILE needs-root" after the
# text lines.
OD=/usr/bin/od
NEEDS_ROOT_LIST=.xeonfleet-needs-root
VIA=
LATER=
ASK_SUDO=
SUDO_PW=
if [ -n "${SUDO_STDIN:-}" ]; then IFS= read -r SUDO_PW || :; fi

# as_root CMD...: CMD through sudo, without ever prompting.
as_root() {
    if [ -n "${SUDO_STDIN:-}" ]; then printf '%s\n' "$SUDO_PW" | sudo -S -p '' "$@"; else sudo -n "$@"; fi
}

# via_root FILE OD-OPTIONS: whether FILE can be read with `od OD-OPTIONS` (sets VIA: "" directly, "sudo").
via_root() {
    f=$1
    shift
    VIA=
    [ -r "$f" ] && return 0
    if [ -z "$ASK_SUDO" ]; then
        ASK_SUDO=no
        [ -z "$ROOT" ] && [ "$(id -u 2>/dev/null)" != 0 ] && command -v sudo >/dev/null 2>&1 && ASK_SUDO=yes
    fi
    if [ "$ASK_SUDO" = yes ] && as_root -l $OD "$@" "/$f" >/dev/null 2>&1; then
        VIA=sudo
        return 0
    fi
    if [ "$(id -u 2>/dev/null)" = 0 ]; then
        LATER="$LATER@@@ unreadable $f
"
    else
        LATER="$LATER@@@ unreadable $f needs-root
"
    fi
    return 1
}

# od_root FILE OD-OPTIONS: od of FILE the way via_root found (through sudo: the fixed /usr/bin/od and /FILE).
od_root() {
    f=$1
    shift
    if [ -n "$VIA" ]; then as_root $OD "$@" "/$f"; else od "$@" "$f"; fi 2>/dev/null
}

probe() {
echo "@@@ xeonfleet-probe 1"
cd "${ROOT:-/}" 2>/dev/null || { echo "@@@ unreadable ${ROOT:-/}"; echo "@@@ end"; return 0; }

has() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }

C=sys/devices/system/cpu
N=sys/devices/system/node
# The sysctls reported in os.sysctl: the one place this list lives (documented in docs/facts.md).
SYSCTLS="kernel/numa_balancing vm/swappiness vm/dirty_ratio vm/dirty_background_ratio
vm/zone_reclaim_mode vm/max_map_count vm/overcommit_memory kernel/sched_autogroup_enabled
kernel/nmi_watchdog kernel/perf_event_paranoid net/core/somaxconn net/core/rmem_max net/core/wmem_max"

set --
# Files every CPU directory has (cpuN/SUFFIX): read below through one listing of the CPU directories.
PER_CPU=
if has cpu || has power || has numa; then
    # cpuinfo is most of the output on a big host: sent raw (no per-line path prefix).
    # x86 prints each online CPU's "physical id" and "core id" in cpuinfo, the values of sysfs's
    # topology/physical_package_id and core_id: the awk exits 0 when every CPU had both, and then those
    # ~2 reads per CPU are skipped (xeonfleet/parsers/topology.py reads either).
    IDS_IN_CPUINFO=
    if [ -r proc/cpuinfo ]; then
        echo "@@@ file proc/cpuinfo"
        if [ -z "$FULL_CPUINFO" ] && command -v awk >/dev/null 2>&1; then
            awk 'seen < 2 { print; if ($0 ~ /^processor[ \t]*:/) seen = 1; else if (seen && $0 ~ /^[ \t]*$/) seen = 2 }
                 /^processor[ \t]*:/ { cpus++ } /^physical id[ \t]*:/ { pkgs++ } /^core id[ \t]*:/ { cores++ }
                 seen == 2 && /^(processor|physical id|core id|microcode)[ \t]*:/ { print }
                 END { exit !(cpus && pkgs == cpus && cores == cpus) }' proc/cpuinfo 2>/dev/null && IDS_IN_CPUINFO=1
        else
            cat proc/cpuinfo 2>/dev/null
        fi
    fi
    set -- "$@" $C/online $C/offline $C/present $C/possible $C/smt/active $C/smt/control \
        $C/cpu0/cpufreq/cpuinfo_max_freq $C/cpu0/cpufreq/cpuinfo_min_freq \
        $C/cpu0/cpufreq/base_frequency \
        sys/hypervisor/type sys/devices/system/clocksource/clocksource0/available_clocksource
    [ -n "$IDS_IN_CPUINFO" ] || PER_CPU="$PER_CPU topology/physical_package_id topology/core_id"
    # Per-CPU online flags only matter when the kernel's online list is missing (old kernels).
    [ -r $C/online ] || PER_CPU="$PER_CPU online"
    # Sibling lists only matter when a kernel or a foreign snapshot has no core_id.
    [ -r $C/cpu0/topology/core_id ] || PER_CPU="$PER_CPU topology/core_cpus_list topology/thread_siblings_list \
        topology/package_cpus_list topology/core_siblings_list"
fi
# CPU 0's CPUID leaves as a snapshot stores them (text files; the live device is read with od below) and
# the kernel release, which tells why AMX is not usable (cpu.amx_usable_reason).
if has cpu; then
    set -- "$@" dev/cpu/0/cpuid/0x*
    has os || set -- "$@" proc/sys/kernel/osrelease
fi
if has numa || has memory; then
    set -- "$@" $N/online $N/possible $N/has_cpu $N/has_memory $N/node[0-9]*/cpulist \
        $N/node[0-9]*/meminfo proc/meminfo
    # Memory without CPUs: the node each CXL region's memory is onlined into, the kernel's memory tiers
    # and whether reclaim demotes to the slower tier (docs/facts.md numa.nodes[].kind).
    set -- "$@" sys/bus/cxl/devices/dax_region[0-9]*/dax[0-9]*/target_node \
        sys/devices/virtual/memory_tiering/memory_tier[0-9]*/nodelist sys/kernel/mm/numa/demotion_enabled
    # Some kernels and foreign snapshots give a node only its hex mask.
    [ -r $N/node0/cpulist ] || set -- "$@" $N/node[0-9]*/cpumap
    has os || set -- "$@" proc/sys/kernel/numa_balancing
fi
if has power; then
    set -- "$@" $C/cpu0/cpufreq/scaling_driver $C/cpu0/cpufreq/scaling_available_governors \
        $C/intel_pstate/status $C/intel_pstate/no_turbo $C/cpufreq/boost $C/cpuidle/current_driver \
        $C/cpu0/cpuidle/state[0-9]*/name $C/cpu0/cpuidle/state[0-9]*/latency
    PER_CPU="$PER_CPU cpufreq/scaling_governor cpufreq/energy_performance_preference power/energy_perf_bias"
    # Every CPU's flag for each of cpu0's idle states (the parser counts them over cpu0's states).
    for s in $C/cpu0/cpuidle/state[0-9]*; do PER_CPU="$PER_CPU cpuidle/${s##*/}/disable"; done
fi
if has os; then
    set -- "$@" proc/sys/kernel/osrelease proc/cmdline etc/os-release \
        sys/kernel/mm/transparent_hugepage/enabled sys/kernel/mm/transparent_hugepage/defrag \
        etc/profile.d/xeonfleet-ai.sh
    L=
    for s in $SYSCTLS; do L="$L proc/sys/$s"; done
    set -- "$@" $L
fi
if has devices; then
    set -- "$@" sys/class/net/*/operstate sys/class/net/*/speed sys/block/*/queue/rotational \
        sys/block/*/size
fi
if has frameworks; then
    set -- "$@" opt/xeonfleet/envs/*/xeonfleet-env.json
fi
# Knob reads (xeonfleet/knobs/; paths as in xeonfleet/parsers/sysfs_paths.py): uncore limits, PCIe links, and
# the MSR values of a snapshot (which stores each register read below as a text file dev/cpu/N/msr/ADDR).
# The uncore dies of either driver: package_*_die_* (MSR) and uncore[0-9]* (TPMI: with the die's ids, agents
# and efficiency latency control files).
if has power; then
    U=$C/intel_uncore_frequency
    set -- "$@" $U/package_*_die_*/*_freq_khz $U/uncore[0-9]*/*_freq_khz $U/uncore[0-9]*/package_id \
        $U/uncore[0-9]*/domain_id $U/uncore[0-9]*/agent_types $U/uncore[0-9]*/elc_*_percent \
        $U/uncore[0-9]*/elc_*_enable
    # A snapshot's registers are text files under dev/cpu/N/msr/; a live host's msr is a device (read below).
    [ -d dev/cpu/0/msr ] && set -- "$@" dev/cpu/[0-9]*/msr/0x*
fi
if has devices; then
    L=
    for a in current_link_speed current_link_width max_link_speed max_link_width numa_node; do
        L="$L sys/class/net/*/device/$a sys/class/nvme/*/device/$a"
    done
    set -- "$@" $L
fi

# The per-CPU paths, built by one awk from one listing of the CPU directories rather than globbed kind by
# kind: each such glob reads and stats every CPU's directory again (21 of a 224-CPU probe's 67 ms). A path
# a CPU lacks is skipped by grep -s, as a glob would have left it out.
if [ -n "$PER_CPU" ]; then
    if command -v awk >/dev/null 2>&1; then
        set -- "$@" $(printf '%s\n' $C/cpu[0-9]* | awk -v s="$PER_CPU" \
            'BEGIN { n = split(s, f, " ") } { for (i = 1; i <= n; i++) print $0 "/" f[i] }')
    else
        for s in $PER_CPU; do set -- "$@" $C/cpu[0-9]*/$s; done
    fi
fi

echo "@@@ text"
# -s: a glob that matched nothing or an unreadable file is silently skipped; '' keeps blank lines.
grep -s -H '' "$@" 2>/dev/null
# MSRs of the knobs (xeonfleet/knobs/msr.py) on the first CPU of each package, as text lines
# "dev/cpu/N/msr/ADDRESS:HEX": od reads the 8 bytes at the register's address, as rdmsr's pread does.
# The packages' first CPUs come from cpuinfo's "physical id" (x86 prints it for every CPU; CPU 0 without it).
# The device is root-only: the first register read decides how (via_root), once per run.
MSRS="0x1a4 0x1fc 0xe2"
if has power && [ -e dev/cpu/0/msr ] && [ ! -d dev/cpu/0/msr ] && command -v od >/dev/null 2>&1; then
    firsts=$(awk -F: '/^processor[ \t]*:/ { cpu = $2 + 0 }
                      /^physical id[ \t]*:/ { if (!(($2 + 0) in seen)) { seen[$2 + 0]; print cpu } }' proc/cpuinfo 2>/dev/null)
    how=
    for cpu in ${firsts:-0}; do
        for reg in $MSRS; do
            args="-An -v -tx8 -j $((reg)) -N 8"
            if [ -z "$how" ]; then via_root "dev/cpu/$cpu/msr" $args || break 2; how=1; fi
            v=$(od_root "dev/cpu/$cpu/msr" $args) && [ -n "$v" ] && echo "dev/cpu/$cpu/msr/$reg:${v##* }"
        done
    done
fi
# The CPUID leaves xeonfleet/parsers/cpuid.py decodes (its LEAVES), from CPU 0, as text lines
# "dev/cpu/0/cpuid/0xLEAF.0xSUBLEAF:EAX EBX ECX EDX". The cpuid driver answers a read at offset
# leaf | subleaf << 32 with 16 bytes a leaf, moving on one leaf per 16 bytes: one od per subleaf (CPUID_READS,
# first-last leaf, its leaf_runs) reads them all, and each od line (one leaf) is kept when CPUID_LEAVES names it.
# The device is root-only: the first read decides how (via_root).
CPUID_LEAVES="0x0.0x0 0x1.0x0 0x7.0x0 0x7.0x1 0xd.0x0 0xd.0x1 0x24.0x0"
CPUID_READS="0x0-0x24.0x0 0x7-0xd.0x1"
CPUID=dev/cpu/0/cpuid
if has cpu && [ -e $CPUID ] && [ ! -d $CPUID ] && command -v od >/dev/null 2>&1; then
    want=
    for l in $CPUID_LEAVES; do want="$want $((${l%%.*})).$((${l#*.}))"; done
    how=
    for r in $CPUID_READS; do
        first=$((${r%%-*})) last=${r#*-} sub=$((${r#*.}))
        last=$((${last%%.*}))
        args="-An -v -tx4 -j $(( first | (sub << 32) )) -N $(( 16 * (last - first + 1) ))"
        if [ -z "$how" ]; then via_root $CPUID $args || break; how=1; fi
        od_root $CPUID $args | {
            leaf=$first
            while read -r a b c d; do
                case "$want " in *" $leaf.$sub "*) printf '%s/0x%x.0x%x:%s %s %s %s\n' $CPUID $leaf $sub $a $b $c $d ;; esac
                leaf=$((leaf + 1))
            done
        }
    done
fi
# The root-only files this run could not read, in sections of their own after the text lines.
printf '%s' "$LATER"

if has memory; then
    DMI=sys/firmware/dmi/tables/DMI
    if [ -e "$DMI" ]; then
        LATER=
        if via_root "$DMI" -An -v -tx1; then
            echo "@@@ hex $DMI"
            od_root "$DMI" -An -v -tx1
        fi
        printf '%s' "$LATER"
    fi
fi
if has devices; then
    for d in sys/devices/virtual/net/* sys/devices/virtual/block/*; do
        [ -e "$d" ] && echo "@@@ virtual $d"
    done
fi
# The CPU drivers the facts read through (xeonfleet/knobs/cpu_drivers.py): their device exists, readable or not.
if has os; then
    for m in msr cpuid; do
        [ -e "dev/cpu/0/$m" ] && echo "@@@ device dev/cpu/0/$m"
    done
fi
if has tools; then
    for t in numactl cpupower dmidecode; do
        for d in usr/local/sbin usr/local/bin usr/sbin usr/bin sbin bin; do
            if [ -x "$d/$t" ]; then echo "@@@ tool $t /$d/$t"; break; fi
        done
    done
fi
# A snapshot taken by a login without the grants keeps the root-only reads it was refused (connect/snapshot.py).
if [ -n "$ROOT" ] && [ -r "$NEEDS_ROOT_LIST" ]; then
    while IFS= read -r f; do echo "@@@ unreadable $f needs-root"; done <"$NEEDS_ROOT_LIST"
fi
echo "@@@ end"
}

if [ -n "$PACK" ] && command -v gzip >/dev/null 2>&1 && command -v base64 >/dev/null 2>&1; then
    echo "@@@ packed gzip base64"
    # One line: the controller reads ~300 wrapped lines one call at a time. base64 -w 0 (coreutils, toybox, newer
    # busybox) does not wrap; a base64 without -w refuses it before reading, and tr drops the wrapping instead.
    probe | gzip -1 | { base64 -w 0 2>/dev/null || base64 | tr -d '\n'; }
    echo
else
    probe
fi
exit 0
