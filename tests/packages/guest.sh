#!/bin/bash
# SPDX-License-Identifier: MIT OR Apache-2.0
# Runs inside the Debian guest of scripts/package-test.sh, as root, once per boot, with
# TERN_VERSION set to the TERN packages' version:
#
#   guest.sh install DEBS TAP   first boot (the dev kernel, not yet installed): install the
#                               kernel and TERN packages with dpkg, check what DKMS built, try
#                               the driver on Debian's own kernel (refused), install a second
#                               kernel (DEBS/second) and see DKMS build for it
#   guest.sh boot TAP           second boot, from the installed kernel: autoload, the node's
#                               group and mode, users in and out of the group, removal
#
# Writes TAP to TAP (the plan last); diagnostics start with "#".
set -u
PHASE=$1
n=0
TAP=${!#}
: >"$TAP"
result() { # NAME RC [DIAG...]
	local name=$1 rc=$2
	shift 2
	n=$((n + 1))
	for d in "$@"; do printf '# %s: %s\n' "$name" "$d" >>"$TAP"; done
	if [ "$rc" = 0 ]; then echo "ok $n $name" >>"$TAP"; else echo "not ok $n $name" >>"$TAP"; fi
}
KREL=$(uname -r)
# The packages' version (the workspace's) and the second kernel's release, from
# scripts/package-test.sh.
VERSION=${TERN_VERSION:?TERN_VERSION: the version of the TERN packages}
SECOND=${TERN_SECOND_KREL:?TERN_SECOND_KREL: the release of the second kernel}
MOD=/lib/modules/$KREL/updates/dkms/tern.ko
RULE=/lib/udev/rules.d/60-tern.rules
# dpkg without fsync: the guest's root is a 9p export and fsync of every file costs minutes.
DPKG=(dpkg --force-unsafe-io)

install_phase() {
	local debs=$1 out rc t0
	cd "$debs" || exit 1
	t0=$SECONDS
	out=$("${DPKG[@]}" -i linux-image-"$KREL"_*.deb linux-headers-"$KREL"_*.deb 2>&1)
	rc=$?
	result kernel_packages_install $rc "$((SECONDS - t0)) s" "$(echo "$out" | tail -3 | tr '\n' ' ')"
	result headers_carry_the_rust_metadata "$([ -f "/usr/src/linux-headers-$KREL/rust/libkernel.rmeta" ]; echo $?)"

	t0=$SECONDS
	out=$("${DPKG[@]}" -i tern-firmware_*.deb tern-tools_*.deb tern-dkms_*.deb 2>&1)
	rc=$?
	result tern_packages_install $rc "$((SECONDS - t0)) s (the DKMS build included)" "$(echo "$out" | grep -iE 'error|fail|tern:' | head -3 | tr '\n' ' ')"
	local log=/var/lib/dkms/tern/$VERSION/$KREL/x86_64/log/make.log
	local status
	status=$(dkms status -m tern -v "$VERSION" -k "$KREL" 2>&1)
	result dkms_built_tern_at_install "$(echo "$status" | grep -q ': installed$'; echo $?)" "$status" \
		"build started $(sed -n 2p "$log" 2>/dev/null), finished $(date -r "$log" 2>/dev/null)"
	result module_is_in_updates_dkms "$([ -f "$MOD" ]; echo $?)"
	result module_has_the_pci_alias "$(modinfo -F alias "$MOD" 2>/dev/null | grep -q '^pci:v00001234d00007E50'; echo $?)" \
		"$(modinfo -F alias "$MOD" 2>&1 | head -1)"
	result modules_dep_lists_tern "$(grep -q 'updates/dkms/tern.ko' "/lib/modules/$KREL/modules.dep"; echo $?)"
	result udev_rule_installed "$(grep -q 'GROUP="render", MODE="0660"' "$RULE"; echo $?)"
	result firmware_installed "$([ -s /lib/firmware/tern/tern-fw-v1.bin ]; echo $?)"
	result tool_installed "$(command -v tern >/dev/null; echo $?)"

	# Debian's own kernel (bookworm's linux-headers-amd64) has no Rust: DKMS refuses it, with
	# one line of ours naming what it lacks, and skips it (77) instead of failing.
	local deb_krel
	deb_krel=$(ls /usr/src | sed -n 's/^linux-headers-\(.*-amd64\)$/\1/p' | head -1)
	out=$(dkms build -m tern -v "$VERSION" -k "$deb_krel" 2>&1 >/dev/null)
	rc=$?
	local ours
	ours=$(echo "$out" | grep -c '^tern: ')
	result debian_kernel_is_refused "$([ $rc = 77 ] && [ "$ours" = 1 ] && echo "$out" | grep -q "^tern: kernel $deb_krel lacks CONFIG_RUST=y"; echo $?)" \
		"dkms build -k $deb_krel: exit $rc" "$(echo "$out" | head -3 | tr '\n' '|')"
	result debian_kernel_has_no_module "$([ ! -e "/lib/modules/$deb_krel/updates/dkms/tern.ko" ]; echo $?)"

	# A second kernel, installed after the driver (built with Clang): its packages' hooks make
	# DKMS build tern.ko for it, with the LLVM it was built by, and nobody runs dkms.
	t0=$SECONDS
	out=$("${DPKG[@]}" -i second/linux-image-"$SECOND"_*.deb second/linux-headers-"$SECOND"_*.deb 2>&1)
	rc=$?
	result second_kernel_install $rc "$((SECONDS - t0)) s (the DKMS build included)" "$(echo "$out" | grep -iE 'error|fail|tern:' | head -3 | tr '\n' ' ')"
	status=$(dkms status -m tern -v "$VERSION" -k "$SECOND" 2>&1)
	result dkms_built_for_the_second_kernel "$(echo "$status" | grep -q ': installed$'; echo $?)" "$status"
	local mod2=/lib/modules/$SECOND/updates/dkms/tern.ko magic
	magic=$(modinfo -F vermagic "$mod2" 2>&1)
	result second_module_matches_its_kernel "$(echo "$magic" | grep -q "^$SECOND "; echo $?)" "vermagic: $magic"
	result first_module_untouched "$(modinfo -F vermagic "$MOD" 2>/dev/null | grep -q "^$KREL "; echo $?)"
}

boot_phase() {
	result booted_the_installed_kernel "$([ -f "/boot/vmlinuz-$KREL" ] && grep -q "$KREL" /proc/version; echo $?)" "$(cat /proc/version)"
	# udev loads the module by modalias when it sees the device; nobody runs modprobe.
	local i
	for i in $(seq 60); do [ -e /dev/accel/accel0 ] && break; sleep 1; done
	result module_autoloaded "$(grep -q '^tern ' /proc/modules; echo $?)" "$(modinfo -F filename tern 2>&1)"
	result accel_node_appears "$([ -c /dev/accel/accel0 ]; echo $?)"
	local mode
	mode=$(stat -c '%G %a' /dev/accel/accel0 2>&1)
	result accel_node_is_render_0660 "$([ "$mode" = "render 660" ]; echo $?)" "$mode"
	local out rc
	out=$(runuser -u alice -- tern info 2>&1)
	rc=$?
	result render_user_runs_tern_info $rc "$(echo "$out" | head -2 | tr '\n' ' ')"
	out=$(runuser -u alice -- tern gemm 32 32 32 2>&1)
	rc=$?
	result render_user_runs_a_job $rc "$(echo "$out" | tail -1)"
	out=$(runuser -u bob -- tern info 2>&1)
	rc=$?
	result other_user_is_refused "$([ $rc != 0 ] && echo "$out" | grep -qi 'permission denied'; echo $?)" "exit $rc: $(echo "$out" | head -1)"

	out=$("${DPKG[@]}" -r tern-dkms tern-tools tern-firmware 2>&1)
	rc=$?
	result packages_remove $rc "$(echo "$out" | tail -2 | tr '\n' ' ')"
	result module_gone_from_disk "$([ ! -e "$MOD" ] && ! grep -q 'tern.ko' "/lib/modules/$KREL/modules.dep" &&
		[ ! -e "/lib/modules/$SECOND/updates/dkms/tern.ko" ]; echo $?)"
	result udev_rule_gone "$([ ! -e "$RULE" ]; echo $?)"
	result dkms_forgot_tern "$([ -z "$(dkms status -m tern 2>&1)" ] && [ ! -e "/usr/src/tern-$VERSION" ]; echo $?)" "$(dkms status -m tern 2>&1)"
	result firmware_and_tool_gone "$([ ! -e /lib/firmware/tern/tern-fw-v1.bin ] && ! command -v tern >/dev/null; echo $?)"
}

case $PHASE in
install) install_phase "$2" ;;
boot) boot_phase ;;
*) echo "# unknown phase $PHASE" >>"$TAP" ;;
esac
echo "1..$n" >>"$TAP"
