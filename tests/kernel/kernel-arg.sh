# kernel-arg.sh --- the kernel a tests/kernel script boots, sourced by each
# script before it parses its other arguments.
#
# "--kernel K" (first argument) or ORACLE_KERNEL=K picks the oracle's kernel:
# 6.1 (the default) or 6.12; it is exported as ORACLE_KERNEL for run-guest
# and check-image. "--kernel both" (or ORACLE_KERNEL=both) runs the script
# once per kernel, 6.1 then 6.12 (one guest at a time), and exits 1 when
# either run failed.
if [ "${1:-}" = "--kernel" ]; then
	ORACLE_KERNEL=${2:?--kernel needs 6.1, 6.12 or both}
	shift 2
fi
ORACLE_KERNEL=${ORACLE_KERNEL:-6.1}
case $ORACLE_KERNEL in
6.1|6.12)
	export ORACLE_KERNEL ;;
both)
	both_rc=0
	for k in 6.1 6.12; do
		ORACLE_KERNEL=$k "$0" "$@" || both_rc=1
	done
	exit $both_rc ;;
*)
	echo "$0: the kernel is 6.1, 6.12 or both, not '$ORACLE_KERNEL'" >&2
	exit 16 ;;
esac
