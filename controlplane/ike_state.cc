// IkeService across a restart of the control plane: each established
// ISAKMP SA as an "ike_sa" record, each of its IPsec SA pairs as an
// "ipsec_sa" record naming it by its cookies (controlplane/state_file.h).
//
// Saved is what the SAs need from now on and cannot be derived again:
// the phase-1 keys that protect Quick Mode and informational exchanges
// (SKEYID_d, SKEYID_a, the encryption key and the last CBC block of
// phase 1, from which each exchange's IV follows), the suite, peer ID,
// what the peer announced (NAT-T dialect and vendor ID, DPD,
// fragmentation, Microsoft: a phase-1 rekey of ours announces the same)
// and NAT status, endpoints, the DPD sequence, and absolute times on
// steady_clock (CLOCK_MONOTONIC, which a restart on the same boot keeps).
// The pre-shared key is not saved: the configuration gives it again
// (ike::psk_again). A pair keeps what a rekey of ours offers again (transform, peer
// endpoint, selectors, lifetimes) and its rekey state; its ESP keys stay
// in the data plane only: a pair comes back only while its SAs are there,
// and a rekey derives new keys. Derived on restore: the pair's lifetime
// end and rekey time, its local endpoint (its ISAKMP SA's), the peer's ID
// and the transform as text, a tunnel-mode pair's inner networks (from its
// selectors), the DPD and NAT keepalive schedules (started
// over from the restore). Exchanges in flight are not saved: a Main Mode
// or Quick Mode the peer was running is lost (its inbound SA is not among
// those restore() returns), and a rekey of ours in flight is started
// again.
#include <algorithm>
#include <limits>

#include "controlplane/ike/wire_util.h"
#include "controlplane/ike_service.h"
#include "controlplane/ike_service_sas.h"
#include "controlplane/names.h"
#include "dataplane/config/config.h"

namespace l2tpgw::cp {
namespace {

using Clock = IkeService::Clock;
using Cookies = std::pair<ike::Cookie, ike::Cookie>;

constexpr std::string_view kind_ike = "ike_sa";
constexpr std::string_view kind_ipsec = "ipsec_sa";
// More R-U-THEREs than a peer could get between two writes of the file
// (at least every 30 s; DPD at most once a second).
constexpr std::uint32_t dpd_sequence_skip = 1024;

// 0 for none: steady_clock's epoch (boot) is never a time of an SA.
std::optional<Clock::time_point> optional_time_of(const state::Record& r, std::string_view field) {
  if (r.u64(field) == 0) {
    return std::nullopt;
  }
  return r.time(field);
}

void put_optional_time(state::Record& r, std::string_view field, const std::optional<Clock::time_point>& t) {
  if (t) {
    r.put_time(field, *t);
  } else {
    r.put(field, 0);
  }
}

void put_endpoints(state::Record& r, const ike::Address& local, const ike::Address& peer) {
  r.put("local_addr", ipv4_of(local)).put("local_port", local.port);
  r.put("peer_addr", ipv4_of(peer)).put("peer_port", peer.port);
}

ike::Address endpoint_of(const state::Record& r, const char* addr, const char* port) {
  return address_of(r.u32(addr), r.u16(port));
}

void put_cookies(state::Record& r, const Cookies& c) {
  r.put_bytes("icookie", c.first).put_bytes("rcookie", c.second);
}

ike::Cookie cookie_of(const state::Record& r, std::string_view field) {
  const auto b = r.bytes(field);
  ike::Cookie c{};
  if (b.size() != c.size()) {
    r.fail(field, "is not 8 bytes");
  }
  std::copy(b.begin(), b.end(), c.begin());
  return c;
}

Cookies cookies_of(const state::Record& r) {
  return {cookie_of(r, "icookie"), cookie_of(r, "rcookie")};
}

// Key material of an exact length; the decoded copy is wiped.
ike::SecretBytes secret_of(const state::Record& r, std::string_view field, std::size_t len) {
  auto b = r.bytes(field);
  ike::SecretBytes out(b.begin(), b.end());
  ike::wipe(b.data(), b.size());
  if (out.size() != len) {
    r.fail(field, "has the wrong length for the suite");
  }
  return out;
}

// ---- phase 1 ----

ike::Hash hash_of(const state::Record& r) {
  const auto v = r.u8("hash");
  for (const auto h :
       {ike::Hash::md5, ike::Hash::sha1, ike::Hash::sha256, ike::Hash::sha384, ike::Hash::sha512}) {
    if (v == static_cast<std::uint8_t>(h)) {
      return h;
    }
  }
  r.fail("hash", "names no hash of ours");
}

ike::CipherSpec cipher_of(const state::Record& r) {
  const auto v = r.u8("cipher");
  const auto bits = r.u16("key_bits");
  if (v == static_cast<std::uint8_t>(ike::Cipher::aes_cbc)) {
    if (bits != 128 && bits != 192 && bits != 256) {
      r.fail("key_bits", "is not an AES key size");
    }
    return {ike::Cipher::aes_cbc, bits};
  }
  if (v == static_cast<std::uint8_t>(ike::Cipher::des3_cbc)) {
    if (bits != 192) {
      r.fail("key_bits", "is not the 3DES key size");
    }
    return {ike::Cipher::des3_cbc, bits};
  }
  r.fail("cipher", "names no cipher of ours");
}

ike::DhGroup group_of(const state::Record& r, std::string_view field) {
  const auto v = r.u16(field);
  for (const auto g : {ike::DhGroup::modp1024, ike::DhGroup::modp1536, ike::DhGroup::modp2048,
                       ike::DhGroup::modp3072, ike::DhGroup::modp4096, ike::DhGroup::ecp256,
                       ike::DhGroup::ecp384}) {
    if (v == static_cast<std::uint16_t>(g)) {
      return g;
    }
  }
  r.fail(field, "names no group of ours");
}

ike::NatTVariant nat_t_of(const state::Record& r) {
  const auto v = r.u8("nat_t");
  if (v > static_cast<std::uint8_t>(ike::NatTVariant::rfc3947)) {
    r.fail("nat_t", "names no NAT-T dialect");
  }
  return static_cast<ike::NatTVariant>(v);
}

// The NAT-T vendor ID the peer sent, echoed in a phase-1 rekey of ours.
ike::VendorId nat_t_vid_of(const state::Record& r) {
  const auto v = r.u8("nat_t_vid");
  if (v > static_cast<std::uint8_t>(ike::VendorId::nat_t_draft_03)) {
    r.fail("nat_t_vid", "names no NAT-T vendor ID");
  }
  return static_cast<ike::VendorId>(v);
}

void put_isakmp(state::Record& r, const ike::IsakmpSa& k) {
  put_cookies(r, {k.icookie, k.rcookie});
  const auto& suite = k.transform.suite;
  r.put("aggressive", k.aggressive);
  r.put("cipher", static_cast<std::uint8_t>(suite.cipher.cipher));
  r.put("key_bits", suite.cipher.key_bits);
  r.put("hash", static_cast<std::uint8_t>(suite.hash));
  r.put("group", static_cast<std::uint16_t>(suite.group));
  r.put_bytes("skeyid_d", k.skeyid_d);
  r.put_bytes("skeyid_a", k.skeyid_a);
  r.put_bytes("enc_key", k.enc_key);
  r.put_bytes("last_block", k.last_block);
  r.put_bytes("peer_id", k.peer_id_bytes);
  r.put("nat_t", static_cast<std::uint8_t>(k.peer_caps.nat_t));
  r.put("nat_t_vid", static_cast<std::uint8_t>(k.peer_caps.nat_t_vid));
  r.put("dpd", k.peer_caps.dpd);
  r.put("fragmentation", k.peer_caps.fragmentation);
  r.put("microsoft", k.peer_caps.microsoft);
  r.put("local_nat", k.nat.local_behind_nat);
  r.put("peer_nat", k.nat.peer_behind_nat);
}

// The fields put_isakmp wrote, checked; the endpoints are the caller's.
ike::IsakmpSa isakmp_of(const state::Record& r) {
  ike::IsakmpSa k;
  std::tie(k.icookie, k.rcookie) = cookies_of(r);
  k.aggressive = r.flag("aggressive");
  auto& suite = k.transform.suite;
  suite.cipher = cipher_of(r);
  suite.hash = hash_of(r);
  suite.group = group_of(r, "group");
  const std::size_t digest = ike::digest_len(suite.hash);
  k.skeyid_d = secret_of(r, "skeyid_d", digest);
  k.skeyid_a = secret_of(r, "skeyid_a", digest);
  k.enc_key = secret_of(r, "enc_key", suite.cipher.key_len());
  k.last_block = secret_of(r, "last_block", suite.cipher.block());
  k.peer_id_bytes = r.bytes("peer_id");
  if (ike::parse_id(k.peer_id_bytes, k.peer_id) != ike::ParseError::none) {
    r.fail("peer_id", "is not an ID payload");
  }
  k.peer_caps.nat_t = nat_t_of(r);
  k.peer_caps.nat_t_vid = nat_t_vid_of(r);
  k.peer_caps.dpd = r.flag("dpd");
  k.peer_caps.fragmentation = r.flag("fragmentation");
  k.peer_caps.microsoft = r.flag("microsoft");
  k.nat.local_behind_nat = r.flag("local_nat");
  k.nat.peer_behind_nat = r.flag("peer_nat");
  k.local = endpoint_of(r, "local_addr", "local_port");
  k.peer = endpoint_of(r, "peer_addr", "peer_port");
  return k;
}

// ---- phase 2 ----

// The IKE suite behind the data plane's algorithms (ike::to_dataplane
// backwards): the data plane's names keep the ICV length, which IKEv1 does
// not negotiate (Phase2Policy::sha256_icv_bits).
ike::Phase2Suite esp_suite_of(const state::Record& r, EspCipher c, EspAuth a) {
  ike::Phase2Suite s;
  switch (c) {
    case EspCipher::aes_cbc_128:
      s.cipher = ike::EspId::aes_cbc;
      s.key_bits = 128;
      break;
    case EspCipher::aes_cbc_256:
      s.cipher = ike::EspId::aes_cbc;
      s.key_bits = 256;
      break;
    case EspCipher::des3_cbc:
      s.cipher = ike::EspId::des3;
      s.key_bits = 192;
      break;
    default:
      r.fail("cipher", "is not negotiated by IKE");
  }
  switch (a) {
    case EspAuth::hmac_sha1_96:
      s.auth = ike::EspAuthAlg::hmac_sha1;
      break;
    case EspAuth::hmac_sha256_128:
    case EspAuth::hmac_sha256_96:
      s.auth = ike::EspAuthAlg::hmac_sha256;
      break;
    default:
      r.fail("auth", "is not negotiated by IKE");
  }
  return s;
}

ike::EncapMode encap_of(const state::Record& r) {
  const auto v = r.u16("encap");
  for (const auto m : {ike::EncapMode::tunnel, ike::EncapMode::transport,
                       ike::EncapMode::udp_tunnel, ike::EncapMode::udp_transport,
                       ike::EncapMode::udp_tunnel_draft, ike::EncapMode::udp_transport_draft}) {
    if (v == static_cast<std::uint16_t>(m)) {
      return m;
    }
  }
  r.fail("encap", "names no encapsulation mode");
}

void put_pair(state::Record& r, const ike::EspSaPair& p) {
  r.put("spi_in", p.inbound.spi).put("spi_out", p.outbound.spi);
  r.put_str("cipher", info(p.cipher).name).put_str("auth", info(p.auth).name);
  r.put("encap", static_cast<std::uint16_t>(p.transform.encapsulation));
  r.put("pfs", p.pfs ? static_cast<std::uint16_t>(*p.pfs) : 0);
  r.put("peer_addr", ipv4_of(p.peer)).put("peer_port", p.peer.port);
  r.put("life_s", p.life_seconds).put("life_kb", p.life_kilobytes);
  r.put_bytes("idci", p.idci).put_bytes("idcr", p.idcr);
}

// What a rekey of ours offers again, keys empty; the local endpoint is its
// ISAKMP SA's (Quick Mode takes it from there).
ike::EspSaPair basis_of(const state::Record& r) {
  ike::EspSaPair p;
  p.inbound.spi = r.u32("spi_in");
  p.outbound.spi = r.u32("spi_out");
  const auto c = parse_cipher(r.str("cipher"));
  if (!c) {
    r.fail("cipher", "names no ESP cipher");
  }
  const auto a = parse_auth(r.str("auth"));
  if (!a) {
    r.fail("auth", "names no ESP authentication");
  }
  p.cipher = *c;
  p.auth = *a;
  p.transform.suite = esp_suite_of(r, *c, *a);
  p.transform.spi = p.outbound.spi;
  p.transform.encapsulation = encap_of(r);
  if (r.u16("pfs") != 0) {
    p.transform.pfs_group = group_of(r, "pfs");
  }
  p.pfs = p.transform.pfs_group;
  p.transport = ike::is_transport(p.transform.encapsulation);
  p.udp_encapsulated = ike::is_udp_encapsulated(p.transform.encapsulation);
  p.peer = endpoint_of(r, "peer_addr", "peer_port");
  p.life_seconds = r.u32("life_s");
  p.life_kilobytes = r.u32("life_kb");
  p.idci = r.bytes("idci");
  p.idcr = r.bytes("idcr");
  if (!p.transport) {
    // The inner networks follow from the selectors, as when the Quick
    // Mode agreed them; the data plane's SAs keep their own copy.
    const auto peer_net = ike::id_prefix(p.idci);
    const auto local_net = ike::id_prefix(p.idcr);
    if (!peer_net) {
      r.fail("idci", "is not an IPv4 prefix for a tunnel-mode pair");
    }
    if (!local_net) {
      r.fail("idcr", "is not an IPv4 prefix for a tunnel-mode pair");
    }
    p.peer_net = *peer_net;
    p.local_net = *local_net;
  }
  return p;
}

const channel::SaParams* find_sa(std::span<const channel::SaParams> dir, channel::Direction d,
                                 std::uint32_t spi, std::uint32_t peer) {
  const auto it = std::find_if(dir.begin(), dir.end(), [&](const channel::SaParams& p) {
    return p.dir == d && p.spi == spi && p.peer_addr == peer;
  });
  return it != dir.end() ? &*it : nullptr;
}

}  // namespace

// `now` is not needed: every time saved is absolute.
void IkeService::save(std::vector<state::Record>& out, Clock::time_point) const {
  for (const auto& [key, sa] : _sas) {
    const ike::IsakmpSa* k = sa->isakmp();
    if (k == nullptr || (sa->ended && sa->ipsec.empty())) {
      continue;
    }
    state::Record& r = out.emplace_back(std::string(kind_ike));
    put_isakmp(r, *k);
    put_endpoints(r, sa->local, sa->peer);
    r.put_time("created", sa->created).put_time("established", sa->established_at);
    r.put_time("expires", sa->expires);
    r.put("ended", sa->ended).put("dpd_seq", sa->dpd_sequence);
    for (const IpsecSa& s : sa->ipsec) {
      if (!s.basis) {
        continue;  // install() always sets it
      }
      state::Record& p = out.emplace_back(std::string(kind_ipsec));
      put_cookies(p, key);
      put_pair(p, *s.basis);
      p.put_time("established", s.established);
      put_optional_time(p, "move_at", s.move_at);
      put_optional_time(p, "retire_at", s.retire_at);
      // A rekey of ours still in flight is lost with the restart: it is
      // started again, like one that was never tried.
      const bool in_flight =
          std::any_of(sa->quick_modes.begin(), sa->quick_modes.end(), [&](const auto& q) {
            return q.second.ours && !q.second.finished && q.second.replaces_spi_in == s.spi_in;
          });
      p.put("rekeyed", s.rekeying && !in_flight);
    }
  }
}

std::vector<channel::SaParams> IkeService::restore(std::span<const state::Record> records,
                                                   std::span<const channel::SaParams> dp_sas,
                                                   Clock::time_point now) {
  // Everything is read and checked before anything changes.
  struct SavedIke {
    Cookies key;
    ike::IsakmpSa isakmp;
    Clock::time_point created, established, expires;
    bool ended = false;
    std::uint32_t dpd_sequence = 0;
  };
  struct SavedPair {
    Cookies owner;
    ike::EspSaPair basis;
    Clock::time_point established;
    std::optional<Clock::time_point> move_at, retire_at;
    bool rekeyed = false;
  };
  std::vector<SavedIke> ikes;
  std::vector<SavedPair> pairs;
  for (const state::Record& r : records) {
    if (r.kind() == kind_ike) {
      SavedIke s;
      s.isakmp = isakmp_of(r);
      s.key = {s.isakmp.icookie, s.isakmp.rcookie};
      s.created = r.time("created");
      s.established = r.time("established");
      s.expires = r.time("expires");
      s.ended = r.flag("ended");
      s.dpd_sequence = r.u32("dpd_seq");
      if (std::any_of(ikes.begin(), ikes.end(),
                      [&](const SavedIke& o) { return o.key == s.key; })) {
        r.fail("icookie", "and rcookie repeat an earlier ike_sa");
      }
      ikes.push_back(std::move(s));
    } else if (r.kind() == kind_ipsec) {
      SavedPair p;
      p.owner = cookies_of(r);
      p.basis = basis_of(r);
      p.established = r.time("established");
      p.move_at = optional_time_of(r, "move_at");
      p.retire_at = optional_time_of(r, "retire_at");
      p.rekeyed = r.flag("rekeyed");
      if (std::none_of(ikes.begin(), ikes.end(),
                       [&](const SavedIke& o) { return o.key == p.owner; })) {
        r.fail("icookie", "and rcookie name no earlier ike_sa");
      }
      pairs.push_back(std::move(p));
    }
  }

  std::vector<channel::SaParams> kept;
  std::size_t ike_sas = 0, ipsec_pairs = 0;
  for (SavedIke& s : ikes) {
    if (_sas.contains(s.key)) {
      _log.warning("ike", "saved IKE SA with " + format_ipv4(ipv4_of(s.isakmp.peer)) +
                              " not restored: its cookies are in use");
      continue;
    }
    auto sa = std::make_unique<IkeSa>();
    sa->local = s.isakmp.local;
    sa->peer = s.isakmp.peer;
    // The pre-shared key is never in the file; a phase-1 rekey of ours
    // needs it, and the configuration gives it again.
    if (ike::parse_id(s.isakmp.peer_id_bytes, s.isakmp.peer_id) == ike::ParseError::none) {
      s.isakmp.psk = ike::psk_again(_mm_config, s.isakmp);
    }
    sa->mm = std::make_unique<ike::MainModeResponder>(_mm_config, std::move(s.isakmp));
    const ike::IsakmpSa& k = *sa->isakmp();
    sa->peer_id = id_text(k.peer_id);
    sa->created = s.created;
    sa->established_at = s.established;
    sa->expires = s.expires;
    sa->p1_rekey_at = s.established + (s.expires - s.established) * 9 / 10;
    sa->ended = s.ended;
    // Silence while the control plane was away proves nothing: DPD and
    // keepalives start over from now.
    sa->last_rx = now;
    if (k.peer_caps.dpd && _settings.dpd_interval.count() > 0) {
      sa->next_dpd = now + _settings.dpd_interval;
    }
    // The file may predate R-U-THEREs sent since (it is written on state
    // changes, not per DPD): jump past any of them, so that a peer
    // checking for replays never sees a number again (RFC 3706 §7).
    sa->dpd_sequence = (s.dpd_sequence + dpd_sequence_skip) & 0x7fffffffu;
    if (k.nat.local_behind_nat && _settings.nat_keepalive.count() > 0) {
      sa->next_keepalive = now + _settings.nat_keepalive;
    }
    for (SavedPair& p : pairs) {
      if (p.owner != s.key) {
        continue;
      }
      const std::uint32_t peer = ipv4_of(p.basis.peer);
      const auto* in = find_sa(dp_sas, channel::Direction::in, p.basis.inbound.spi, peer);
      const auto* out = find_sa(dp_sas, channel::Direction::out, p.basis.outbound.spi, peer);
      if (in == nullptr || out == nullptr) {
        _log.warning("ike", "IPsec SA pair with " + format_ipv4(peer) + " (SPIs in " +
                                spi_hex(p.basis.inbound.spi) + " out " +
                                spi_hex(p.basis.outbound.spi) + ") not restored: " +
                                (in == nullptr && out == nullptr ? "both its SAs are"
                                 : in == nullptr                 ? "its inbound SA is"
                                                                 : "its outbound SA is") +
                                " gone from the data plane");
        continue;
      }
      p.basis.local = sa->local;
      IpsecSa i;
      i.spi_in = p.basis.inbound.spi;
      i.spi_out = p.basis.outbound.spi;
      i.peer_addr = peer;
      i.udp = p.basis.udp_encapsulated;
      i.peer_port = i.udp ? p.basis.peer.port : 0;
      i.transform = p.basis.describe();
      i.established = p.established;
      i.expires = p.established + std::chrono::seconds(p.basis.life_seconds);
      i.rekey_at = p.established + std::chrono::seconds(p.basis.life_seconds) * 9 / 10;
      i.life_kilobytes = p.basis.life_kilobytes;
      i.rekeying = p.rekeyed;
      i.move_at = p.move_at;
      i.retire_at = p.retire_at;
      i.basis = std::make_shared<const ike::EspSaPair>(std::move(p.basis));
      sa->ipsec.push_back(std::move(i));
      kept.push_back(*in);
      kept.push_back(*out);
      ++ipsec_pairs;
    }
    add_ike_sa(s.key, std::move(sa));
    ++ike_sas;
  }
  ++_state_version;
  _log.info("ike", "restored " + std::to_string(ike_sas) + " ISAKMP SAs, " +
                       std::to_string(ipsec_pairs) + " IPsec SA pairs");
  return kept;
}

}  // namespace l2tpgw::cp
