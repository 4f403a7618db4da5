// One PPP link as the LNS serves it: LCP, then authentication, then IPCP
// and CCP, then "up" with everything the data plane needs; "down" with one
// line an operator understands. Frames in are PPP control frames punted by
// the data plane (L2TP already stripped; FF 03 and the Protocol field in
// any of their allowed forms); frames out are complete PPP frames with
// FF 03 and a 2-byte Protocol, which every peer accepts at any phase.
//
// Pure: no sockets, threads or clock. The owner calls input() per frame,
// tick() at deadline(), then takes output and events.
#pragma once

#include <intel-ipsec-mb.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "controlplane/ppp/auth.h"
#include "controlplane/ppp/ccp.h"
#include "controlplane/ppp/counters.h"
#include "controlplane/ppp/fsm.h"
#include "controlplane/ppp/ipcp.h"
#include "controlplane/ppp/lcp.h"
#include "controlplane/ppp/link_state.h"
#include "controlplane/ppp/pool.h"
#include "controlplane/ppp/random.h"
#include "controlplane/ppp/settings.h"
#include "controlplane/ppp/users.h"
#include "dataplane/channel/messages.h"

namespace l2tpgw::ppp {

// What a session uses and does not own. All must outlive it.
struct SessionContext {
  const PppSettings& settings;
  const UserDb& users;
  AddressPool& pool;
  IMB_MGR* mgr;  // for the MPPE key derivation (dataplane/crypto/mppe)
  Random& random;
};

// RFC 2661 §4.4.5: what a LAC that already negotiated LCP and authenticated
// the client relays in its ICCN. Option lists start at the first option of
// the LCP Configure-Request, as the AVPs carry them.
struct ProxyInfo {
  Bytes last_sent_confreq;      // Last Sent LCP CONFREQ (the LAC's own)
  Bytes last_received_confreq;  // Last Received LCP CONFREQ (the client's)
  // Proxy Authen Type: 1 textual and 3 PAP carry the password in `response`;
  // 2 is CHAP (MD5); 4 (none) and 5 (MS-CHAPv1) cannot be taken over.
  std::uint16_t authen_type = 0;
  std::string authen_name;
  Bytes authen_challenge;
  std::uint8_t authen_id = 0;
  Bytes authen_response;
};

enum class Phase : std::uint8_t { dead, establish, authenticate, network, running, terminated };
const char* phase_name(Phase p) noexcept;

struct SessionUp {
  std::string user;
  std::uint32_t address = 0;  // host order
  bool acfc = false;          // the client asked for ACFC: we may send without FF 03
  bool pfc = false;           // and for PFC: 1-byte protocol fields
  std::uint16_t peer_mru = 1500;
  std::uint8_t mppe_bits = 0;  // 0, 40, 56 or 128
  bool mppe_stateless = false;
  Hash16 mppe_send_key{};  // RFC 3079 §3.4 start keys, server view
  Hash16 mppe_recv_key{};
};

enum class EventKind : std::uint8_t {
  up,
  down,
  // The client sent CCP Reset-Request: our transmit side must change key and
  // set the A bit on its next frame (RFC 3078 §8.2; MppeState::reset()).
  mppe_tx_reset,
};

struct Event {
  EventKind kind = EventKind::down;
  SessionUp up;       // kind == up
  std::string cause;  // kind == down
  bool peer_silent = false;  // kind == down: LCP echo requests went unanswered
};

class Session {
 public:
  explicit Session(const SessionContext& ctx);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // The L2TP session is established: LCP starts and sends its request.
  void start(Time now);
  // The same for a session handed over by a LAC: its LCP result and
  // authentication are taken over when acceptable (no LCP exchange, straight
  // to IPCP/CCP); otherwise LCP is renegotiated as by start() and
  // proxy_note() says why.
  void start_proxied(Time now, const ProxyInfo& proxy);
  const std::string& proxy_note() const noexcept { return _proxy_note; }
  void input(Time now, std::span<const std::uint8_t> frame);
  void tick(Time now);
  std::optional<Time> deadline() const noexcept;

  // Administrative disconnect: LCP Terminate-Request, then down.
  void close(Time now, std::string_view cause);
  // The L2TP session is gone: down without sending anything.
  void lower_down(std::string_view cause);
  // The data plane lost MPPE sync on the client's frames (SessionEvent
  // mppe_reset_request): CCP Reset-Request to the client.
  void request_mppe_reset(Time now);

  std::vector<Bytes> take_output() { return std::exchange(_out.frames, {}); }
  std::vector<Event> take_events() { return std::exchange(_events, {}); }

  // Across a control-plane restart (session_state.cc). snapshot() is valid
  // in Phase::running. restore() takes a new session straight to running
  // with what the snapshot holds; its address is taken from the pool. The
  // MPPE start keys stay in the data plane (nothing pushes a running
  // session again). Empty when done, else why not (nothing is held then).
  LinkSnapshot snapshot() const;
  std::string restore(Time now, const LinkSnapshot& s);

  // The PPP part of the data plane's session (inner_addr, ppp_acfc,
  // ppp_pfc, mppe_*); valid once up.
  void fill(channel::SessionParams& p) const noexcept;

  Phase phase() const noexcept { return _phase; }
  const Counters& counters() const noexcept { return _counters; }
  const AuthResult& auth_result() const noexcept { return _auth.result(); }
  const Lcp& lcp() const noexcept { return _lcp; }
  const Ipcp& ipcp() const noexcept { return _ipcp; }
  const Ccp& ccp() const noexcept { return _ccp; }

 private:
  void advance(Time now);
  void begin_network(Time now);
  void fail(Time now, std::string_view cause);
  void go_down(std::string_view cause, bool peer_silent = false);
  void release_address() noexcept;

  const SessionContext _ctx;
  Outbox _out;
  Counters _counters;
  Lcp _lcp;
  Authenticator _auth;
  Ipcp _ipcp;
  Ccp _ccp;
  Phase _phase = Phase::dead;
  bool _ccp_active = false;
  std::optional<std::uint32_t> _pool_address;  // to release on down
  SessionUp _up;
  std::string _proxy_note;
  std::vector<Event> _events;
};

}  // namespace l2tpgw::ppp
