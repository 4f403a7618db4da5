#!/usr/bin/env bash
# Brings a fresh Debian 12 machine (as root) to the point where l2tpgw builds,
# tests and runs: Debian packages, 2 MB hugepages and a mounted hugetlbfs.
# Idempotent: a second run changes nothing and takes a second.
set -euo pipefail

packages=(
  build-essential pkg-config meson ninja-build
  dpdk dpdk-dev libdpdk-dev libipsec-mb-dev libssl-dev libconfig++-dev
  libgtest-dev libbenchmark-dev libpcap-dev nlohmann-json3-dev
  python3-scapy python3-cryptography
  iproute2 tcpdump iputils-ping ethtool nftables procps openssl
  # Third-party peers of the interoperability tests.
  xl2tpd softether-vpnserver softether-vpncmd
  strongswan-charon strongswan-swanctl strongswan-pki libcharon-extra-plugins libstrongswan-standard-plugins
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 512 x 2 MB: the data plane's pools plus a control-plane test run side by side
# with the pipeline tests; 1 GiB of 24 is cheap.
want=${L2TPGW_HUGEPAGES:-512}
nr=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
if (( $(cat "$nr") < want )); then
  echo "$want" > "$nr"
fi
mkdir -p /dev/hugepages
mountpoint -q /dev/hugepages || mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages
