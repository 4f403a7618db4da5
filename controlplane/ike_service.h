// IKEv1 as the control-plane process runs it: IKE datagrams punted by the
// data plane (UDP 500, or UDP 4500 behind the non-ESP marker) go in; one
// Main Mode responder per ISAKMP SA (ike/main_mode.h) and one Quick Mode
// responder per exchange on it (ike/quick_mode.h) decide; replies leave as
// whole IPv4/UDP packets on the tx ring, and each finished Quick Mode puts
// its ESP SA pair into the data plane:
//
//   MM1..MM6   → ISAKMP SA (keys, peer ID, NAT status)     "IKE SA established with ..."
//   AM1..AM3   → the same, for peers enabled for Aggressive Mode
//                (pre-shared key or RSA signatures with X.509, ike/x509.h;
//                 fragmented messages reassembled first, ike/fragment.h)
//   QM1..QM3   → SaAdd in + SaAdd out                       "IPsec SA established with ..."
//   peer Delete / INITIAL-CONTACT / lifetime end → SaDel both directions
//   MM1..MM6 by us (ike/main_mode_initiator.h) at 90% of an ISAKMP SA's
//              life or on request → the new SA carries the old one's IPsec
//              pairs, the old one is deleted (ISAKMP Delete over it)
//
// Floods are refused before any Diffie-Hellman work: Main Mode exchanges
// not yet authenticated are limited per source address and in total.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "controlplane/ike/main_mode.h"
#include "controlplane/ike/main_mode_initiator.h"
#include "controlplane/ike/quick_mode.h"
#include "controlplane/ike_settings.h"
#include "controlplane/log.h"
#include "controlplane/state_file.h"
#include "dataplane/channel/messages.h"

namespace l2tpgw::cp {

// An IPsec SA pair as the LNS knows it: the peer sends through spi_in.
struct IpsecPairRef {
  std::uint32_t peer_addr = 0;
  std::uint32_t spi_in = 0;
  std::uint32_t spi_out = 0;
};

struct IkeHooks {
  // A whole IPv4 packet out of the outside port, in the clear.
  std::function<bool(std::span<const std::uint8_t>)> send;
  // An SA add/delete to the data plane; nullopt when no ack came.
  std::function<std::optional<channel::Ack>(const channel::CtrlMsg&)> call;
  // Fresh randomness for each responder, and for each Main Mode we start
  // (mm_random's rcookie is then our cookie); tests inject fixed values.
  std::function<ike::MainModeRandom()> mm_random = [] { return ike::MainModeRandom::fresh(); };
  std::function<ike::QuickModeRandom()> qm_random = [] { return ike::QuickModeRandom::fresh(); };
  // Message IDs of exchanges we start; null: from OpenSSL's DRBG.
  std::function<std::uint32_t()> message_id;
  // What rides on a pair follows it: `moved` when a newer pair of the same
  // peer (address, and port with NAT-T) takes over from `from` (a rekey:
  // a new pair installed, or the old one removed while a newer one lives);
  // `gone` when a pair is removed with no other pair of the peer left.
  std::function<void(const IpsecPairRef& from, const IpsecPairRef& to)> pair_moved;
  std::function<void(const IpsecPairRef& pair, const std::string& why)> pair_gone;
};

// Punted datagrams the service did not use, by why.
struct IkeCounters {
  std::uint64_t malformed_ip = 0;          // not a UDP datagram we can read
  std::uint64_t not_ike_port = 0;          // not to UDP 500 or 4500
  std::uint64_t no_marker = 0;             // 4500 without the non-ESP marker
  std::uint64_t malformed_isakmp = 0;      // no ISAKMP header
  std::uint64_t unknown_sa = 0;            // cookies of no ISAKMP SA of ours
  std::uint64_t wrong_peer = 0;            // an SA's cookies from another address
  std::uint64_t unsupported_exchange = 0;  // New Group, Base, Authentication Only...
  std::uint64_t half_open_per_peer = 0;    // refused: the source has too many half-open
  std::uint64_t half_open_total = 0;       // refused: too many half-open in total
  std::uint64_t ike_sas_per_peer = 0;      // refused: the source has too many ISAKMP SAs
  std::uint64_t aggressive_refused = 0;    // Aggressive Mode from a peer not enabled for it
  std::uint64_t dropped = 0;               // failed to parse, decrypt or authenticate
  std::uint64_t retransmits = 0;           // our replies sent again on timeout
  std::uint64_t fragmented = 0;            // our messages sent as IKE fragments
  std::uint64_t tx_failed = 0;             // the tx ring was full
  std::uint64_t dp_refused = 0;            // the data plane did not take an SA
};

struct IpsecSaView {
  std::uint32_t spi_in = 0;
  std::uint32_t spi_out = 0;
  std::string transform;  // "ESP aes-cbc-128/hmac-sha1-96 transport, NAT-T udp 4500"
  std::chrono::seconds age{0};
  std::chrono::seconds life_left{0};
  std::uint32_t life_kilobytes = 0;  // 0 = none
};

struct IkeSaView {
  std::uint32_t peer_addr = 0;
  std::uint16_t peer_port = 0;
  std::string peer_id;  // empty before message 5
  std::string mode;     // "main" or "aggressive"
  std::string state;
  std::string suite;  // "aes-256/sha1/modp2048" once chosen
  std::string nat;    // "none", "peer behind NAT"...
  std::chrono::seconds age{0};
  std::chrono::seconds life_left{0};
  std::vector<IpsecSaView> ipsec;
};

class IkeService {
 public:
  using Clock = std::chrono::steady_clock;

  // local_addr: the gateway's outside address, the source of every reply.
  IkeService(IkeSettings settings, std::uint32_t local_addr, Logger& log, IkeHooks hooks);
  ~IkeService();
  IkeService(const IkeService&) = delete;
  IkeService& operator=(const IkeService&) = delete;

  // A punt of reason ike: the whole IPv4 packet.
  void on_punt(const channel::PuntMsg& m, Clock::time_point now);
  // The data plane's lifetime event of an SA; hard ones end the pair.
  void on_lifetime(const channel::SaLifetimeEvent& e, Clock::time_point now);
  // Retransmissions, lifetimes, DPD, NAT keepalives.
  void poll(Clock::time_point now);

  // The pair whose inbound SA is spi_in of peer_addr, if IKE made it.
  std::optional<IpsecPairRef> pair_of(std::uint32_t spi_in, std::uint32_t peer_addr) const;
  // The LNS gave up on what the pair carried (the client went silent):
  // the pair goes with a Delete, and its ISAKMP SA too when it carries no
  // other pair. No pair_gone for it. False when no such pair.
  bool release_pair(std::uint32_t spi_in, std::uint32_t peer_addr, const std::string& why);

  // Per-peer trace, switched at run time (l2tpgwctl ike-trace): every
  // ISAKMP message to and from a traced address is logged, one line each,
  // with its exchange, message id, flags and payload types (those of an
  // encrypted body are not shown: the trace never decrypts for the log).
  void set_trace(std::uint32_t peer_addr, bool on);
  const std::set<std::uint32_t>& traced() const noexcept { return _traced; }

  // Rekeys started by us (l2tpgwctl ike-rekey, or a pair at 90% of its
  // lifetime that the peer has not replaced): a Quick Mode on the pair's
  // ISAKMP SA offering its transform again. Returns how many started.
  std::size_t rekey_peer(std::uint32_t peer_addr, Clock::time_point now);
  // Phase-1 rekeys started by us (l2tpgwctl ike-rekey PEER phase1, or an
  // ISAKMP SA at 90% of its lifetime that the peer has not replaced): a
  // Main Mode to the peer offering the SA's own suite; once established
  // it carries the old SA's IPsec pairs and the old SA is deleted. Returns
  // how many started (one per established ISAKMP SA of the peer that has
  // none running).
  std::size_t rekey_phase1(std::uint32_t peer_addr, Clock::time_point now);

  // State across a control-plane restart (controlplane/state_file.h):
  // every established ISAKMP SA and its IPsec pairs, as records of kinds
  // "ike_sa" and "ipsec_sa" appended to out.
  void save(std::vector<state::Record>& out, Clock::time_point now) const;
  // Rebuilds them after a restart. dp_sas: the data plane's SA directory
  // (read_sa_directory); a pair is restored only when both of its SAs are
  // still there (same direction, spi, peer), otherwise it is dropped with one
  // log line. An ISAKMP SA is restored even without pairs (it can still
  // carry Quick Modes, DPD, Delete). Records of other kinds are ignored.
  // Returns the directory entries of the SAs restored, which the caller
  // keeps in the data plane. Throws state::StateError on a malformed record,
  // before anything is changed. Logs one info line "restored N ISAKMP SAs,
  // M IPsec SA pairs" (no key material, ever).
  std::vector<channel::SaParams> restore(std::span<const state::Record> records,
                                         std::span<const channel::SaParams> dp_sas,
                                         Clock::time_point now);
  // Increases whenever what save() writes would change in substance
  // (an ISAKMP SA established or removed, a pair installed, moved, removed).
  std::uint64_t state_version() const noexcept { return _state_version; }

  std::vector<IkeSaView> sas(Clock::time_point now) const;
  const IkeCounters& counters() const noexcept { return _counters; }
  std::size_t half_open() const noexcept { return _half_open_total; }

 private:
  struct IkeSa;
  struct IpsecSa;
  struct Exchange;
  using CookiePair = std::pair<ike::Cookie, ike::Cookie>;

  void trace(const char* dir, const ike::Address& peer, std::span<const std::uint8_t> msg);
  void on_isakmp(std::span<const std::uint8_t> msg, const ike::Address& local,
                 const ike::Address& peer, Clock::time_point now);
  void main_mode(IkeSa* sa, std::span<const std::uint8_t> msg, const ike::Address& local,
                 const ike::Address& peer, Clock::time_point now);
  void quick_mode(IkeSa& sa, const ike::Header& h, std::span<const std::uint8_t> msg,
                  const ike::Address& local, const ike::Address& peer, Clock::time_point now);
  void informational(IkeSa& sa, std::span<const std::uint8_t> msg, Clock::time_point now);
  IkeSa* create(const ike::Header& h, const ike::Address& peer, Clock::time_point now);
  void established(IkeSa& sa, Clock::time_point now);
  // `move_at`: when the peer's sessions go over to the new pair (now when
  // the peer started the exchange, which has the pair ready at once).
  void install(IkeSa& sa, const ike::EspSaPair& pair, Clock::time_point now,
               Clock::time_point move_at);
  bool add_sa(channel::Direction dir, const ike::EspSaPair& pair);
  bool start_rekey(IkeSa& sa, IpsecSa& s, Clock::time_point now);
  void our_quick_mode(IkeSa& sa, std::uint32_t message_id, std::span<const std::uint8_t> msg,
                      const ike::Address& local, const ike::Address& peer, Clock::time_point now);
  void move_to(const IpsecSa& fresh);
  // Phase-1 rekeys we start (see rekey_phase1).
  bool start_phase1_rekey(IkeSa& old, Clock::time_point now);
  bool phase1_rekey_running(const IkeSa& old) const;
  void our_main_mode(std::map<CookiePair, std::unique_ptr<IkeSa>>::iterator it,
                     std::span<const std::uint8_t> msg, const ike::Address& local,
                     const ike::Address& peer, Clock::time_point now);
  void phase1_rekeyed(IkeSa& fresh, Clock::time_point now);
  // Retransmission or failure of our Main Mode; true when it was given up.
  bool poll_phase1_rekey(IkeSa& sa, Clock::time_point now);
  // The automatic phase-1 rekey of an SA whose time has come.
  void phase1_rekey_due(IkeSa& sa, Clock::time_point now);
  bool spi_in_use(std::uint32_t spi) const;
  // Who, other than the peer of `asking`, has a tunnel-mode pair (or one
  // being negotiated) whose inner network overlaps `net`; empty: nobody.
  std::string tunnel_owner(const ike::IsakmpSa& asking, const Ipv4Prefix& net) const;
  void abandon(Exchange& ex);
  void clear_quick_modes(IkeSa& sa);
  void remove_ipsec(IkeSa& sa, std::size_t index, const std::string& why, bool tell_peer,
                    bool notify = true);
  const IpsecSa* newest_sibling(const IpsecSa& of) const;
  void delete_isakmp(IkeSa& sa);
  static bool same_peer(const IkeSa& a, const IkeSa& b);
  void remove_deleted_pair(IkeSa& via, std::uint32_t spi_out);
  void drop_stale(const IkeSa& fresh);
  void set_half_open(IkeSa& sa, bool half_open);
  void erase(std::map<CookiePair, std::unique_ptr<IkeSa>>::iterator it);
  void erase(IkeSa& sa);
  // Every ISAKMP SA goes into _sas through here, and into _by_peer.
  IkeSa* add_ike_sa(const CookiePair& key, std::unique_ptr<IkeSa> sa);
  // The ISAKMP SAs (and so the pairs) of one peer address.
  std::vector<IkeSa*> sas_of(std::uint32_t peer_addr) const;
  void send(const ike::Address& local, const ike::Address& peer, std::span<const std::uint8_t> msg);
  void send_main_mode(IkeSa& sa, const ike::Address& local, const ike::Address& peer,
                      std::span<const std::uint8_t> msg, bool fresh);
  void send_informational(IkeSa& sa, ike::PayloadType type, std::span<const std::uint8_t> body);
  bool sa_del(channel::Direction d, std::uint32_t spi, std::uint32_t peer);
  std::uint32_t fresh_message_id() const;

  IkeSettings _settings;
  std::uint32_t _local_addr;
  Logger& _log;
  IkeHooks _hooks;
  ike::MainModeConfig _mm_config;
  ike::QuickModeConfig _qm_config;
  std::map<CookiePair, std::unique_ptr<IkeSa>> _sas;
  // _sas by peer address (it never changes for an SA: a datagram from
  // another address is wrong_peer): every lookup by peer is O(its SAs),
  // not O(all), which at 10 000 clients is what the control plane's CPU
  // went to (docs/PERFORMANCE.md).
  std::unordered_multimap<std::uint32_t, IkeSa*> _by_peer;
  std::map<std::uint32_t, std::uint32_t> _half_open_per_peer;
  std::size_t _half_open_total = 0;
  IkeCounters _counters;
  std::set<std::uint32_t> _traced;
  // Refusals are logged as one summary line at most every 10 s: a line per
  // refused datagram would let a flood fill the log.
  std::uint64_t _refusals_reported = 0;
  // Aggressive Mode refusals already logged (source, initiator cookie): the
  // peer's retransmissions of the same message 1 are counted, not logged
  // again. Bounded: the oldest entries go first.
  std::deque<std::pair<std::uint32_t, ike::Cookie>> _refused_aggressive;
  Clock::time_point _next_refusal_report{};
  std::uint64_t _state_version = 0;
};

// "aes-256/sha1/ecp384"
std::string suite_text(const ike::Phase1Suite& s);

}  // namespace l2tpgw::cp
