// The IKE command of the control socket: ISAKMP SAs and the IPsec SA pairs
// negotiated on each, per peer, with the data plane's counters of each SA
// so one command answers "is this peer's traffic flowing".
#include <nlohmann/json.hpp>

#include "controlplane/ctl_commands.h"
#include "controlplane/ctl_view.h"
#include "controlplane/ike_service.h"
#include "controlplane/names.h"
#include "controlplane/text_table.h"
#include "dataplane/config/config.h"

namespace l2tpgw::cp {
namespace {

using nlohmann::json;

// The data plane's counters of one SA of a pair; absent when no data plane
// is attached or the SA is not (or no longer) installed there.
struct PairCounters {
  std::optional<SaCounters> in;
  std::optional<SaCounters> out;
};

PairCounters find_counters(const std::vector<SaView>& dp, const IpsecSaView& s) {
  PairCounters c;
  for (const auto& v : dp) {
    if (v.params.dir == channel::Direction::in && v.params.spi == s.spi_in) {
      c.in = v.counters;
    } else if (v.params.dir == channel::Direction::out && v.params.spi == s.spi_out) {
      c.out = v.counters;
    }
  }
  return c;
}

std::string packets_text(const std::optional<SaCounters>& c) {
  return c ? std::to_string(c->packets) : "-";
}

json counters_json(const std::optional<SaCounters>& c) {
  if (!c) {
    return nullptr;
  }
  return {{"packets", c->packets},
          {"bytes", c->bytes},
          {"auth_failures", c->auth_failures},
          {"replay_drops", c->replay_drops},
          {"decrypt_errors", c->decrypt_errors},
          {"expired_drops", c->expired_drops}};
}

std::vector<SaView> dp_sas(const channel::Segment* seg) {
  return seg == nullptr ? std::vector<SaView>{} : collect_sas(*seg);
}

}  // namespace

std::string render_ike_text(const IkeService& ike, std::chrono::steady_clock::time_point now,
                            const channel::Segment* seg) {
  TextTable t(
      {{"PEER"}, {"ID"}, {"MODE"}, {"STATE"}, {"ALGORITHMS"}, {"NAT"}, {"AGE", true}, {"LIFE-LEFT", true}});
  TextTable ipsec({{"PEER"},
                   {"SPI-IN"},
                   {"SPI-OUT"},
                   {"TRANSFORM"},
                   {"AGE", true},
                   {"LIFE-LEFT", true},
                   {"LIFE-KB", true},
                   {"PKTS-IN", true},
                   {"PKTS-OUT", true}});
  const auto sas = ike.sas(now);
  const auto dp = dp_sas(seg);
  std::size_t pairs = 0;
  for (const auto& sa : sas) {
    const std::string peer = format_ipv4(sa.peer_addr) + ":" + std::to_string(sa.peer_port);
    t.add({peer, sa.peer_id.empty() ? "-" : sa.peer_id, sa.mode, sa.state, sa.suite.empty() ? "-" : sa.suite,
           sa.nat.empty() ? "-" : sa.nat, std::to_string(sa.age.count()) + "s",
           sa.suite.empty() ? "-" : std::to_string(sa.life_left.count()) + "s"});
    for (const auto& s : sa.ipsec) {
      ++pairs;
      const auto c = find_counters(dp, s);
      ipsec.add({peer, spi_hex(s.spi_in), spi_hex(s.spi_out), s.transform,
                 std::to_string(s.age.count()) + "s", std::to_string(s.life_left.count()) + "s",
                 s.life_kilobytes == 0 ? "-" : std::to_string(s.life_kilobytes), packets_text(c.in),
                 packets_text(c.out)});
    }
  }
  const auto& c = ike.counters();
  return "IKE SAs\n" + t.render() + "\nIPsec SAs\n" + ipsec.render() + "\n" +
         std::to_string(sas.size()) + " IKE SAs (" + std::to_string(ike.half_open()) +
         " half-open), " + std::to_string(pairs) +
         " IPsec SA pairs; refused: " + std::to_string(c.half_open_per_peer) +
         " half-open per peer, " + std::to_string(c.half_open_total) + " half-open total, " +
         std::to_string(c.ike_sas_per_peer) + " IKE SAs per peer, " +
         std::to_string(c.aggressive_refused) + " Aggressive Mode not enabled\n" +
         "datagrams ignored: " + std::to_string(c.malformed_ip) + " malformed IP/UDP, " +
         std::to_string(c.no_marker) + " 4500 without marker, " +
         std::to_string(c.malformed_isakmp) + " malformed ISAKMP, " + std::to_string(c.unknown_sa) +
         " unknown SA, " + std::to_string(c.wrong_peer) + " wrong peer, " +
         std::to_string(c.unsupported_exchange) + " unsupported exchange, " +
         std::to_string(c.dropped) + " dropped; " + std::to_string(c.retransmits) +
         " retransmits, " + std::to_string(c.fragmented) + " sent in fragments, " +
         std::to_string(c.tx_failed) + " tx failed, " +
         std::to_string(c.dp_refused) + " refused by the data plane\n";
}

std::string render_ike_json(const IkeService& ike, std::chrono::steady_clock::time_point now,
                            const channel::Segment* seg) {
  const auto dp = dp_sas(seg);
  json list = json::array();
  for (const auto& sa : ike.sas(now)) {
    json pairs = json::array();
    for (const auto& s : sa.ipsec) {
      const auto c = find_counters(dp, s);
      pairs.push_back({{"spi_in", s.spi_in},
                       {"spi_in_hex", spi_hex(s.spi_in)},
                       {"spi_out", s.spi_out},
                       {"spi_out_hex", spi_hex(s.spi_out)},
                       {"transform", s.transform},
                       {"age_s", s.age.count()},
                       {"life_left_s", s.life_left.count()},
                       {"life_kilobytes", s.life_kilobytes},
                       {"counters_in", counters_json(c.in)},
                       {"counters_out", counters_json(c.out)}});
    }
    list.push_back({{"peer", format_ipv4(sa.peer_addr)},
                    {"peer_port", sa.peer_port},
                    {"id", sa.peer_id},
                    {"mode", sa.mode},
                    {"state", sa.state},
                    {"algorithms", sa.suite},
                    {"nat", sa.nat},
                    {"age_s", sa.age.count()},
                    {"life_left_s", sa.suite.empty() ? json(nullptr) : json(sa.life_left.count())},
                    {"ipsec", pairs}});
  }
  const auto& c = ike.counters();
  const json o = {{"ike_sas", list},
                  {"half_open", ike.half_open()},
                  {"refused",
                   {{"half_open_per_peer", c.half_open_per_peer},
                    {"half_open_total", c.half_open_total},
                    {"ike_sas_per_peer", c.ike_sas_per_peer},
                    {"aggressive_not_enabled", c.aggressive_refused}}},
                  {"ignored",
                   {{"malformed_ip", c.malformed_ip},
                    {"no_marker", c.no_marker},
                    {"malformed_isakmp", c.malformed_isakmp},
                    {"unknown_sa", c.unknown_sa},
                    {"wrong_peer", c.wrong_peer},
                    {"unsupported_exchange", c.unsupported_exchange},
                    {"dropped", c.dropped}}},
                  {"retransmits", c.retransmits},
                  {"fragmented", c.fragmented},
                  {"tx_failed", c.tx_failed},
                  {"dp_refused", c.dp_refused}};
  return o.dump(2) + "\n";
}

}  // namespace l2tpgw::cp
