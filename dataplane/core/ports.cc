#include "dataplane/core/ports.h"

#include <rte_bus_vdev.h>
#include <rte_ethdev.h>

#include <cstring>
#include <stdexcept>
#include <string>

namespace l2tpgw {
namespace {

// Descriptor ring sizes: 1024 absorbs a burst of control-plane work on the
// worker without RX drops; virtual devices clamp them to what they support.
constexpr std::uint16_t rx_desc = 1024;
constexpr std::uint16_t tx_desc = 1024;

std::runtime_error port_error(const PortConfig& pc, const std::string& what, int rc = 0) {
  std::string msg = pc.name + " (" + (pc.vdev.empty() ? pc.device : pc.vdev) + "): " + what;
  if (rc != 0) {
    msg += ": ";
    msg += std::strerror(rc < 0 ? -rc : rc);
  }
  return std::runtime_error(msg);
}

std::uint16_t find_port(const PortConfig& pc) {
  std::string name = pc.device;
  if (!pc.vdev.empty()) {
    const auto comma = pc.vdev.find(',');
    name = pc.vdev.substr(0, comma);
    const std::string args = comma == std::string::npos ? "" : pc.vdev.substr(comma + 1);
    const int rc = rte_vdev_init(name.c_str(), args.c_str());
    if (rc != 0) {
      throw port_error(pc, "cannot create virtual device", rc);
    }
  }
  std::uint16_t id = 0;
  if (rte_eth_dev_get_port_by_name(name.c_str(), &id) != 0) {
    throw port_error(pc, "no such DPDK port (give it with --vdev or -a, or as vdev in the config)");
  }
  return id;
}

void configure(const PortConfig& pc, std::uint16_t id, rte_mempool* pool, unsigned n_workers) {
  rte_eth_conf conf{};
  int rc = rte_eth_dev_configure(id, 1, static_cast<std::uint16_t>(n_workers), &conf);
  if (rc != 0) {
    throw port_error(pc, "cannot configure 1 RX and " + std::to_string(n_workers) + " TX queues", rc);
  }
  std::uint16_t nrx = rx_desc;
  std::uint16_t ntx = tx_desc;
  rte_eth_dev_adjust_nb_rx_tx_desc(id, &nrx, &ntx);
  const int socket = rte_eth_dev_socket_id(id);
  const unsigned sock = socket < 0 ? 0u : static_cast<unsigned>(socket);
  if ((rc = rte_eth_rx_queue_setup(id, 0, nrx, sock, nullptr, pool)) != 0) {
    throw port_error(pc, "cannot set up the RX queue", rc);
  }
  for (unsigned q = 0; q < n_workers; ++q) {
    if ((rc = rte_eth_tx_queue_setup(id, static_cast<std::uint16_t>(q), ntx, sock, nullptr)) != 0) {
      throw port_error(pc, "cannot set up TX queue " + std::to_string(q), rc);
    }
  }
  if (pc.mac) {
    rte_ether_addr a{};
    std::memcpy(a.addr_bytes, pc.mac->data(), 6);
    rc = rte_eth_dev_default_mac_addr_set(id, &a);
    // Devices that cannot change their address (net_pcap, some VFs) still
    // get the configured one: the worker filters on it and writes it as the
    // source itself, and promiscuous mode lets such frames in.
    if (rc == -ENOTSUP) {
      rc = rte_eth_promiscuous_enable(id);
      if (rc != 0 && rc != -ENOTSUP) {
        throw port_error(pc, "cannot set the MAC address nor enter promiscuous mode", rc);
      }
    } else if (rc != 0) {
      throw port_error(pc, "cannot set the MAC address", rc);
    }
  }
  if ((rc = rte_eth_dev_start(id)) != 0) {
    throw port_error(pc, "cannot start", rc);
  }
}

}  // namespace

void ports_start(Runtime& rt, const Config& cfg, unsigned n_workers) {
  for (const PortConfig& pc : cfg.ports) {
    PortInfo p;
    p.index = static_cast<std::uint8_t>(rt.ports.size());
    p.port_id = find_port(pc);
    configure(pc, p.port_id, rt.pool, n_workers);
    p.role = pc.role;
    p.addr = pc.address.addr;
    p.net = pc.address;
    p.gateway = pc.gateway;
    p.mtu = pc.mtu;
    if (pc.address6) {
      p.has_v6 = true;
      p.addr6 = pc.address6->addr;
      p.net6 = *pc.address6;
      p.gateway6 = pc.gateway6;
      p.solicited6 = wire::solicited_node(p.addr6);
    }
    p.neighbors6 = std::make_shared<Neighbor6Table>();
    for (const Neighbor6& n : pc.neighbors6) {
      p.neighbors6->add_static(n.addr, n.mac);
    }
    p.rx_worker = p.index % n_workers;
    if (pc.mac) {
      p.mac = *pc.mac;
    } else {
      rte_ether_addr a{};
      rte_eth_macaddr_get(p.port_id, &a);
      std::memcpy(p.mac.data(), a.addr_bytes, 6);
    }
    p.neighbors = std::make_shared<NeighborTable>();
    for (const Neighbor& n : pc.neighbors) {
      p.neighbors->add_static(n.addr, n.mac);
    }
    if (pc.role == PortRole::outside) {
      rt.outside = p.index;
    } else {
      rt.inside = p.index;
    }
    std::snprintf(rt.seg->header().port_names[p.index], sizeof rt.seg->header().port_names[0], "%s",
                  pc.name.c_str());
    rt.ports.push_back(p);
  }
}

void ports_stop(Runtime& rt) {
  for (PortInfo& p : rt.ports) {
    rte_eth_dev_stop(p.port_id);
    rte_eth_dev_close(p.port_id);
  }
}

void ports_snapshot(const Runtime& rt) {
  auto counters = rt.seg->port_counters();
  for (const PortInfo& p : rt.ports) {
    rte_eth_stats s{};
    if (rte_eth_stats_get(p.port_id, &s) != 0) {
      continue;
    }
    PortCounters& c = counters[p.index];
    c.ipackets = s.ipackets;
    c.opackets = s.opackets;
    c.ibytes = s.ibytes;
    c.obytes = s.obytes;
    c.imissed = s.imissed;
    c.ierrors = s.ierrors;
    c.oerrors = s.oerrors;
    c.rx_nombuf = s.rx_nombuf;
  }
}

}  // namespace l2tpgw
