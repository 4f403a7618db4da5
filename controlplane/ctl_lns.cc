// The LNS commands of the control socket: users and their PPP sessions,
// disconnects.
#include <map>

#include "controlplane/ctl_commands.h"
#include "controlplane/ctl_view.h"
#include "controlplane/lns_service.h"
#include "controlplane/names.h"
#include "controlplane/text_table.h"
#include "dataplane/config/config.h"

namespace l2tpgw::cp {

std::string render_users_text(const LnsService& lns, const channel::Segment* seg,
                              LnsService::Clock::time_point now) {
  // The data plane's counters of each session, by our ids.
  std::map<std::pair<std::uint16_t, std::uint16_t>, SessionCounters> counters;
  if (seg != nullptr) {
    for (const auto& v : collect_sessions(*seg)) {
      counters[{v.params.local_tunnel_id, v.params.local_session_id}] = v.counters;
    }
  }
  TextTable t({{"TUNNEL/SESSION"}, {"USER"}, {"ADDRESS"}, {"PEER"}, {"PHASE"}, {"AUTH"},
               {"MPPE"}, {"UPTIME", true}, {"RX-PKTS", true}, {"TX-PKTS", true}});
  const auto links = lns.links(now);
  for (const auto& l : links) {
    const auto c = counters.find({l.tunnel_id, l.session_id});
    const bool have = c != counters.end();
    t.add({std::to_string(l.tunnel_id) + "/" + std::to_string(l.session_id),
           l.user.empty() ? "-" : l.user, l.address == 0 ? "-" : format_ipv4(l.address),
           l2tp::format_endpoint(l.peer), l.phase, l.auth.empty() ? "-" : l.auth,
           l.mppe.empty() ? "-" : l.mppe, std::to_string(l.age.count()) + "s",
           have ? std::to_string(c->second.rx_packets) : "-",
           have ? std::to_string(c->second.tx_packets) : "-"});
  }
  const auto& pool = lns.pool();
  return t.render() + std::to_string(links.size()) + " sessions, " +
         std::to_string(lns.lns().tunnel_count()) + " tunnels, pool " +
         std::to_string(pool.size() - pool.free_count()) + "/" + std::to_string(pool.size()) +
         " in use\n";
}

std::string render_tunnels_text(const LnsService& lns) {
  TextTable t({{"TUNNEL"}, {"PEER-ID"}, {"PEER"}, {"VIA"}, {"STATE"}, {"SESSIONS", true}});
  const auto tunnels = lns.lns().tunnels();
  for (const l2tp::Tunnel* tu : tunnels) {
    const l2tp::Endpoint& p = tu->peer();
    t.add({std::to_string(tu->id()), std::to_string(tu->peer_id()), l2tp::format_endpoint(p),
           p.spi ? "esp " + spi_hex(*p.spi) : std::string("plain"),
           l2tp::tunnel_state_name(tu->state()), std::to_string(tu->sessions().size())});
  }
  return t.render() + std::to_string(tunnels.size()) + " tunnels\n";
}

}  // namespace l2tpgw::cp
