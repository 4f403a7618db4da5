// The gateway's configuration as both processes read it from one libconfig
// file. load_config validates everything at start and throws ConfigError
// whose text names the file, the line and what is wrong.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "dataplane/channel/messages.h"
#include "dataplane/wire/headers.h"
#include "dataplane/wire/ipv4.h"
#include "dataplane/wire/ipv6.h"

namespace l2tpgw {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Ipv4Prefix {
  std::uint32_t addr = 0;  // host order
  std::uint8_t len = 32;

  bool contains(std::uint32_t a) const noexcept {
    return wire::in_prefix(a, addr, len);
  }
};

struct Ipv6Prefix {
  wire::Ipv6Addr addr{};
  std::uint8_t len = 128;

  bool contains(const wire::Ipv6Addr& a) const noexcept {
    for (unsigned bit = 0; bit < len; bit += 8) {
      const unsigned n = len - bit >= 8 ? 8 : len - bit;
      const auto mask = static_cast<std::uint8_t>(0xff00u >> n);
      if (((a[bit / 8] ^ addr[bit / 8]) & mask) != 0) {
        return false;
      }
    }
    return true;
  }
};

struct Neighbor {
  std::uint32_t addr = 0;
  wire::Mac mac{};
};

struct Neighbor6 {
  wire::Ipv6Addr addr{};
  wire::Mac mac{};
};

enum class PortRole : std::uint8_t { outside, inside };

struct PortConfig {
  std::string name;        // the operator's name: "outside", "inside"
  PortRole role = PortRole::outside;
  std::string device;      // an existing DPDK port by name (PCI address, or a --vdev name)
  std::string vdev;        // or a virtual device the data plane creates: "net_tap0,iface=x"
  Ipv4Prefix address;      // our address on this port and its on-link subnet
  std::optional<wire::Mac> mac;          // overrides the port's own MAC (key "mac")
  std::optional<std::uint32_t> gateway;  // next hop for everything off-link
  std::vector<Neighbor> neighbors;       // static ARP entries
  // The link's IPv4 MTU (key "mtu"). On the outside port it bounds every
  // ESP packet, so it sets each session's tunnel MTU (wire/tunnel_mtu.h).
  std::uint16_t mtu = 1500;
  // IPv6 on the inside port (keys "ipv6_address", "ipv6_gateway"): where
  // sessions' IPv6 traffic leaves, neighbours found by NDP.
  std::optional<Ipv6Prefix> address6;
  std::optional<wire::Ipv6Addr> gateway6;
  std::vector<Neighbor6> neighbors6;  // static entries (key "ipv6_neighbors")
  int line = 0;
};

// What to do with an inner IPv4 packet without DF that is larger than its
// session's tunnel MTU (packets with DF always get ICMP "fragmentation
// needed", RFC 1191).
enum class InnerTooBig : std::uint8_t { fragment, icmp, drop };

struct DataplaneConfig {
  std::vector<unsigned> worker_lcores{1};
  std::string channel = "default";   // shared segment /dev/shm/l2tpgw-<channel>
  std::uint32_t max_sas = 4096;
  std::uint32_t max_sessions = 65536;
  std::uint32_t mbufs = 16383;
  std::uint32_t replay_window = 64;  // default for SAs that do not set one
  std::uint32_t punt_rate = 2000;    // packets per second per worker
  std::uint32_t punt_burst = 256;
  // TCP MSS that SYNs crossing a session are clamped to (0: off), so inner
  // TCP never needs fragmenting: a 1500-byte outside MTU less the worst
  // overhead (IPv4 20 + NAT-T UDP 8 + ESP 8 + CBC IV 16 + padding and trailer
  // 17 + ICV 16 + UDP 8 + L2TP 16 + PPP 4 + MPPE 4 = 117) leaves 1383 bytes
  // for the inner packet, 1343 of them TCP payload; 1320 keeps a margin.
  // Keep it at or below the smallest tunnel MTU less 40 (IPv4 and TCP
  // headers; 60 for IPv6), or clamped TCP still meets the too-big path.
  std::uint16_t tcp_mss = 1320;
  InnerTooBig inner_too_big = InnerTooBig::fragment;
  // ICMP errors the data plane originates (fragmentation needed), per
  // second per worker, and the bucket's depth: a flood of oversized packets
  // must not turn the gateway into an ICMP source at line rate.
  std::uint32_t icmp_rate = 1000;
  std::uint32_t icmp_burst = 50;
};

struct ControlplaneConfig {
  std::string socket = "/run/l2tpgw/ctl.sock";
  std::string log_level = "info";
  // Where established IKE SAs, tunnels and sessions are kept across a
  // restart of the control plane; empty: not kept. Default: the socket's
  // path with ".state" for ".sock" (/run/l2tpgw/ctl.state), so that two
  // gateways on one host never share it.
  std::string state_file = "/run/l2tpgw/ctl.state";
};

struct SaConfig {
  channel::SaParams params{};  // local_addr filled from the outside port
  int line = 0;
};

struct SessionConfig {
  channel::SessionParams params{};
  int line = 0;
};

struct Config {
  std::string file;
  DataplaneConfig dataplane;
  ControlplaneConfig controlplane;
  std::vector<PortConfig> ports;
  std::vector<SaConfig> sas;
  std::vector<SessionConfig> sessions;

  const PortConfig* port(PortRole role) const noexcept {
    for (const auto& p : ports) {
      if (p.role == role) {
        return &p;
      }
    }
    return nullptr;
  }
};

Config load_config(const std::string& path);

// Parsers shared with the CLI; nullopt on anything malformed.
std::optional<std::uint32_t> parse_ipv4(const std::string& s);
std::optional<Ipv4Prefix> parse_prefix(const std::string& s);
std::optional<wire::Mac> parse_mac(const std::string& s);
std::string format_ipv4(std::uint32_t host_order);
std::string format_mac(const wire::Mac& m);
std::optional<wire::Ipv6Addr> parse_ipv6(const std::string& s);
std::optional<Ipv6Prefix> parse_prefix6(const std::string& s);  // "2001:db8::1/64"
std::string format_ipv6(const wire::Ipv6Addr& a);

}  // namespace l2tpgw
