// The LNS as the control-plane process runs it: L2TP control messages and
// PPP control frames punted by the data plane go in; the L2TP engine
// (l2tp/) and one PPP server per session (ppp/) decide; replies leave on
// the tx ring through the SA the peer used, and sessions are installed in
// the data plane in two steps:
//
//   ICRQ accepted (ICRP)    → session without an address: the PPP frames
//                             that follow the ICCN reach us, IPv4 is refused;
//   IPCP/CCP open (PPP up)  → the same ids again, now with the address,
//                             ACFC/PFC and MPPE keys: traffic flows.
//
// A session's end in either protocol removes it from the data plane, ends
// the other protocol and returns the address to the pool.
#pragma once

#include <intel-ipsec-mb.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "controlplane/dp_channel.h"
#include "controlplane/l2tp/lns.h"
#include "controlplane/lns_settings.h"
#include "controlplane/log.h"
#include "controlplane/ppp/pool.h"
#include "controlplane/ppp/random.h"
#include "controlplane/ppp/session.h"
#include "controlplane/ppp/users.h"
#include "controlplane/state_file.h"
#include "dataplane/channel/messages.h"
#include "dataplane/crypto/esp_crypto.h"

namespace l2tpgw::cp {

// What the service needs of the process around it.
struct LnsHooks {
  // A whole IPv4 packet out of the outside port, through the SA when given.
  std::function<bool(std::span<const std::uint8_t>, std::optional<SaRef>)> send;
  // A session add/delete to the data plane; nullopt when no ack came.
  std::function<std::optional<channel::Ack>(const channel::CtrlMsg&)> call;
  // The outbound SA paired with the inbound SA `in_spi` of `peer`.
  std::function<std::optional<SaRef>(std::uint32_t in_spi, std::uint32_t peer)> outbound_for;
  // The client behind inbound SA `in_spi` went silent and no tunnel is
  // left on it: IKE removes the pair (and its ISAKMP SA when that carries
  // no other), telling the peer. Unset without IKE.
  std::function<void(std::uint32_t in_spi, std::uint32_t peer, const std::string& why)> release_sa;
};

// Punted packets the service could not use, by why.
struct LnsPuntCounters {
  std::uint64_t malformed_ip = 0;      // not a UDP datagram we can read
  std::uint64_t not_l2tp_port = 0;     // not to UDP 1701
  std::uint64_t malformed_l2tp = 0;    // PPP punt without a valid data header
  std::uint64_t unknown_session = 0;   // PPP punt for no session of ours
  std::uint64_t wrong_peer = 0;        // PPP punt from another peer or SA than the session's
  std::uint64_t no_outbound_sa = 0;    // a reply with no SA to protect it
  std::uint64_t tx_failed = 0;         // the tx ring was full
  std::uint64_t dp_refused = 0;        // the data plane did not take a session
};

// One user session as the operator sees it.
struct LinkView {
  std::uint16_t tunnel_id = 0;
  std::uint16_t session_id = 0;
  std::uint16_t peer_tunnel_id = 0;
  std::uint16_t peer_session_id = 0;
  l2tp::Endpoint peer;
  std::string phase;
  std::string user;
  std::uint32_t address = 0;
  std::string auth;
  std::string mppe;
  std::chrono::seconds age{0};   // since the L2TP session came up
  bool in_dataplane = false;
};

class LnsService {
 public:
  using Clock = std::chrono::steady_clock;

  // local_addr: the gateway's outside address, the source of every reply.
  // Throws ConfigError when the users file cannot be read.
  LnsService(LnsSettings settings, std::uint32_t local_addr, Logger& log, LnsHooks hooks);
  ~LnsService();
  LnsService(const LnsService&) = delete;
  LnsService& operator=(const LnsService&) = delete;

  // A punt of reason l2tp (control message) or ppp (PPP control frame in an
  // L2TP data message of a session).
  void on_punt(const channel::PuntMsg& m, Clock::time_point now);
  // The data plane lost MPPE sync on the client's frames.
  void on_mppe_reset_request(std::uint16_t tunnel_id, std::uint16_t session_id,
                             Clock::time_point now);
  // Timers of both protocols.
  void poll(Clock::time_point now);

  // IKE moved a peer to a newer SA pair (a rekey): tunnels and sessions on
  // inbound SA from_in now use to_in/to_out, in the data plane too.
  void on_pair_moved(std::uint32_t peer, std::uint32_t from_in, std::uint32_t to_in,
                     std::uint32_t to_out);
  // IKE removed a pair with no successor: what it carried ends here,
  // without messages (none can be protected any more).
  void on_pair_gone(std::uint32_t peer, std::uint32_t in_spi, const std::string& why,
                    Clock::time_point now);

  // Ends one session (CDN) or every session of a user; how many were ended.
  std::size_t disconnect_session(std::uint16_t tunnel_id, std::uint16_t session_id,
                                 Clock::time_point now);
  std::size_t disconnect_user(const std::string& user, Clock::time_point now);

  std::vector<LinkView> links(Clock::time_point now) const;
  const l2tp::Lns& lns() const noexcept { return _lns; }
  const LnsPuntCounters& punt_counters() const noexcept { return _counters; }
  const ppp::AddressPool& pool() const noexcept { return _pool; }

  // State across a control-plane restart (controlplane/state_file.h):
  // every established tunnel and every session whose PPP link is up, as
  // records of kinds "l2tp_tunnel" and "l2tp_session" appended to out.
  void save(std::vector<state::Record>& out, Clock::time_point now) const;
  // Rebuilds them after a restart, after IKE restored its pairs (a tunnel
  // over IPsec is restored only when _hooks.outbound_for finds its pair).
  // dp_sessions: the data plane's session directory (read_session_directory);
  // a session is restored only when it is there with the same ids,
  // otherwise dropped with one log line; a tunnel left with no session is
  // restored only if it was saved without sessions. Restored addresses are
  // taken from the pool. Returns the directory entries of the sessions
  // restored (the caller keeps them in the data plane). Throws
  // state::StateError on a malformed record before changing anything. Logs
  // one info line "restored N tunnels, M sessions" (never a secret).
  std::vector<channel::SessionParams> restore(std::span<const state::Record> records,
                                              std::span<const channel::SessionParams> dp_sessions,
                                              Clock::time_point now);
  // Increases whenever what save() writes would change in substance: a
  // tunnel or session established or closed, a session moved to another SA.
  // Not for every control message (Ns/Nr): a restored tunnel takes those
  // from the peer's first message (l2tp::ReliableChannel::restore).
  std::uint64_t state_version() const noexcept { return _lns.state_version() + _version; }

 private:
  struct Link;
  using LinkKey = std::pair<std::uint16_t, std::uint16_t>;  // our tunnel id, our session id

  void on_l2tp(std::span<const std::uint8_t> payload, const l2tp::Endpoint& from,
               Clock::time_point now);
  void on_ppp(std::span<const std::uint8_t> payload, const l2tp::Endpoint& from,
              Clock::time_point now);
  void handle(l2tp::LnsOutput& out, Clock::time_point now);
  void on_offered(const l2tp::SessionOffered& e, Clock::time_point now);
  void on_established(const l2tp::SessionEstablished& e, Clock::time_point now);
  void refuse(Link& link, Clock::time_point now);
  void on_closed(std::uint16_t tunnel_id, std::uint16_t session_id, const std::string& cause);
  void drain(Link& link, Clock::time_point now);
  void send_l2tp(const l2tp::Endpoint& to, std::span<const std::uint8_t> payload);
  bool push_session(Link& link);
  void remove_from_dataplane(Link& link);
  void reap();
  void finish(Link& link);
  void release_if_unused(const l2tp::Endpoint& peer, const std::string& why);

  LnsSettings _settings;
  std::uint32_t _local_addr;
  Logger& _log;
  LnsHooks _hooks;
  ppp::UserDb _users;
  ppp::AddressPool _pool;
  ppp::OsRandom _random;
  crypto::MgrPtr _mgr;
  ppp::SessionContext _ppp_ctx;
  l2tp::Lns _lns;
  std::map<LinkKey, std::unique_ptr<Link>> _links;
  std::vector<LinkKey> _finished;  // links to erase at the next reap
  std::uint64_t _version = 0;      // with _lns.state_version(): see state_version()
  LnsPuntCounters _counters;
};

}  // namespace l2tpgw::cp
