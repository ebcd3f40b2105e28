#!/bin/sh
# PID 1 of one lab host, run by `unshare -m -u -p -f --kill-child` (see fleet.py).
#
# It builds the host's view of the machine inside its private mount namespace, then becomes
# the host's sshd. Nothing here may reach the real machine: the root is an overlay with the
# host's own upper dir, /sys is the generated tree, /proc/sys is read-only except for the
# generated sysctl files bound over it, so a deploy's sysctl or sysfs write lands in this
# host's files and never in the real kernel.
#
# usage: host_init.sh STATE_DIR TREE_DIR HOSTNAME PORT SSH_DIR TREES_DIR LOGIN
# (TREE_DIR: this host's overlay of its profile's tree; TREES_DIR: the lab's tmpfs holding every host's;
# LOGIN: the user SSH logs in as, made here when it is not root, with no sudo rights until a test grants them)
set -eu

state=$1
tree=$2
name=$3
port=$4
ssh_dir=$5
trees=$6
login=${7:-root}
root=$state/merged

# The UTS namespace is ours: this renames only this host. Done before /proc/sys goes read-only.
echo "$name" >/proc/sys/kernel/hostname

mount --make-rprivate /
mount -t overlay overlay -o "lowerdir=/,upperdir=$state/upper,workdir=$state/work" "$root"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount --bind "$tree/sys" "$root/sys"
# The generated /dev/cpu (sparse files standing in for the msr driver's devices) hides the machine's
# own, so an MSR write by a deploy lands in this host's file and never in a real register. Without a
# /dev/cpu to mount on there is no msr device to hide either; the MSR knobs then read unknown.
mkdir -p "$tree/dev/cpu"
if [ -d "$root/dev/cpu" ]; then
    mount --bind "$tree/dev/cpu" "$root/dev/cpu"
else
    echo "lab host $name: this machine has no /dev/cpu to mount the generated MSR files on" >&2
fi

# Read-only first (the /proc paths Docker makes read-only), so a sysctl the profile does not
# define or an IRQ affinity write fails (EROFS) instead of changing the real kernel; each
# generated file bound on top below is a writable mount of its own.
for path in sys irq bus fs sysrq-trigger; do
    if [ -e "$root/proc/$path" ]; then
        mount --bind -o ro "$root/proc/$path" "$root/proc/$path"
    fi
done
(cd "$tree/proc" && find . -type f) | while IFS= read -r rel; do
    rel=${rel#./}
    case $rel in
    sys/kernel/hostname | sys/kernel/domainname) continue ;; # the UTS namespace already owns them
    esac
    if [ -e "$root/proc/$rel" ]; then
        mount --bind "$tree/proc/$rel" "$root/proc/$rel"
    else
        echo "lab host $name: /proc/$rel does not exist on this kernel; not shown" >&2
    fi
done

echo "$name" >"$root/etc/hostname"
# sudo looks its host name up and warns on every command when it cannot.
grep -q "[[:space:]]$name\$" "$root/etc/hosts" 2>/dev/null || echo "127.0.1.1 $name" >>"$root/etc/hosts"
if [ "$login" != root ] && ! chroot "$root" id -u "$login" >/dev/null 2>&1; then
    # '*' rather than useradd's '!': sshd (UsePAM no) refuses any login, keys too, to a locked account.
    chroot "$root" useradd -m -s /bin/sh -p '*' "$login"
fi
if [ "$login" != root ]; then
    # The lab key in the user's own ~/.ssh, as on a real server (sshd reads it as that user).
    ids=$(chroot "$root" id -u "$login"):$(chroot "$root" id -g "$login")
    home=$root$(chroot "$root" getent passwd "$login" | cut -d: -f6)
    mkdir -p "$home/.ssh"
    cp "$ssh_dir/authorized_keys" "$home/.ssh/authorized_keys"
    chown "$ids" "$home/.ssh" "$home/.ssh/authorized_keys"
    chmod 700 "$home/.ssh"
    chmod 600 "$home/.ssh/authorized_keys"
    # The lab's --sudoers drop-ins for that user (the lab's ssh/sudoers/), as an admin would install them.
    for f in "$ssh_dir"/sudoers/xeonfleet-*; do
        [ -e "$f" ] && install -m 0440 -o root -g root "$f" "$root/etc/sudoers.d/"
    done
fi
# A server's root has a plain shell. The build machine's ~/.bashrc (pyenv init: a rehash under a lock on
# every SSH command) would make each lab command slow, and stall it 60 s behind a lock left by a killed one.
cp /etc/skel/.bashrc "$root/root/.bashrc"
cp /etc/skel/.profile "$root/root/.profile"
mkdir -p "$root/run/sshd" "$root/etc/xeonfleet-lab"
mount --bind -o ro "$ssh_dir" "$root/etc/xeonfleet-lab"
# A lab under /dev (tests keep theirs on /dev/shm) came along with the rbind of /dev: drop its trees,
# or this host would see (and hold a copy of the mount of) every other host's tree.
if mountpoint -q "$root$trees"; then
    umount -l "$root$trees"
fi

# Make $root this namespace's root and drop every mount outside it. The namespace began as a copy of
# the controller's, which holds every lab host's tree overlay: kept, 1,000 hosts would hold a million
# mounts between them. pivot_root with new and old root the same dir stacks the old root on top, and
# the lazy unmount takes it (and all under it) away, leaving only what was mounted under $root.
cd "$root"
pivot_root . .
umount -l .
cd /
exec /usr/sbin/sshd -D -e -f /etc/xeonfleet-lab/sshd_config -p "$port"
