#include "controlplane/ike_service.h"

#include <cstdio>

#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <ctime>

#include "controlplane/ike/fragment.h"
#include "controlplane/ike/wire_util.h"
#include "controlplane/ike_service_sas.h"
#include "controlplane/names.h"
#include "controlplane/udp_datagram.h"
#include "dataplane/config/config.h"

namespace l2tpgw::cp {

using ike::Address;
using ike::Bytes;

namespace {

constexpr std::uint16_t port_ike = 500;
constexpr std::uint16_t port_nat_t = 4500;  // RFC 3948 §2.2: after the 4-byte non-ESP marker
// Quick Modes one ISAKMP SA may run at once: Windows and strongSwan use one
// or two; the bound keeps an authenticated peer from pinning memory.
constexpr std::size_t max_quick_modes = 8;
// A finished Quick Mode stays this long to absorb its retransmitted HASH(3)
// and QM1 (RFC 2408 §5 leaves this to the implementation).
constexpr auto finished_linger = std::chrono::seconds(30);
// Inbound replay window in packets (a multiple of 64, messages.h).
constexpr std::uint32_t replay_window = 128;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

channel::Prefix channel_prefix(const Ipv4Prefix& p) {
  return {p.addr, p.len, {}};
}

}  // namespace

Address address_of(std::uint32_t host_order, std::uint16_t port) {
  Address a;
  a.len = 4;
  ike::set32(std::span(a.bytes.data(), 4), 0, host_order);
  a.port = port;
  return a;
}

std::uint32_t ipv4_of(const Address& a) {
  return a.len == 4 ? ike::get32(std::span(a.bytes.data(), 4), 0) : 0;
}

std::string id_text(const ike::Identification& id) {
  switch (static_cast<ike::IdType>(id.type)) {
    case ike::IdType::ipv4_addr:
    case ike::IdType::fqdn:
    case ike::IdType::user_fqdn:
    case ike::IdType::der_asn1_dn:
      return ike::identity_text(id);
    default:
      return "type " + std::to_string(id.type);
  }
}

namespace {

std::string nat_text(const ike::NatDetection& n) {
  if (n.peer_behind_nat && n.local_behind_nat) {
    return "both behind NAT";
  }
  if (n.peer_behind_nat) {
    return "peer behind NAT";
  }
  return n.local_behind_nat ? "we are behind NAT" : "none";
}

// The ID payload body we send as responder (RFC 2407 §4.6.2).
Bytes local_id_body(const std::string& configured, std::uint32_t local_addr) {
  if (configured.empty() || parse_ipv4(configured)) {
    const auto a = address_of(configured.empty() ? local_addr : *parse_ipv4(configured), 0);
    return ike::encode_id(ike::IdType::ipv4_addr, 17, port_ike, std::span(a.bytes.data(), 4));
  }
  return ike::encode_id(
      ike::IdType::fqdn, 17, port_ike,
      std::span(reinterpret_cast<const std::uint8_t*>(configured.data()), configured.size()));
}

bool any_psk_peer(const IkeSettings& s) {
  return std::any_of(s.peers.begin(), s.peers.end(),
                     [](const IkePeerKey& p) { return p.auth == ike::AuthMethod::psk; });
}

// " (NO-PROPOSAL-CHOSEN)": the type of the first notification of a
// message in the clear, for the line of a phase-1 rekey that failed.
std::string clear_notification(std::span<const std::uint8_t> msg) {
  ike::Message m;
  ike::Notification n;
  const auto* p = ike::parse_message(msg, m) == ike::ParseError::none
                      ? m.find(ike::PayloadType::notification)
                      : nullptr;
  if (p == nullptr || ike::parse_notification(p->body, n) != ike::ParseError::none) {
    return {};
  }
  return " (" + std::string(ike::name(static_cast<ike::NotifyType>(n.type))) + ")";
}

std::chrono::seconds seconds_left(std::chrono::steady_clock::time_point at,
                                  std::chrono::steady_clock::time_point now) {
  return at > now ? std::chrono::duration_cast<std::chrono::seconds>(at - now)
                  : std::chrono::seconds(0);
}

}  // namespace

// Windows refuses NAT-T with a responder behind a NAT (error 809) unless
// told otherwise in its registry.
std::string windows_behind_nat_hint(const ike::PeerCapabilities& caps) {
  if (!caps.microsoft) {
    return {};
  }
  return ": Windows clients need AssumeUDPEncapsulationContextOnSendRule = 2 (DWORD under "
         "HKLM\\SYSTEM\\CurrentControlSet\\Services\\PolicyAgent, then a reboot)";
}

std::string suite_text(const ike::Phase1Suite& s) {
  const std::string cipher = s.cipher.cipher == ike::Cipher::aes_cbc
                                 ? "aes-" + std::to_string(s.cipher.key_bits)
                                 : std::string("3des");
  return cipher + "/" + lower(ike::name(s.hash)) + "/" + lower(ike::name(s.group));
}

IkeService::IkeService(IkeSettings settings, std::uint32_t local_addr, Logger& log, IkeHooks hooks)
    : _settings(std::move(settings)), _local_addr(local_addr), _log(log), _hooks(std::move(hooks)) {
  _mm_config.policy = ike::default_phase1_policy();
  _mm_config.policy.allow_md5 = _settings.allow_md5;
  _mm_config.policy.allow_modp1024 = _settings.allow_modp1024;
  // The suites of a method nothing is configured for are not offered to anyone.
  std::erase_if(_mm_config.policy.suites, [this](const ike::Phase1Suite& s) {
    return s.auth == ike::AuthMethod::psk ? !_settings.psk_possible() && !any_psk_peer(_settings)
                                          : !_settings.certificates();
  });
  _mm_config.psk_for = [this](ike::Endpoint peer) -> std::optional<ike::SecretBytes> {
    if (peer.address.size() != 4) {
      return std::nullopt;
    }
    return _settings.psk_for_address(ike::get32(peer.address, 0));
  };
  for (const auto* k : _settings.id_keys()) {
    _mm_config.id_keys.push_back({k->id, k->psk});
  }
  _mm_config.local_id = local_id_body(_settings.local_id, _local_addr);
  _mm_config.methods_for = [this](ike::Endpoint peer) {
    ike::AuthMethods m{_settings.psk_possible(), _settings.certificates()};
    if (peer.address.size() == 4) {
      if (const auto* p = _settings.peer_at(ike::get32(peer.address, 0))) {
        m = {p->auth == ike::AuthMethod::psk, p->auth == ike::AuthMethod::rsa_sig};
      }
    }
    return m;
  };
  _mm_config.authorize = [this](ike::Endpoint peer, const ike::Identification& id,
                                ike::AuthMethod method) {
    return _settings.authorize(peer.address.size() == 4 ? ike::get32(peer.address, 0) : 0, id,
                               method);
  };
  // The entry enabling Aggressive Mode for a source and IDii decides the method.
  auto aggressive_entry = [this](ike::Endpoint peer, const ike::Identification& id) {
    return _settings.aggressive_peer(peer.address.size() == 4 ? ike::get32(peer.address, 0) : 0,
                                     id);
  };
  _mm_config.aggressive_psk = [aggressive_entry](ike::Endpoint peer, const ike::Identification& id)
      -> std::optional<ike::SecretBytes> {
    const auto* p = aggressive_entry(peer, id);
    return p != nullptr && p->auth == ike::AuthMethod::psk ? std::optional<ike::SecretBytes>(p->psk)
                                                           : std::nullopt;
  };
  _mm_config.aggressive_rsa = [aggressive_entry](ike::Endpoint peer, const ike::Identification& id) {
    const auto* p = aggressive_entry(peer, id);
    return p != nullptr && p->auth == ike::AuthMethod::rsa_sig;
  };
  if (_settings.certificates()) {
    _mm_config.trust = _settings.trust;
    _mm_config.credential = _settings.credential;
    _mm_config.wall_clock = [] { return static_cast<std::int64_t>(std::time(nullptr)); };
  }
  _qm_config.policy = ike::default_phase2_policy();
  _qm_config.policy.allow_md5 = _settings.allow_md5;
  _qm_config.policy.allow_modp1024 = _settings.allow_modp1024;
  _qm_config.policy.allow_tunnel = _settings.allow_tunnel;
  _qm_config.policy.sha256_icv_bits = _settings.esp_sha256_icv_bits;
  _qm_config.max_life_seconds = _settings.sa_lifetime_s;
  _qm_config.default_life_seconds = _settings.sa_lifetime_s;
  _qm_config.max_life_kilobytes = _settings.sa_lifetime_kb;
  _qm_config.tunnel_networks = _settings.tunnel_networks;
  _qm_config.tunnel_owner = [this](const ike::IsakmpSa& asking, const Ipv4Prefix& net) {
    return tunnel_owner(asking, net);
  };
  _log.info("ike", "responder on UDP 500/4500 of " + format_ipv4(_local_addr) + "; phase 1 [" +
                       _mm_config.policy.describe() + "]; phase 2 [" +
                       _qm_config.policy.describe() + "]");
  if (_settings.certificates()) {
    _log.info("ike", "RSA signatures: our certificate " + _settings.credential->subject() + "; " +
                         std::to_string(_settings.trust->ca_subjects().size()) + " trusted CAs, " +
                         std::to_string(_settings.trust->crl_count()) + " CRLs");
  }
  for (const auto& p : _settings.peers) {
    // With signatures nothing in message 2 helps a guess: no warning.
    if (p.aggressive && p.auth == ike::AuthMethod::psk) {
      _log.warning("ike", "peer " + (p.id.empty() ? format_ipv4(*p.address) : "ID " + p.id) +
                              " may use Aggressive Mode: its message 2 exposes a hash of the "
                              "pre-shared key to offline guessing");
    }
  }
}

IkeService::~IkeService() = default;

// ---- input ----

void IkeService::on_punt(const channel::PuntMsg& m, Clock::time_point now) {
  const auto dg =
      parse_udp_datagram(std::span(m.data, std::min<std::size_t>(m.len, sizeof m.data)));
  if (!dg.ok()) {
    ++_counters.malformed_ip;
    return;
  }
  auto payload = dg.payload;
  if (dg.ends.dst_port == port_nat_t) {
    if (payload.size() < 4 || (payload[0] | payload[1] | payload[2] | payload[3]) != 0) {
      ++_counters.no_marker;
      return;
    }
    payload = payload.subspan(4);
  } else if (dg.ends.dst_port != port_ike) {
    ++_counters.not_ike_port;
    return;
  }
  on_isakmp(payload, address_of(dg.ends.dst_addr, dg.ends.dst_port),
            address_of(dg.ends.src_addr, dg.ends.src_port), now);
}

void IkeService::set_trace(std::uint32_t peer_addr, bool on) {
  if (on) {
    _traced.insert(peer_addr);
  } else {
    _traced.erase(peer_addr);
  }
  _log.info("ike", std::string("trace of ") + format_ipv4(peer_addr) + (on ? " on" : " off"));
}

void IkeService::trace(const char* dir, const Address& peer, std::span<const std::uint8_t> msg) {
  if (_traced.empty() || !_traced.contains(ipv4_of(peer))) {
    return;
  }
  std::string text = std::string("trace ") + dir + " " + format_ipv4(ipv4_of(peer)) + ":" +
                     std::to_string(peer.port) + ": ";
  ike::Header h;
  if (ike::parse_header(msg, h) != ike::ParseError::none) {
    _log.info("ike", text + std::to_string(msg.size()) + " bytes, not ISAKMP");
    return;
  }
  char mid[16];
  std::snprintf(mid, sizeof mid, "%08x", h.message_id);
  text += "exchange " + std::to_string(h.exchange) + " message id 0x" + mid + " length " +
          std::to_string(h.length);
  if ((h.flags & ike::flag_encryption) != 0) {
    text += " encrypted";
  } else {
    std::vector<ike::PayloadView> payloads;
    const auto err = ike::walk_payloads(h.next_payload, msg.subspan(28, h.length - 28), false, payloads);
    text += " payloads";
    for (const auto& p : payloads) {
      text += " " + std::string(ike::name(static_cast<ike::PayloadType>(p.type)));
    }
    if (err != ike::ParseError::none) {
      text += " (malformed after these)";
    }
  }
  _log.info("ike", text);
}

void IkeService::on_isakmp(std::span<const std::uint8_t> msg, const Address& local,
                           const Address& peer, Clock::time_point now) {
  trace("in from", peer, msg);
  ike::Header h;
  if (ike::parse_header(msg, h) != ike::ParseError::none) {
    ++_counters.malformed_isakmp;
    return;
  }
  const auto type = static_cast<ike::ExchangeType>(h.exchange);
  const bool zero_rcookie =
      std::all_of(h.rcookie.begin(), h.rcookie.end(), [](std::uint8_t b) { return b == 0; });
  if ((type == ike::ExchangeType::main_mode || type == ike::ExchangeType::aggressive) &&
      zero_rcookie) {
    if (type == ike::ExchangeType::aggressive &&
        std::find(_refused_aggressive.begin(), _refused_aggressive.end(),
                  std::pair(ipv4_of(peer), h.icookie)) != _refused_aggressive.end()) {
      ++_counters.aggressive_refused;
      return;
    }
    // A retransmitted message 1 goes to the exchange it started.
    for (auto it = _sas.lower_bound({h.icookie, ike::Cookie{}});
         it != _sas.end() && it->first.first == h.icookie; ++it) {
      if (ipv4_of(it->second->peer) == ipv4_of(peer) && it->second->half_open) {
        main_mode(it->second.get(), msg, local, peer, now);
        return;
      }
    }
    if (IkeSa* sa = create(h, peer, now)) {
      main_mode(sa, msg, local, peer, now);
    }
    return;
  }
  auto it = _sas.find({h.icookie, h.rcookie});
  if (it == _sas.end() && type == ike::ExchangeType::main_mode) {
    // Message 2 of a Main Mode we started: filed under our cookie alone
    // until the peer's is known.
    it = _sas.find({h.icookie, ike::Cookie{}});
    if (it != _sas.end() && (!it->second->ours || it->second->isakmp() != nullptr)) {
      it = _sas.end();
    }
  }
  if (it == _sas.end()) {
    ++_counters.unknown_sa;
    return;
  }
  IkeSa& sa = *it->second;
  if (ipv4_of(sa.peer) != ipv4_of(peer)) {
    ++_counters.wrong_peer;
    return;
  }
  if (h.next_payload == static_cast<std::uint8_t>(ike::PayloadType::fragment)) {
    std::string why;
    const auto status = sa.fragments.add(msg, why);
    if (status == ike::FragmentReassembly::Status::refused) {
      ++_counters.dropped;
      _log.debug("ike", "fragment from " + format_ipv4(ipv4_of(peer)) + " dropped: " + why);
      return;
    }
    if (status == ike::FragmentReassembly::Status::complete) {
      const ike::Bytes whole = sa.fragments.whole();
      ike::Header inner;
      // The message inside must belong to this SA and must not be
      // fragments again (no recursion on a peer's say-so).
      if (ike::parse_header(whole, inner) != ike::ParseError::none || inner.icookie != h.icookie ||
          inner.rcookie != h.rcookie ||
          inner.next_payload == static_cast<std::uint8_t>(ike::PayloadType::fragment)) {
        ++_counters.dropped;
        _log.debug("ike", "reassembled message from " + format_ipv4(ipv4_of(peer)) +
                              " dropped: not a message of this ISAKMP SA");
        return;
      }
      on_isakmp(whole, local, peer, now);
    }
    return;
  }
  switch (type) {
    case ike::ExchangeType::main_mode:
    case ike::ExchangeType::aggressive:
      if (sa.ours) {
        our_main_mode(it, msg, local, peer, now);
      } else {
        main_mode(&sa, msg, local, peer, now);
      }
      return;
    case ike::ExchangeType::quick_mode:
      quick_mode(sa, h, msg, local, peer, now);
      return;
    case ike::ExchangeType::informational:
      informational(sa, msg, now);
      return;
    default:
      ++_counters.unsupported_exchange;
      _log.debug("ike", "exchange type " + std::to_string(h.exchange) + " from " +
                            format_ipv4(ipv4_of(peer)) + " not supported");
  }
}

IkeService::IkeSa* IkeService::create(const ike::Header& h, const Address& peer,
                                      Clock::time_point now) {
  const std::uint32_t addr = ipv4_of(peer);
  if (_half_open_total >= _settings.max_half_open) {
    ++_counters.half_open_total;
    return nullptr;
  }
  if (_half_open_per_peer[addr] >= _settings.max_half_open_per_peer) {
    ++_counters.half_open_per_peer;
    return nullptr;
  }
  const auto of_peer = sas_of(addr);
  const auto established = static_cast<std::size_t>(std::count_if(
      of_peer.begin(), of_peer.end(), [](const IkeSa* o) { return o->isakmp() != nullptr && !o->ended; }));
  if (established >= _settings.max_ike_sas_per_peer) {
    ++_counters.ike_sas_per_peer;
    return nullptr;
  }
  auto random = _hooks.mm_random();
  if (_sas.contains({h.icookie, random.rcookie})) {
    return nullptr;  // a 2^-64 collision: the peer retransmits and gets a fresh cookie
  }
  auto sa = std::make_unique<IkeSa>();
  sa->mm = std::make_unique<ike::MainModeResponder>(_mm_config, random);
  sa->peer = peer;
  sa->created = sa->last_rx = now;
  IkeSa* raw = add_ike_sa({h.icookie, random.rcookie}, std::move(sa));
  set_half_open(*raw, true);
  return raw;
}

void IkeService::main_mode(IkeSa* sa, std::span<const std::uint8_t> msg, const Address& local,
                           const Address& peer, Clock::time_point now) {
  const bool was_established = sa->isakmp() != nullptr;
  const auto step = sa->mm->handle({msg, local.endpoint(), peer.endpoint()});
  const std::string mode = sa->mm->aggressive() ? "Aggressive Mode" : "Main Mode";
  if (step.failure != ike::MainModeFailure::none && sa->mm->state() != ike::MainModeState::failed) {
    ++_counters.dropped;
    _log.debug("ike", mode + " message from " + format_ipv4(ipv4_of(peer)) + " dropped: " +
                          step.cause);
    return;
  }
  sa->last_rx = now;
  sa->local = local;
  sa->peer = peer;
  if (step.reply) {
    send_main_mode(*sa, local, peer, *step.reply, true);
    sa->last_out = *step.reply;
    sa->retransmits = 0;
    sa->next_retransmit = now + _settings.retransmit_interval;
  }
  if (sa->mm->state() == ike::MainModeState::failed) {
    if (step.failure == ike::MainModeFailure::aggressive_refused) {
      ++_counters.aggressive_refused;
      ike::Header h;
      if (ike::parse_header(msg, h) == ike::ParseError::none) {
        if (_refused_aggressive.size() >= 64) {
          _refused_aggressive.pop_front();
        }
        _refused_aggressive.emplace_back(ipv4_of(peer), h.icookie);
      }
      _log.warning("ike", "Aggressive Mode from " + format_ipv4(ipv4_of(peer)) + " (ID " +
                              sa->mm->peer_identity() + ") refused: not enabled for this peer");
    } else {
      ++_counters.dropped;
      _log.warning("ike", mode + " with " + format_ipv4(ipv4_of(peer)) + " failed: " + step.cause);
    }
    erase(*sa);
    return;
  }
  if (sa->mm->state() == ike::MainModeState::wait_msg5 && sa->mm->nat().local_behind_nat &&
      !sa->told_local_nat) {
    sa->told_local_nat = true;
    _log.warning("ike", "NAT-D from " + format_ipv4(ipv4_of(peer)) +
                            ": we are behind a NAT (our address reached the peer rewritten)" +
                            windows_behind_nat_hint(sa->mm->peer_caps()));
  }
  if (!was_established && sa->isakmp() != nullptr) {
    established(*sa, now);
  }
}

void IkeService::established(IkeSa& sa, Clock::time_point now) {
  set_half_open(sa, false);
  ++_state_version;
  const ike::IsakmpSa& isakmp = *sa.isakmp();
  sa.peer_id = id_text(isakmp.peer_id);
  std::uint32_t life = _settings.ike_lifetime_s;
  if (isakmp.transform.life_seconds != 0) {
    life = std::min(life, isakmp.transform.life_seconds);
  }
  sa.expires = now + std::chrono::seconds(life);
  sa.established_at = now;
  sa.p1_rekey_at = now + std::chrono::seconds(life) * 9 / 10;
  const bool rsa = isakmp.transform.suite.auth == ike::AuthMethod::rsa_sig;
  _log.info("ike", "IKE SA established with " + format_ipv4(ipv4_of(sa.peer)) + " (ID " +
                       sa.peer_id + "): " + suite_text(isakmp.transform.suite) + ", auth " +
                       (rsa ? "RSA signature (certificate " + isakmp.peer_certificate + ")"
                            : std::string("pre-shared key")) +
                       ", NAT: " + nat_text(isakmp.nat) +
                       (isakmp.aggressive ? ", Aggressive Mode" : "") +
                       (sa.ours ? ", phase-1 rekey started by us" : ""));
  if (isakmp.initial_contact) {
    drop_stale(sa);
  }
  if (isakmp.peer_caps.dpd && _settings.dpd_interval.count() > 0) {
    sa.next_dpd = now + _settings.dpd_interval;
    RAND_bytes(reinterpret_cast<unsigned char*>(&sa.dpd_sequence), sizeof sa.dpd_sequence);
    sa.dpd_sequence &= 0x7fffffffu;  // RFC 3706 §7: room before the sequence wraps
  }
  if (isakmp.nat.local_behind_nat && _settings.nat_keepalive.count() > 0) {
    sa.next_keepalive = now + _settings.nat_keepalive;
  }
}

// RFC 2407 §4.6.3.3 INITIAL-CONTACT: the peer rebooted; whatever we still
// hold for it (same address and identity) is stale.
void IkeService::drop_stale(const IkeSa& fresh) {
  std::size_t ike_sas = 0, ipsec_sas = 0;
  for (IkeSa* of_peer : sas_of(ipv4_of(fresh.peer))) {
    IkeSa& old = *of_peer;
    if (&old == &fresh || old.isakmp() == nullptr || old.peer_id != fresh.peer_id) {
      continue;
    }
    while (!old.ipsec.empty()) {
      remove_ipsec(old, old.ipsec.size() - 1, "INITIAL-CONTACT", false);
      ++ipsec_sas;
    }
    ++ike_sas;
    erase(old);
  }
  _log.info("ike", "INITIAL-CONTACT from " + format_ipv4(ipv4_of(fresh.peer)) + " (ID " +
                       fresh.peer_id + "): dropped " + std::to_string(ike_sas) +
                       " stale IKE SAs and " + std::to_string(ipsec_sas) + " IPsec SA pairs");
}

void IkeService::quick_mode(IkeSa& sa, const ike::Header& h, std::span<const std::uint8_t> msg,
                            const Address& local, const Address& peer, Clock::time_point now) {
  if (sa.isakmp() == nullptr || sa.ended) {
    ++_counters.dropped;
    return;
  }
  auto it = sa.quick_modes.find(h.message_id);
  if (it != sa.quick_modes.end() && it->second.ours) {
    our_quick_mode(sa, h.message_id, msg, local, peer, now);
    return;
  }
  if (it == sa.quick_modes.end() &&
      std::find(sa.failed_quick_modes.begin(), sa.failed_quick_modes.end(), h.message_id) !=
          sa.failed_quick_modes.end()) {
    ++_counters.dropped;  // its failure was logged once
    return;
  }
  if (it == sa.quick_modes.end()) {
    const auto active = std::count_if(sa.quick_modes.begin(), sa.quick_modes.end(),
                                      [](const auto& kv) { return !kv.second.finished; });
    if (static_cast<std::size_t>(active) >= max_quick_modes) {
      ++_counters.dropped;
      return;
    }
    auto random = _hooks.qm_random();
    // Our inbound SPI must be unique in the data plane (it finds the SA by it).
    for (int tries = 0; tries < 4; ++tries) {
      if (!spi_in_use(random.spi)) {
        break;
      }
      random = _hooks.qm_random();
    }
    Exchange e;
    e.qm = std::make_unique<ike::QuickModeResponder>(*sa.isakmp(), _qm_config, std::move(random));
    it = sa.quick_modes.emplace(h.message_id, std::move(e)).first;
  }
  Exchange& ex = it->second;
  if (ex.finished) {
    // Absorbs a late duplicate; the responder answers a repeated QM1 itself.
    const auto step = ex.qm->handle({msg, local.endpoint(), peer.endpoint()});
    if (step.reply) {
      send(local, peer, *step.reply);
    }
    return;
  }
  const bool was_done = ex.qm->result() != nullptr;
  const auto step = ex.qm->handle({msg, local.endpoint(), peer.endpoint()});
  sa.last_rx = now;
  if (ex.inbound_spi == 0 && ex.qm->negotiated() != nullptr) {
    // In the data plane before HASH(2) leaves: the initiator may send on
    // the new SA the moment it has HASH(2), and its HASH(3) can arrive
    // after its first ESP packets (every rekey would lose them).
    const ike::EspSaPair& pair = *ex.qm->negotiated();
    if (!add_sa(channel::Direction::in, pair)) {
      sa.quick_modes.erase(it);
      return;
    }
    ex.inbound_spi = pair.inbound.spi;
    ex.inbound_peer = ipv4_of(pair.peer);
  }
  if (step.reply) {
    send(local, peer, *step.reply);
    ex.last_out = *step.reply;
    ex.local = local;
    ex.peer = peer;
    ex.retransmits = 0;
    ex.next_retransmit = now + _settings.retransmit_interval;
  }
  if (ex.qm->state() == ike::QuickModeState::failed) {
    _log.warning("ike", "Quick Mode with " + format_ipv4(ipv4_of(peer)) + " (ID " + sa.peer_id +
                            ") failed: " + step.cause);
    abandon(ex);
    sa.quick_modes.erase(it);
    sa.failed_quick_modes.push_back(h.message_id);
    if (sa.failed_quick_modes.size() > max_quick_modes) {
      sa.failed_quick_modes.pop_front();
    }
    return;
  }
  if (step.failure != ike::QuickModeFailure::none) {
    ++_counters.dropped;
    _log.debug("ike",
               "Quick Mode message from " + format_ipv4(ipv4_of(peer)) + " dropped: " + step.cause);
    return;
  }
  if (!was_done && ex.qm->result() != nullptr) {
    ex.finished = now;
    ex.last_out.clear();
    ex.inbound_spi = 0;  // the IpsecSa that install() records owns it now
    install(sa, *ex.qm->result(), now, now);
  }
}

// Our rekey: message 2 from the peer. Both SAs go in before HASH(3)
// leaves; the peer installs its side when HASH(3) arrives, so what the
// pair carries moves over a moment later, and the old pair is deleted
// once the peer had time to move too.
void IkeService::our_quick_mode(IkeSa& sa, std::uint32_t message_id,
                                std::span<const std::uint8_t> msg, const Address& local,
                                const Address& peer, Clock::time_point now) {
  auto it = sa.quick_modes.find(message_id);
  Exchange& ex = it->second;
  const bool was_done = ex.ours->result() != nullptr;
  const auto step = ex.ours->handle({msg, local.endpoint(), peer.endpoint()});
  if (ex.ours->state() == ike::QuickModeState::failed) {
    _log.warning("ike", "Quick Mode rekey with " + format_ipv4(ipv4_of(peer)) + " (ID " +
                            sa.peer_id + ") failed: " + step.cause);
    sa.quick_modes.erase(it);
    ++_state_version;  // the pair is saved as rekeyed now that nothing is in flight
    return;
  }
  if (step.failure != ike::QuickModeFailure::none) {
    ++_counters.dropped;
    _log.debug("ike", "Quick Mode message from " + format_ipv4(ipv4_of(peer)) +
                          " dropped: " + step.cause);
    return;
  }
  sa.last_rx = now;
  if (!was_done && ex.ours->result() != nullptr) {
    const ike::EspSaPair& pair = *ex.ours->result();
    ex.finished = now;
    ex.last_out.clear();
    if (!add_sa(channel::Direction::in, pair)) {
      ++_state_version;  // the rekey ended without a pair
      return;            // logged; the old pair stays until its lifetime
    }
    install(sa, pair, now, now + _settings.rekey_overlap / 4);
    for (IpsecSa& old : sa.ipsec) {
      if (old.spi_in == ex.replaces_spi_in) {
        old.retire_at = now + _settings.rekey_overlap;
        ++_state_version;
      }
    }
  }
  if (step.reply) {
    send(local, peer, *step.reply);
  }
}

bool IkeService::start_rekey(IkeSa& sa, IpsecSa& s, Clock::time_point now) {
  if (!s.basis || s.rekeying || sa.isakmp() == nullptr || sa.ended) {
    return false;
  }
  auto random = _hooks.qm_random();
  for (int tries = 0; tries < 4 && spi_in_use(random.spi); ++tries) {
    random = _hooks.qm_random();
  }
  std::uint32_t mid = fresh_message_id();
  while (sa.quick_modes.contains(mid)) {
    mid = fresh_message_id();
  }
  Exchange e;
  e.ours = std::make_unique<ike::QuickModeInitiator>(*sa.isakmp(), *s.basis, mid, std::move(random));
  const auto step = e.ours->start();
  s.rekeying = true;  // started or not, once
  const std::string what = format_ipv4(s.peer_addr) + " (SPIs in " + spi_hex(s.spi_in) + " out " +
                           spi_hex(s.spi_out) + ")";
  if (!step.reply) {
    ++_state_version;  // the pair is saved as rekeyed: a failed rekey is not retried
    _log.warning("ike", "rekey of the IPsec SA with " + what + " not started: " + step.cause);
    return false;
  }
  e.replaces_spi_in = s.spi_in;
  e.last_out = *step.reply;
  e.local = sa.local;
  e.peer = sa.peer;
  e.next_retransmit = now + _settings.retransmit_interval;
  send(sa.local, sa.peer, *step.reply);
  sa.quick_modes.emplace(mid, std::move(e));
  _log.info("ike", "rekeying the IPsec SA with " + what + ": Quick Mode started by us");
  return true;
}

std::size_t IkeService::rekey_peer(std::uint32_t peer_addr, Clock::time_point now) {
  std::size_t started = 0;
  for (IkeSa* sa : sas_of(peer_addr)) {
    if (sa->ipsec.empty()) {
      continue;
    }
    // The newest pair of this ISAKMP SA: older ones are on their way out.
    auto newest = std::max_element(sa->ipsec.begin(), sa->ipsec.end(),
                                   [](const IpsecSa& a, const IpsecSa& b) {
                                     return a.established < b.established;
                                   });
    if (!newest->retire_at && start_rekey(*sa, *newest, now)) {
      ++started;
    }
  }
  return started;
}

// Inner networks belong to one peer: the data plane sends what goes to a
// network down the newest tunnel SA that carries it, so a second peer
// claiming it would take the first one's traffic. The same peer (address
// and ID, over any of its ISAKMP SAs) may claim it again: that is a rekey.
std::string IkeService::tunnel_owner(const ike::IsakmpSa& asking, const Ipv4Prefix& net) const {
  const IkeSa* me = nullptr;
  for (const IkeSa* sa : sas_of(ipv4_of(asking.peer))) {
    if (sa->isakmp() == &asking) {
      me = sa;
    }
  }
  auto holds = [&](const ike::EspSaPair& p) {
    return !p.transport && ike::overlaps(p.peer_net, net);
  };
  for (const auto& [key, sa] : _sas) {
    if (me != nullptr && (sa.get() == me || same_peer(*sa, *me))) {
      continue;
    }
    const ike::EspSaPair* held = nullptr;
    for (const IpsecSa& s : sa->ipsec) {
      held = s.basis && holds(*s.basis) ? s.basis.get() : held;
    }
    for (const auto& [mid, ex] : sa->quick_modes) {
      const ike::EspSaPair* p = ex.qm ? ex.qm->negotiated() : nullptr;
      held = p != nullptr && holds(*p) ? p : held;
    }
    if (held != nullptr) {
      return format_ipv4(ipv4_of(sa->peer)) + " (ID " + sa->peer_id + ") to " +
             prefix_text(channel_prefix(held->peer_net));
    }
  }
  return {};
}

bool IkeService::spi_in_use(std::uint32_t spi) const {
  return std::any_of(_sas.begin(), _sas.end(), [&](const auto& kv) {
    const IkeSa& sa = *kv.second;
    return std::any_of(sa.ipsec.begin(), sa.ipsec.end(),
                       [&](const IpsecSa& s) { return s.spi_in == spi; }) ||
           std::any_of(sa.quick_modes.begin(), sa.quick_modes.end(),
                       [&](const auto& q) { return q.second.inbound_spi == spi; });
  });
}

// A Quick Mode that ends without HASH(3) takes its inbound SA with it.
void IkeService::abandon(Exchange& ex) {
  if (ex.inbound_spi != 0) {
    sa_del(channel::Direction::in, ex.inbound_spi, ex.inbound_peer);
    ex.inbound_spi = 0;
  }
}

void IkeService::clear_quick_modes(IkeSa& sa) {
  for (auto& [id, ex] : sa.quick_modes) {
    abandon(ex);
  }
  sa.quick_modes.clear();
}

bool IkeService::add_sa(channel::Direction dir, const ike::EspSaPair& pair) {
  const ike::EspDirection& keys = dir == channel::Direction::in ? pair.inbound : pair.outbound;
  channel::CtrlMsg m{};
  m.sa_add.hdr.type = channel::MsgType::sa_add;
  channel::SaParams& p = m.sa_add.sa;
  p.spi = keys.spi;
  p.dir = dir;
  p.encap = pair.udp_encapsulated ? channel::Encap::udp : channel::Encap::none;
  p.cipher = pair.cipher;
  p.auth = pair.auth;
  p.local_addr = _local_addr;
  p.peer_addr = ipv4_of(pair.peer);
  p.local_port = pair.udp_encapsulated ? pair.local.port : 0;
  p.peer_port = pair.udp_encapsulated ? pair.peer.port : 0;
  p.replay_window = dir == channel::Direction::in ? replay_window : 0;
  p.mode = pair.transport ? channel::Mode::transport : channel::Mode::tunnel;
  if (!pair.transport) {
    p.peer_net = channel_prefix(pair.peer_net);
    p.local_net = channel_prefix(pair.local_net);
  }
  p.cipher_key_len = static_cast<std::uint8_t>(keys.enc_key.size());
  p.auth_key_len = static_cast<std::uint8_t>(keys.auth_key.size());
  std::copy(keys.enc_key.begin(), keys.enc_key.end(), p.cipher_key);
  std::copy(keys.auth_key.begin(), keys.auth_key.end(), p.auth_key);
  if (pair.life_kilobytes != 0) {
    p.lifetime.hard_bytes = std::uint64_t{pair.life_kilobytes} * 1024;
    // Soft at 90%: the initiator rekeys; the event only tells the operator.
    p.lifetime.soft_bytes = p.lifetime.hard_bytes - p.lifetime.hard_bytes / 10;
  }
  const auto ack = _hooks.call(m);
  ike::wipe(p.cipher_key, sizeof p.cipher_key + sizeof p.auth_key);
  if (ack && (ack->result == channel::AckResult::ok || ack->result == channel::AckResult::replaced)) {
    return true;
  }
  ++_counters.dp_refused;
  _log.error("ike", std::string(dir == channel::Direction::in ? "inbound" : "outbound") +
                        " IPsec SA " + spi_hex(keys.spi) + " with " + format_ipv4(p.peer_addr) +
                        " not installed: the data plane " +
                        (ack ? "answered " + ack_result_name(ack->result)
                             : std::string("did not answer")));
  return false;
}

void IkeService::install(IkeSa& sa, const ike::EspSaPair& pair, Clock::time_point now,
                         Clock::time_point move_at) {
  const std::uint32_t peer_addr = ipv4_of(pair.peer);
  // The inbound SA went in with HASH(2).
  if (!add_sa(channel::Direction::out, pair)) {
    sa_del(channel::Direction::in, pair.inbound.spi, peer_addr);
    return;
  }
  IpsecSa s;
  s.spi_in = pair.inbound.spi;
  s.spi_out = pair.outbound.spi;
  s.peer_addr = peer_addr;
  s.udp = pair.udp_encapsulated;
  s.peer_port = pair.udp_encapsulated ? pair.peer.port : 0;
  s.transform = pair.describe();
  s.established = now;
  s.expires = now + std::chrono::seconds(pair.life_seconds);
  s.life_kilobytes = pair.life_kilobytes;
  {
    auto basis = std::make_shared<ike::EspSaPair>(pair);
    basis->inbound.enc_key.clear();
    basis->inbound.auth_key.clear();
    basis->outbound.enc_key.clear();
    basis->outbound.auth_key.clear();
    s.basis = std::move(basis);
  }
  s.rekey_at = now + std::chrono::seconds(pair.life_seconds) * 9 / 10;
  _log.info("ike",
            "IPsec SA established with " + format_ipv4(peer_addr) + ": " + s.transform +
                ", SPIs in " + spi_hex(s.spi_in) + " out " + spi_hex(s.spi_out) + ", lifetime " +
                std::to_string(pair.life_seconds) + " s" +
                (pair.life_kilobytes != 0 ? " / " + std::to_string(pair.life_kilobytes) + " KB"
                                          : std::string()) +
                (pair.transport ? std::string()
                                : ", tunnel " + prefix_text(channel_prefix(pair.peer_net)) +
                                      " <-> " + prefix_text(channel_prefix(pair.local_net))));
  if (move_at <= now) {
    move_to(s);
  } else {
    s.move_at = move_at;
  }
  sa.ipsec.push_back(std::move(s));
  ++_state_version;
}

// Older pairs of the peer stay until deleted, but what they carry moves
// to `fresh`: the peer sends on the newest pair, and replies must go out
// on it too (RFC 2408 practice; Windows expects it).
void IkeService::move_to(const IpsecSa& fresh) {
  if (!_hooks.pair_moved) {
    return;
  }
  std::vector<IpsecPairRef> older;
  for (const IkeSa* other : sas_of(fresh.peer_addr)) {
    for (const IpsecSa& o : other->ipsec) {
      if (&o != &fresh && o.peer_addr == fresh.peer_addr && o.udp == fresh.udp &&
          o.peer_port == fresh.peer_port) {
        older.push_back({o.peer_addr, o.spi_in, o.spi_out});
      }
    }
  }
  const IpsecPairRef to{fresh.peer_addr, fresh.spi_in, fresh.spi_out};
  for (const auto& o : older) {
    _hooks.pair_moved(o, to);
  }
}

// The newest other pair of the same peer, or nullptr.
const IkeService::IpsecSa* IkeService::newest_sibling(const IpsecSa& of) const {
  const IpsecSa* best = nullptr;
  for (const IkeSa* sa : sas_of(of.peer_addr)) {
    for (const IpsecSa& o : sa->ipsec) {
      if (&o != &of && o.peer_addr == of.peer_addr && o.udp == of.udp && o.peer_port == of.peer_port &&
          (best == nullptr || o.established > best->established)) {
        best = &o;
      }
    }
  }
  return best;
}

std::optional<IpsecPairRef> IkeService::pair_of(std::uint32_t spi_in, std::uint32_t peer_addr) const {
  for (const IkeSa* sa : sas_of(peer_addr)) {
    for (const IpsecSa& o : sa->ipsec) {
      if (o.spi_in == spi_in && o.peer_addr == peer_addr) {
        return IpsecPairRef{o.peer_addr, o.spi_in, o.spi_out};
      }
    }
  }
  return std::nullopt;
}

bool IkeService::release_pair(std::uint32_t spi_in, std::uint32_t peer_addr, const std::string& why) {
  for (IkeSa* of_peer : sas_of(peer_addr)) {
    IkeSa& sa = *of_peer;
    for (std::size_t i = 0; i < sa.ipsec.size(); ++i) {
      if (sa.ipsec[i].spi_in != spi_in || sa.ipsec[i].peer_addr != peer_addr) {
        continue;
      }
      remove_ipsec(sa, i, why, true, false);
      if (sa.ipsec.empty() && sa.isakmp() != nullptr && !sa.ended) {
        delete_isakmp(sa);
        _log.info("ike", "IKE SA with " + format_ipv4(ipv4_of(sa.peer)) + " (ID " + sa.peer_id +
                             ") deleted: " + why);
      }
      if (sa.ended && sa.ipsec.empty()) {
        erase(sa);
      }
      return true;
    }
  }
  return false;
}

void IkeService::delete_isakmp(IkeSa& sa) {
  const ike::IsakmpSa& k = *sa.isakmp();
  Bytes cookies(16);
  std::copy(k.icookie.begin(), k.icookie.end(), cookies.begin());
  std::copy(k.rcookie.begin(), k.rcookie.end(), cookies.begin() + 8);
  const ike::ByteView spis[] = {cookies};
  send_informational(
      sa, ike::PayloadType::delete_,
      ike::encode_delete(ike::doi_ipsec, static_cast<std::uint8_t>(ike::ProtocolId::isakmp), 16, spis));
  sa.ended = true;
  ++_state_version;
  clear_quick_modes(sa);
}

void IkeService::remove_ipsec(IkeSa& sa, std::size_t index, const std::string& why,
                              bool tell_peer, bool notify) {
  const IpsecSa s = sa.ipsec[index];
  std::optional<IpsecPairRef> successor;
  if (const IpsecSa* n = newest_sibling(sa.ipsec[index])) {
    successor = IpsecPairRef{n->peer_addr, n->spi_in, n->spi_out};
  }
  sa.ipsec.erase(sa.ipsec.begin() + static_cast<std::ptrdiff_t>(index));
  ++_state_version;
  const IpsecPairRef ref{s.peer_addr, s.spi_in, s.spi_out};
  // Before the SAs leave the data plane: sessions move first, so none
  // is left naming a deleted SA.
  if (notify && successor && _hooks.pair_moved) {
    _hooks.pair_moved(ref, *successor);
  }
  sa_del(channel::Direction::in, s.spi_in, s.peer_addr);
  sa_del(channel::Direction::out, s.spi_out, s.peer_addr);
  if (tell_peer && sa.isakmp() != nullptr && !sa.ended) {
    // RFC 2408 §3.15: we name our inbound SPI, the one the peer sends with.
    Bytes spi;
    ike::put32(spi, s.spi_in);
    const ike::ByteView spis[] = {spi};
    send_informational(
        sa, ike::PayloadType::delete_,
        ike::encode_delete(ike::doi_ipsec, static_cast<std::uint8_t>(ike::ProtocolId::esp), 4,
                           spis));
  }
  _log.info("ike", "IPsec SA with " + format_ipv4(s.peer_addr) + " (SPIs in " + spi_hex(s.spi_in) +
                       " out " + spi_hex(s.spi_out) + ") removed: " + why);
  if (notify && !successor && _hooks.pair_gone) {
    _hooks.pair_gone(ref, why);
  }
}

void IkeService::informational(IkeSa& sa, std::span<const std::uint8_t> msg,
                               Clock::time_point now) {
  if (sa.isakmp() == nullptr) {
    // During Main Mode the peer may report an error in the clear; it is
    // not authenticated, so it only shows in the debug log.
    ++_counters.dropped;
    _log.debug("ike", "unauthenticated informational message from " +
                          format_ipv4(ipv4_of(sa.peer)) + " ignored");
    if (sa.ours) {
      sa.last_dropped = "an unauthenticated notification" + clear_notification(msg);
    }
    return;
  }
  const auto r = ike::handle_informational(*sa.isakmp(), msg, fresh_message_id());
  if (!r.failure.empty()) {
    ++_counters.dropped;
    _log.debug("ike", "informational message from " + format_ipv4(ipv4_of(sa.peer)) +
                          " dropped: " + r.failure);
    return;
  }
  sa.last_rx = now;
  sa.dpd_unanswered = 0;
  if (r.reply) {
    send(sa.local, sa.peer, *r.reply);
  }
  for (const auto type : r.errors) {
    _log.warning("ike", "notification from " + format_ipv4(ipv4_of(sa.peer)) + " (ID " +
                            sa.peer_id +
                            "): " + std::string(ike::name(static_cast<ike::NotifyType>(type))));
  }
  for (const auto spi : r.deleted_esp_spis) {
    // The peer names its inbound SPI: our outbound one. After a phase-1
    // rekey the Delete may come over the newer ISAKMP SA of the same peer
    // and identity (charon moves its IPsec SAs to it).
    remove_deleted_pair(sa, spi);
  }
  if (r.initial_contact) {
    drop_stale(sa);
  }
  if (r.delete_isakmp && !sa.ended) {
    sa.ended = true;
    ++_state_version;
    clear_quick_modes(sa);
    _log.info("ike", "IKE SA with " + format_ipv4(ipv4_of(sa.peer)) + " (ID " + sa.peer_id +
                         ") deleted by the peer");
  }
}

// Of the peer: the same address and, once authenticated, the same identity.
bool IkeService::same_peer(const IkeSa& a, const IkeSa& b) {
  return ipv4_of(a.peer) == ipv4_of(b.peer) && a.peer_id == b.peer_id;
}

void IkeService::remove_deleted_pair(IkeSa& via, std::uint32_t spi_out) {
  auto try_in = [&](IkeSa& sa) {
    for (std::size_t i = 0; i < sa.ipsec.size(); ++i) {
      if (sa.ipsec[i].spi_out == spi_out) {
        remove_ipsec(sa, i, "deleted by the peer", false);
        return true;
      }
    }
    return false;
  };
  if (try_in(via)) {
    return;
  }
  for (IkeSa* other : sas_of(ipv4_of(via.peer))) {
    if (other != &via && same_peer(*other, via) && try_in(*other)) {
      return;
    }
  }
}

void IkeService::on_lifetime(const channel::SaLifetimeEvent& e, Clock::time_point) {
  if (e.kind != channel::LifetimeKind::hard_bytes &&
      e.kind != channel::LifetimeKind::hard_packets) {
    return;
  }
  for (IkeSa* sa : sas_of(e.peer_addr)) {
    for (std::size_t i = 0; i < sa->ipsec.size(); ++i) {
      const IpsecSa& s = sa->ipsec[i];
      if (s.peer_addr == e.peer_addr &&
          (e.dir == channel::Direction::in ? s.spi_in : s.spi_out) == e.spi) {
        remove_ipsec(*sa, i, lifetime_kind_name(e.kind) + " lifetime reached", true);
        return;
      }
    }
  }
}

// ---- phase-1 rekeys started by us ----
//
// IKEv1 has no rekey in place: a new Main Mode to the peer, offering the
// suite and lifetime of the SA it replaces, from the endpoints that SA
// uses now (port 4500 with the non-ESP marker for a peer behind a NAT:
// the mapping its NAT keeps open is that one). Once it is established the
// IPsec pairs of the old SA are carried by the new one (DPD, Delete and
// our Quick Modes use it), and the old SA is deleted with an ISAKMP
// Delete over itself; the pairs and their traffic are not touched.

std::size_t IkeService::rekey_phase1(std::uint32_t peer_addr, Clock::time_point now) {
  std::vector<IkeSa*> olds;
  for (IkeSa* sa : sas_of(peer_addr)) {
    if (sa->isakmp() != nullptr && !sa->ended && !phase1_rekey_running(*sa)) {
      olds.push_back(sa);
    }
  }
  // Collected first: each start adds an entry to _sas.
  std::size_t started = 0;
  for (IkeSa* old : olds) {
    started += start_phase1_rekey(*old, now) ? 1 : 0;
  }
  return started;
}

bool IkeService::phase1_rekey_running(const IkeSa& old) const {
  const ike::IsakmpSa& k = *old.isakmp();
  const auto of_peer = sas_of(ipv4_of(old.peer));
  return std::any_of(of_peer.begin(), of_peer.end(), [&](const IkeSa* o) {
    return o->ours && o->isakmp() == nullptr && o->replaces == CookiePair{k.icookie, k.rcookie};
  });
}

void IkeService::phase1_rekey_due(IkeSa& sa, Clock::time_point now) {
  sa.p1_rekey_started = true;  // once, whatever comes of it
  // The peer may have replaced it already (its own new Main Mode).
  for (const IkeSa* other : sas_of(ipv4_of(sa.peer))) {
    if (other != &sa && other->isakmp() != nullptr && !other->ended && same_peer(*other, sa) &&
        other->established_at > sa.established_at) {
      return;
    }
  }
  if (!phase1_rekey_running(sa)) {
    start_phase1_rekey(sa, now);
  }
}

bool IkeService::start_phase1_rekey(IkeSa& old, Clock::time_point now) {
  const ike::IsakmpSa& k = *old.isakmp();
  ike::MainModeRekey basis;
  basis.suite = k.transform.suite;
  basis.life_seconds = static_cast<std::uint32_t>(
      std::chrono::duration_cast<std::chrono::seconds>(old.expires - old.established_at).count());
  basis.caps = k.peer_caps;
  basis.peer_id = k.peer_id_bytes;
  basis.psk = k.psk;
  auto random = _hooks.mm_random();
  const CookiePair key{random.rcookie, ike::Cookie{}};
  const std::string what = format_ipv4(ipv4_of(old.peer)) + " (ID " + old.peer_id + ")";
  if (_sas.contains(key)) {
    return false;  // a 2^-64 collision
  }
  auto sa = std::make_unique<IkeSa>();
  sa->ours = std::make_unique<ike::MainModeInitiator>(_mm_config, std::move(basis), random);
  const auto step = sa->ours->start();
  if (!step.reply) {
    _log.warning("ike", "phase-1 rekey of " + what + " not started: " + step.cause);
    return false;
  }
  // RFC 3948 §2.2: a peer behind a NAT is reached where its mapping is,
  // from our port 4500 with the non-ESP marker from message 1 on.
  const bool nat_t = k.peer_caps.nat_t != ike::NatTVariant::none && old.peer.port != port_ike;
  sa->local = address_of(_local_addr, nat_t ? port_nat_t : port_ike);
  sa->peer = nat_t ? old.peer : address_of(ipv4_of(old.peer), port_ike);
  sa->peer_id = old.peer_id;
  sa->created = sa->last_rx = now;
  sa->replaces = {k.icookie, k.rcookie};
  sa->last_out = *step.reply;
  sa->next_retransmit = now + _settings.retransmit_interval;
  send(sa->local, sa->peer, *step.reply);
  add_ike_sa(key, std::move(sa));
  _log.info("ike", "rekeying the IKE SA with " + what + ": Main Mode started by us");
  return true;
}

void IkeService::our_main_mode(std::map<CookiePair, std::unique_ptr<IkeSa>>::iterator it,
                               std::span<const std::uint8_t> msg, const Address& local,
                               const Address& peer, Clock::time_point now) {
  IkeSa& sa = *it->second;
  const auto step = sa.ours->handle({msg, local.endpoint(), peer.endpoint()});
  const std::string what = format_ipv4(ipv4_of(peer)) + " (ID " + sa.peer_id + ")";
  if (sa.ours->state() == ike::MainModeInitiatorState::failed) {
    ++_counters.dropped;
    _log.warning("ike", "phase-1 rekey of " + what + " failed: " + step.cause);
    erase(it);
    return;
  }
  if (step.failure != ike::MainModeFailure::none) {
    ++_counters.dropped;
    sa.last_dropped = step.cause;
    _log.debug("ike", "Main Mode message from " + format_ipv4(ipv4_of(peer)) +
                          " dropped (our phase-1 rekey): " + step.cause);
    return;
  }
  sa.last_rx = now;
  sa.local = local;
  sa.peer = peer;
  if (step.reply) {
    send_main_mode(sa, local, peer, *step.reply, true);
    sa.last_out = *step.reply;
    sa.retransmits = 0;
    sa.next_retransmit = now + _settings.retransmit_interval;
  }
  if (it->first.second == ike::Cookie{}) {
    // Message 2 told the peer's cookie: the SA is filed under both now.
    ike::Header h;
    if (ike::parse_header(msg, h) != ike::ParseError::none ||
        _sas.contains({h.icookie, h.rcookie})) {
      erase(it);
      return;
    }
    auto node = _sas.extract(it);
    node.key().second = h.rcookie;
    _sas.insert(std::move(node));
  }
  if (sa.isakmp() != nullptr) {
    sa.last_out.clear();
    phase1_rekeyed(sa, now);
  }
}

void IkeService::phase1_rekeyed(IkeSa& fresh, Clock::time_point now) {
  established(fresh, now);
  const auto it = _sas.find(fresh.replaces);
  if (it == _sas.end() || it->second.get() == &fresh) {
    return;  // the old SA ended meanwhile
  }
  IkeSa& old = *it->second;
  // A rekey of ours that was running on the old SA ends with it: its pair
  // may be rekeyed again over the new one.
  for (const auto& [mid, ex] : old.quick_modes) {
    for (IpsecSa& s : old.ipsec) {
      if (ex.ours && !ex.finished && s.spi_in == ex.replaces_spi_in) {
        s.rekeying = false;
      }
    }
  }
  for (IpsecSa& s : old.ipsec) {
    fresh.ipsec.push_back(std::move(s));
  }
  old.ipsec.clear();
  if (old.isakmp() != nullptr && !old.ended) {
    delete_isakmp(old);
  }
  _log.info("ike", "IKE SA with " + format_ipv4(ipv4_of(old.peer)) + " (ID " + old.peer_id +
                       ") deleted: replaced by our phase-1 rekey (" +
                       std::to_string(fresh.ipsec.size()) + " IPsec SA pairs carried over)");
  erase(it);
}

bool IkeService::poll_phase1_rekey(IkeSa& sa, Clock::time_point now) {
  if (sa.isakmp() != nullptr || now < sa.next_retransmit) {
    return false;
  }
  if (sa.retransmits >= _settings.retransmits) {
    _log.warning(
        "ike", "phase-1 rekey of " + format_ipv4(ipv4_of(sa.peer)) + " (ID " + sa.peer_id +
                   ") failed: no answer to message " + std::to_string(sa.ours->last_sent()) + " (" +
                   std::to_string(sa.retransmits) + " retransmits" +
                   (sa.last_dropped.empty() ? "" : "; last answer dropped: " + sa.last_dropped) +
                   ")");
    return true;
  }
  ++sa.retransmits;
  ++_counters.retransmits;
  sa.next_retransmit = now + _settings.retransmit_interval;
  send_main_mode(sa, sa.local, sa.peer, sa.last_out, false);
  return false;
}

// ---- timers ----

void IkeService::poll(Clock::time_point now) {
  const std::uint64_t refused =
      _counters.half_open_per_peer + _counters.half_open_total + _counters.ike_sas_per_peer;
  if (refused != _refusals_reported && now >= _next_refusal_report) {
    _log.warning("ike", std::to_string(refused - _refusals_reported) +
                            " new Main Mode exchanges refused (so far: " +
                            std::to_string(_counters.half_open_per_peer) +
                            " over the half-open limit per source, " +
                            std::to_string(_counters.half_open_total) +
                            " over the half-open limit in total, " +
                            std::to_string(_counters.ike_sas_per_peer) +
                            " over the IKE SA limit per source)");
    _refusals_reported = refused;
    _next_refusal_report = now + std::chrono::seconds(10);
  }
  for (auto it = _sas.begin(); it != _sas.end();) {
    IkeSa& sa = *it->second;
    // Formatted only for a log line: this loop visits every SA each pass.
    const auto peer = [&sa] { return format_ipv4(ipv4_of(sa.peer)); };
    // Main Mode: our last reply again until the next message comes.
    if (sa.half_open && now >= sa.next_retransmit) {
      if (sa.retransmits >= _settings.retransmits || sa.last_out.empty()) {
        // A Windows client that sees us behind a NAT stops after message 4.
        const bool nat_stop = sa.mm->state() == ike::MainModeState::wait_msg5 &&
                              sa.mm->nat().local_behind_nat && sa.mm->peer_caps().microsoft;
        _log.warning("ike", std::string(sa.mm->aggressive() ? "Aggressive" : "Main") +
                                " Mode with " + peer() + " failed: retransmits exhausted (" +
                                std::to_string(sa.retransmits) + " sent, no answer in " +
                                std::to_string((now - sa.last_rx) / std::chrono::seconds(1)) +
                                " s)" +
                                (nat_stop ? "; no message 5 from a Windows client while we are "
                                            "behind a NAT" + windows_behind_nat_hint(sa.mm->peer_caps())
                                          : std::string()));
        auto next = std::next(it);
        erase(it);
        it = next;
        continue;
      }
      ++sa.retransmits;
      ++_counters.retransmits;
      sa.next_retransmit = now + _settings.retransmit_interval;
      send_main_mode(sa, sa.local, sa.peer, sa.last_out, false);
    }
    if (sa.ours && poll_phase1_rekey(sa, now)) {
      auto next = std::next(it);
      erase(it);
      it = next;
      continue;
    }
    for (auto q = sa.quick_modes.begin(); q != sa.quick_modes.end();) {
      Exchange& ex = q->second;
      if (ex.finished) {
        q = now - *ex.finished > finished_linger ? sa.quick_modes.erase(q) : std::next(q);
        continue;
      }
      if (now >= ex.next_retransmit && !ex.last_out.empty()) {
        if (ex.retransmits >= _settings.retransmits) {
          _log.warning("ike", "Quick Mode " + std::string(ex.ours ? "rekey " : "") + "with " +
                                  peer() + " (ID " + sa.peer_id + ") failed: retransmits exhausted (" +
                                  (ex.ours ? "no Quick Mode 2" : "no HASH(3)") + ")");
          if (ex.ours) {
            ++_state_version;  // the pair is saved as rekeyed from now on
          }
          abandon(ex);
          q = sa.quick_modes.erase(q);
          continue;
        }
        ++ex.retransmits;
        ++_counters.retransmits;
        ex.next_retransmit = now + _settings.retransmit_interval;
        send(ex.local, ex.peer, ex.last_out);
      }
      ++q;
    }
    for (std::size_t i = 0; i < sa.ipsec.size();) {
      IpsecSa& s = sa.ipsec[i];
      if (now >= s.expires) {
        remove_ipsec(sa, i, "lifetime in seconds reached", true);
      } else if (s.retire_at && now >= *s.retire_at) {
        remove_ipsec(sa, i, "replaced by our rekey", true);
      } else {
        if (s.move_at && now >= *s.move_at) {
          s.move_at.reset();
          ++_state_version;
          move_to(s);
        }
        // The sibling scan walks every SA: only for a pair whose rekey is due.
        if (now >= s.rekey_at && !s.rekeying && !s.retire_at) {
          const IpsecSa* other = newest_sibling(s);
          if (other == nullptr || other->established < s.established) {
            start_rekey(sa, s, now);  // once: a failed rekey is not retried
          }
        }
        ++i;
      }
    }
    if (sa.isakmp() != nullptr && !sa.ended && now < sa.expires && now >= sa.p1_rekey_at &&
        !sa.p1_rekey_started) {
      phase1_rekey_due(sa, now);
    }
    if (sa.isakmp() != nullptr && !sa.ended) {
      if (now >= sa.expires) {
        delete_isakmp(sa);
        _log.info("ike", "IKE SA with " + peer() + " (ID " + sa.peer_id + ") expired");
      } else if (sa.next_dpd != Clock::time_point{} && now >= sa.next_dpd) {
        if (now - sa.last_rx < _settings.dpd_interval) {
          sa.next_dpd = sa.last_rx + _settings.dpd_interval;
        } else if (sa.dpd_unanswered >= _settings.dpd_failures) {
          _log.warning("ike", "peer " + peer() + " (ID " + sa.peer_id +
                                  ") is dead: " + std::to_string(sa.dpd_unanswered) +
                                  " R-U-THERE unanswered (RFC 3706)");
          while (!sa.ipsec.empty()) {
            remove_ipsec(sa, sa.ipsec.size() - 1, "dead peer", false);
          }
          auto next = std::next(it);
          erase(it);
          it = next;
          continue;
        } else {
          ++sa.dpd_unanswered;
          const ike::IsakmpSa& k = *sa.isakmp();
          send_informational(sa, ike::PayloadType::notification,
                             ike::encode_dpd(ike::NotifyType::dpd_r_u_there, k.icookie, k.rcookie,
                                             ++sa.dpd_sequence));
          sa.next_dpd = now + _settings.retransmit_interval;
        }
      }
      if (sa.next_keepalive != Clock::time_point{} && now >= sa.next_keepalive) {
        // RFC 3948 §2.3: one 0xFF byte keeps our NAT's mapping open.
        const std::uint8_t keepalive[] = {0xff};
        UdpEndpoints ends{_local_addr, ipv4_of(sa.peer), sa.local.port, sa.peer.port};
        if (!_hooks.send(build_udp_datagram(ends, keepalive))) {
          ++_counters.tx_failed;
        }
        sa.next_keepalive = now + _settings.nat_keepalive;
      }
    }
    if (sa.ended && sa.ipsec.empty()) {
      auto next = std::next(it);
      erase(it);
      it = next;
      continue;
    }
    ++it;
  }
}

// ---- helpers ----

void IkeService::set_half_open(IkeSa& sa, bool half_open) {
  if (sa.half_open == half_open) {
    return;
  }
  sa.half_open = half_open;
  const std::uint32_t addr = ipv4_of(sa.peer);
  if (half_open) {
    ++_half_open_total;
    ++_half_open_per_peer[addr];
  } else {
    --_half_open_total;
    if (--_half_open_per_peer[addr] == 0) {
      _half_open_per_peer.erase(addr);
    }
  }
}

void IkeService::erase(std::map<CookiePair, std::unique_ptr<IkeSa>>::iterator it) {
  IkeSa* sa = it->second.get();
  if (sa->isakmp() != nullptr) {
    ++_state_version;
  }
  set_half_open(*sa, false);
  clear_quick_modes(*sa);
  auto [first, last] = _by_peer.equal_range(ipv4_of(sa->peer));
  for (; first != last; ++first) {
    if (first->second == sa) {
      _by_peer.erase(first);
      break;
    }
  }
  _sas.erase(it);
}

// By its cookies when established (its key in _sas then), else by a walk.
void IkeService::erase(IkeSa& sa) {
  if (const ike::IsakmpSa* k = sa.isakmp()) {
    if (const auto it = _sas.find({k->icookie, k->rcookie}); it != _sas.end() && it->second.get() == &sa) {
      erase(it);
      return;
    }
  }
  for (auto it = _sas.begin(); it != _sas.end(); ++it) {
    if (it->second.get() == &sa) {
      erase(it);
      return;
    }
  }
}

IkeService::IkeSa* IkeService::add_ike_sa(const CookiePair& key, std::unique_ptr<IkeSa> sa) {
  IkeSa* raw = sa.get();
  _by_peer.emplace(ipv4_of(raw->peer), raw);
  _sas.emplace(key, std::move(sa));
  return raw;
}

std::vector<IkeService::IkeSa*> IkeService::sas_of(std::uint32_t peer_addr) const {
  std::vector<IkeSa*> out;
  auto [first, last] = _by_peer.equal_range(peer_addr);
  for (; first != last; ++first) {
    out.push_back(first->second);
  }
  return out;
}

void IkeService::send(const Address& local, const Address& peer,
                      std::span<const std::uint8_t> msg) {
  trace("out to", peer, msg);
  UdpEndpoints ends{_local_addr, ipv4_of(peer), local.port, peer.port};
  Bytes payload;
  if (local.port == port_nat_t) {
    payload.assign(4, 0);  // the non-ESP marker (RFC 3948 §2.2)
  }
  payload.insert(payload.end(), msg.begin(), msg.end());
  if (!_hooks.send(build_udp_datagram(ends, payload))) {
    ++_counters.tx_failed;
  }
}

// Main Mode message 6 or Aggressive Mode message 2 with certificates can
// outgrow what a path carries whole; a peer that announced IKE
// fragmentation gets it in fragments, a new id for each new reply and the
// same id when it goes again.
void IkeService::send_main_mode(IkeSa& sa, const Address& local, const Address& peer,
                                std::span<const std::uint8_t> msg, bool fresh) {
  // Ours (a phase-1 rekey) knows from the SA it replaces whether the peer
  // takes fragments: message 5 carries our certificate.
  // Before the SA is up, its exchange knows them from message 1.
  const ike::IsakmpSa* k = sa.isakmp();
  const bool fragments = k != nullptr    ? k->peer_caps.fragmentation
                         : sa.ours       ? sa.ours->peer_caps().fragmentation
                                         : sa.mm && sa.mm->peer_caps().fragmentation;
  const std::size_t wrap = 20 + 8 + (local.port == port_nat_t ? 4 : 0);  // IPv4, UDP, marker
  if (fragments && msg.size() + wrap > _settings.fragment_size) {
    if (fresh) {
      ++sa.fragment_id;
    }
    const auto parts = ike::split_into_fragments(msg, sa.fragment_id, _settings.fragment_size - wrap);
    if (!parts.empty()) {
      ++_counters.fragmented;
      for (const auto& p : parts) {
        send(local, peer, p);
      }
      return;
    }
  }
  send(local, peer, msg);
}

void IkeService::send_informational(IkeSa& sa, ike::PayloadType type,
                                    std::span<const std::uint8_t> body) {
  if (const auto msg = ike::build_informational(*sa.isakmp(), fresh_message_id(), type, body)) {
    send(sa.local, sa.peer, *msg);
  }
}

bool IkeService::sa_del(channel::Direction d, std::uint32_t spi, std::uint32_t peer) {
  const auto ack = _hooks.call(channel::make_sa_del(d, spi, peer));
  if (!ack ||
      (ack->result != channel::AckResult::ok && ack->result != channel::AckResult::not_found)) {
    _log.warning("ike", "delete of " + sa_name(d, spi, peer) + ": " +
                            (ack ? ack_result_name(ack->result) : std::string("no ack")));
    return false;
  }
  return true;
}

std::uint32_t IkeService::fresh_message_id() const {
  if (_hooks.message_id) {
    return _hooks.message_id();
  }
  std::uint32_t mid = 0;
  while (mid == 0) {
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&mid), sizeof mid) != 1) {
      mid = 1;  // informational messages only; uniqueness is not security
    }
  }
  return mid;
}

// ---- views ----

std::vector<IkeSaView> IkeService::sas(Clock::time_point now) const {
  std::vector<IkeSaView> out;
  for (const auto& [key, sa] : _sas) {
    IkeSaView v;
    v.peer_addr = ipv4_of(sa->peer);
    v.peer_port = sa->peer.port;
    v.peer_id = sa->peer_id;
    v.mode = sa->ours ? "main-ours" : sa->mm->aggressive() ? "aggressive" : "main";
    v.age = std::chrono::duration_cast<std::chrono::seconds>(now - sa->created);
    if (const auto* k = sa->isakmp()) {
      v.state = sa->ended ? "ended" : "established";
      v.suite = suite_text(k->transform.suite);
      v.nat = nat_text(k->nat);
      v.life_left = sa->ended ? std::chrono::seconds(0) : seconds_left(sa->expires, now);
    } else if (sa->ours) {
      v.state = "MM sent " + std::to_string(sa->ours->last_sent());
    } else {
      switch (sa->mm->state()) {
        case ike::MainModeState::wait_msg3:
          v.state = sa->mm->aggressive() ? "AM sent 2" : "MM sent 2";
          break;
        case ike::MainModeState::wait_msg5:
          v.state = "MM sent 4";
          break;
        default:
          v.state = "MM";
      }
    }
    for (const auto& s : sa->ipsec) {
      v.ipsec.push_back({s.spi_in, s.spi_out, s.transform,
                         std::chrono::duration_cast<std::chrono::seconds>(now - s.established),
                         seconds_left(s.expires, now), s.life_kilobytes});
    }
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace l2tpgw::cp
