// The ports ( ) section: which DPDK port plays which role, our address on it
// and how to reach its neighbours.
#include <set>

#include "dataplane/config/sections.h"

namespace l2tpgw::config_detail {
namespace {

constexpr std::size_t max_ports = 4;      // channel::max_ports: counters in the segment
constexpr std::size_t max_name_len = 31;  // SegmentHeader::port_names[][32]

std::uint32_t read_addr(const Reader& r, const Setting& s) {
  const auto a = parse_ipv4(r.as_string(s));
  if (!a) {
    r.fail(s, "'" + std::string(s.getName()) + "' is not an IPv4 address: '" + r.as_string(s) +
                  "'");
  }
  return *a;
}

Ipv4Prefix read_prefix(const Reader& r, const Setting& s) {
  const std::string text = r.as_string(s);
  const auto p = parse_prefix(text);
  if (!p) {
    r.fail(s, "'address' must be an IPv4 address with its prefix length, like 192.0.2.1/24: '" +
                  text + "'");
  }
  if (p->len == 0 || p->addr == 0) {
    r.fail(s, "'address' " + text + " is not a usable interface address");
  }
  return *p;
}

wire::Mac read_mac(const Reader& r, const Setting& s) {
  const auto m = parse_mac(r.as_string(s));
  if (!m) {
    r.fail(s, "'mac' is not a MAC address like 02:00:00:00:00:01: '" + r.as_string(s) + "'");
  }
  if ((*m)[0] & 1u) {
    r.fail(s, "'mac' " + format_mac(*m) + " is a multicast address, not a neighbour's");
  }
  if (*m == wire::Mac{}) {
    r.fail(s, "'mac' must not be all zeros");
  }
  return *m;
}

Neighbor read_neighbor(const Reader& r, const Setting& s, const Ipv4Prefix& subnet) {
  r.require_group(s);
  r.check_keys(s, {"address", "mac"});
  Neighbor n;
  const Setting& a = r.require(s, "address");
  n.addr = read_addr(r, a);
  if (!subnet.contains(n.addr)) {
    r.fail(a, "neighbour " + format_ipv4(n.addr) + " is not on the port's subnet");
  }
  n.mac = read_mac(r, r.require(s, "mac"));
  return n;
}

// IPv6 is carried between sessions and the inside network only.
void read_ipv6(const Reader& r, const Setting& s, PortConfig& p) {
  if (const Setting* a = r.find(s, "ipv6_address")) {
    const auto pre = parse_prefix6(r.as_string(*a));
    if (!pre || pre->len == 0 || pre->len > 127 || wire::is_multicast(pre->addr) ||
        wire::is_unspecified(pre->addr)) {
      r.fail(*a, "'ipv6_address' must be a unicast IPv6 address with its prefix length, like "
                 "2001:db8::1/64: '" + r.as_string(*a) + "'");
    }
    if (p.role != PortRole::inside) {
      r.fail(*a, "'ipv6_address' is only for the inside port");
    }
    p.address6 = *pre;
  }
  if (const Setting* g = r.find(s, "ipv6_gateway")) {
    const auto gw = parse_ipv6(r.as_string(*g));
    if (!p.address6) {
      r.fail(*g, "'ipv6_gateway' needs 'ipv6_address'");
    }
    if (!gw || wire::is_multicast(*gw) || wire::is_unspecified(*gw) || *gw == p.address6->addr ||
        (!p.address6->contains(*gw) && !wire::is_link_local(*gw))) {
      r.fail(*g, "'ipv6_gateway' must be another unicast address on the port's prefix or a link-local "
                 "one: '" + r.as_string(*g) + "'");
    }
    p.gateway6 = *gw;
  }
  if (const Setting* n = r.find(s, "ipv6_neighbors")) {
    if (!p.address6) {
      r.fail(*n, "'ipv6_neighbors' needs 'ipv6_address'");
    }
    r.require_list(*n);
    for (const Setting& e : *n) {
      r.require_group(e);
      r.check_keys(e, {"address", "mac"});
      const Setting& a = r.require(e, "address");
      const auto addr = parse_ipv6(r.as_string(a));
      if (!addr || wire::is_multicast(*addr) || wire::is_unspecified(*addr) ||
          (!p.address6->contains(*addr) && !wire::is_link_local(*addr))) {
        r.fail(a, "IPv6 neighbour '" + r.as_string(a) + "' is not a unicast address on the port's prefix");
      }
      p.neighbors6.push_back({*addr, read_mac(r, r.require(e, "mac"))});
    }
  }
}

PortRole read_role(const Reader& r, const Setting& s) {
  const std::string role = r.as_string(s);
  if (role == "outside") {
    return PortRole::outside;
  }
  if (role == "inside") {
    return PortRole::inside;
  }
  r.fail(s, "'role' is '" + role + "', must be \"outside\" or \"inside\"");
}

void read_device(const Reader& r, const Setting& s, PortConfig& p) {
  const auto device = r.opt_string(s, "device");
  const auto vdev = r.opt_string(s, "vdev");
  if (device.has_value() == vdev.has_value()) {
    r.fail(s, "port '" + p.name + "' needs exactly one of 'device' or 'vdev'");
  }
  const char* key = device ? "device" : "vdev";
  if (device.value_or(vdev.value_or("")).empty()) {
    r.fail(s[key], std::string("'") + key + "' of port '" + p.name + "' is empty");
  }
  p.device = device.value_or("");
  p.vdev = vdev.value_or("");
}

void read_gateway(const Reader& r, const Setting& s, PortConfig& p) {
  const Setting* g = r.find(s, "gateway");
  if (g == nullptr) {
    return;
  }
  p.gateway = read_addr(r, *g);
  if (!p.address.contains(*p.gateway) || *p.gateway == p.address.addr) {
    r.fail(*g, "gateway " + format_ipv4(*p.gateway) +
                   " must be another address on the port's subnet");
  }
}

PortConfig read_port(const Reader& r, const Setting& s) {
  r.require_group(s);
  r.check_keys(s, {"name", "role", "device", "vdev", "address", "mac", "gateway", "neighbors", "mtu",
                   "ipv6_address", "ipv6_gateway", "ipv6_neighbors"});
  PortConfig p;
  p.line = static_cast<int>(s.getSourceLine());
  const Setting& name = r.require(s, "name");
  p.name = r.as_string(name);
  if (p.name.empty() || p.name.size() > max_name_len) {
    r.fail(name, "port 'name' must be 1.." + std::to_string(max_name_len) + " characters");
  }
  p.role = read_role(r, r.require(s, "role"));
  read_device(r, s, p);
  p.address = read_prefix(r, r.require(s, "address"));
  if (const Setting* m = r.find(s, "mac")) {
    p.mac = read_mac(r, *m);
  }
  read_gateway(r, s, p);
  // 576: every IPv4 host must accept datagrams of that size (RFC 791 §3.1);
  // 9216: the largest jumbo frame switches carry.
  p.mtu = static_cast<std::uint16_t>(r.opt_int(s, "mtu", 576, 9216).value_or(p.mtu));
  read_ipv6(r, s, p);
  if (const Setting* n = r.find(s, "neighbors")) {
    r.require_list(*n);
    for (const Setting& e : *n) {
      p.neighbors.push_back(read_neighbor(r, e, p.address));
    }
  }
  return p;
}

bool overlap(const Ipv4Prefix& a, const Ipv4Prefix& b) {
  return a.contains(b.addr) || b.contains(a.addr);
}

// Each port must be distinct in name and subnet, or routing is ambiguous.
void check_unique(const Reader& r, const Setting& list, const std::vector<PortConfig>& ports) {
  for (std::size_t i = 0; i < ports.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (ports[i].name == ports[j].name) {
        r.fail(list[static_cast<int>(i)]["name"], "port name '" + ports[i].name +
                                              "' is already used by the port at line " +
                                              std::to_string(ports[j].line));
      }
      if (overlap(ports[i].address, ports[j].address)) {
        r.fail(list[static_cast<int>(i)]["address"], "the subnet of port '" + ports[i].name +
                                              "' overlaps that of port '" + ports[j].name +
                                              "' at line " + std::to_string(ports[j].line));
      }
    }
  }
}

void check_roles(const Reader& r, const Setting& list, const std::vector<PortConfig>& ports) {
  std::size_t outside = 0;
  std::size_t inside = 0;
  for (std::size_t i = 0; i < ports.size(); ++i) {
    auto& n = ports[i].role == PortRole::outside ? outside : inside;
    if (++n > 1) {
      r.fail(list[static_cast<int>(i)]["role"],
             std::string("a second port with role ") +
                 (ports[i].role == PortRole::outside ? "outside" : "inside") +
                 " (only one is allowed)");
    }
  }
  if (outside == 0) {
    r.fail(list, "no port with role \"outside\" (exactly one is required)");
  }
}

}  // namespace

std::vector<PortConfig> read_ports(const Reader& r, const Setting& list) {
  r.require_list(list);
  if (list.getLength() == 0 || static_cast<std::size_t>(list.getLength()) > max_ports) {
    r.fail(list, "'ports' must list 1.." + std::to_string(max_ports) + " ports");
  }
  std::vector<PortConfig> ports;
  for (const Setting& s : list) {
    ports.push_back(read_port(r, s));
  }
  check_unique(r, list, ports);
  check_roles(r, list, ports);
  return ports;
}

}  // namespace l2tpgw::config_detail
