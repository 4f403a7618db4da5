// The IKE command of the control socket: ISAKMP SAs and the IPsec SA pairs
// negotiated on each, per peer.
#include "controlplane/ctl_commands.h"
#include "controlplane/ike_service.h"
#include "controlplane/names.h"
#include "controlplane/text_table.h"
#include "dataplane/config/config.h"

namespace l2tpgw::cp {

std::string render_ike_text(const IkeService& ike, std::chrono::steady_clock::time_point now) {
  TextTable t(
      {{"PEER"}, {"ID"}, {"STATE"}, {"ALGORITHMS"}, {"NAT"}, {"AGE", true}, {"LIFE-LEFT", true}});
  TextTable ipsec({{"PEER"},
                   {"SPI-IN"},
                   {"SPI-OUT"},
                   {"TRANSFORM"},
                   {"AGE", true},
                   {"LIFE-LEFT", true},
                   {"LIFE-KB", true}});
  const auto sas = ike.sas(now);
  std::size_t pairs = 0;
  for (const auto& sa : sas) {
    const std::string peer = format_ipv4(sa.peer_addr) + ":" + std::to_string(sa.peer_port);
    t.add({peer, sa.peer_id.empty() ? "-" : sa.peer_id, sa.state, sa.suite.empty() ? "-" : sa.suite,
           sa.nat.empty() ? "-" : sa.nat, std::to_string(sa.age.count()) + "s",
           sa.suite.empty() ? "-" : std::to_string(sa.life_left.count()) + "s"});
    for (const auto& s : sa.ipsec) {
      ++pairs;
      ipsec.add({peer, spi_hex(s.spi_in), spi_hex(s.spi_out), s.transform,
                 std::to_string(s.age.count()) + "s", std::to_string(s.life_left.count()) + "s",
                 s.life_kilobytes == 0 ? "-" : std::to_string(s.life_kilobytes)});
    }
  }
  const auto& c = ike.counters();
  return "IKE SAs\n" + t.render() + "\nIPsec SAs\n" + ipsec.render() + "\n" +
         std::to_string(sas.size()) + " IKE SAs (" + std::to_string(ike.half_open()) +
         " half-open), " + std::to_string(pairs) +
         " IPsec SA pairs; refused: " + std::to_string(c.half_open_per_peer) +
         " half-open per peer, " + std::to_string(c.half_open_total) + " half-open total, " +
         std::to_string(c.ike_sas_per_peer) + " IKE SAs per peer\n" +
         "datagrams ignored: " + std::to_string(c.malformed_ip) + " malformed IP/UDP, " +
         std::to_string(c.no_marker) + " 4500 without marker, " +
         std::to_string(c.malformed_isakmp) + " malformed ISAKMP, " + std::to_string(c.unknown_sa) +
         " unknown SA, " + std::to_string(c.wrong_peer) + " wrong peer, " +
         std::to_string(c.unsupported_exchange) + " unsupported exchange, " +
         std::to_string(c.dropped) + " dropped; " + std::to_string(c.retransmits) +
         " retransmits, " + std::to_string(c.tx_failed) + " tx failed, " +
         std::to_string(c.dp_refused) + " refused by the data plane\n";
}

}  // namespace l2tpgw::cp
