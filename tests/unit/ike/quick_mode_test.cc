// The Quick Mode responder and informational exchanges against exchanges
// computed in gen_vectors.py on top of its Main Mode (byte-for-byte
// HASH(2) replies, KEYMAT per direction), and the refusals an operator
// must be able to tell apart.
#include "controlplane/ike/quick_mode.h"

#include <gtest/gtest.h>

#include "controlplane/ike/cipher.h"
#include "controlplane/ike/wire_util.h"
#include "tests/unit/ike/test_util.h"
#include "tests/unit/ike/vectors.h"

namespace l2tpgw::ike {
namespace {

using test::hex;
using test::to_hex;

const std::uint8_t gw[] = {192, 0, 2, 1};
const std::uint8_t client_seen[] = {203, 0, 113, 9};
const std::uint8_t client_local[] = {198, 51, 100, 5};

Datagram dgram(const Bytes& b, std::uint16_t port = 4500) {
  return {b, {gw, port}, {client_seen, port}};
}

// The ISAKMP SA of gen_vectors.py's Main Mode (NAT-T RFC 3947, peer behind NAT).
class QuickMode : public ::testing::Test {
 protected:
  void SetUp() override {
    _mm_config.policy = default_phase1_policy();
    const auto key = hex(vec::mm_psk);
    _mm_config.psk_for = [key](Endpoint) -> std::optional<SecretBytes> {
      return SecretBytes(key.begin(), key.end());
    };
    _mm_config.local_id = hex(vec::mm_idir);
    MainModeRandom r;
    const auto ck = hex(vec::mm_rcky);
    std::copy(ck.begin(), ck.end(), r.rcookie.begin());
    r.nonce = hex(vec::mm_nr);
    r.dh_private = hex(vec::mm_xr);
    _mm = std::make_unique<MainModeResponder>(_mm_config, std::move(r));
    ASSERT_EQ(_mm->handle(dgram(hex(vec::mm_msg1), 500)).failure, MainModeFailure::none);
    ASSERT_EQ(_mm->handle(dgram(hex(vec::mm_msg3), 500)).failure, MainModeFailure::none);
    ASSERT_EQ(_mm->handle(dgram(hex(vec::mm_msg5))).failure, MainModeFailure::none);
    ASSERT_NE(_mm->sa(), nullptr);
    _qm_config.policy = default_phase2_policy();
  }

  const IsakmpSa& isakmp() const { return *_mm->sa(); }

  QuickModeRandom random(std::uint32_t spi = vec::qm_spi_r) const {
    QuickModeRandom r;
    r.spi = spi;
    r.nonce = hex(vec::qm_nr);
    return r;
  }

  // An initiator's Quick Mode 1 built with our own encoders, for the
  // policy refusals (the wire format itself is checked against Python).
  Bytes initiator_qm1(std::uint16_t encap, std::uint16_t auth, const Bytes& idci, const Bytes& idcr,
                      std::uint32_t mid = 0x42424242) const {
    Bytes attrs;
    append_attribute_tv(attrs, p2_attr::encapsulation, encap);
    append_attribute_tv(attrs, p2_attr::auth_algorithm, auth);
    append_attribute_tv(attrs, p2_attr::key_length, 128);
    ProposalSpec p;
    p.protocol = static_cast<std::uint8_t>(ProtocolId::esp);
    p.spi = {0xc0, 0xff, 0xee, 0x01};
    p.transforms.push_back({1, static_cast<std::uint8_t>(EspId::aes_cbc), attrs});
    const auto& sa = isakmp();
    Header h;
    h.icookie = sa.icookie;
    h.rcookie = sa.rcookie;
    h.exchange = static_cast<std::uint8_t>(ExchangeType::quick_mode);
    h.message_id = mid;
    // The payloads after HASH, to hash them; then the message with them.
    MessageBuilder tail(h);
    const Bytes sa_body = encode_sa(doi_ipsec, sit_identity_only, std::span(&p, 1));
    const Bytes nonce(32, 0x5a);
    tail.add(PayloadType::sa, sa_body);
    tail.add(PayloadType::nonce, nonce);
    if (!idci.empty()) {
      tail.add(PayloadType::identification, idci);
      tail.add(PayloadType::identification, idcr);
    }
    const Bytes tail_msg = std::move(tail).finish();
    const auto hash1 =
        qm_hash1(Hash::sha1, sa.skeyid_a, mid, ByteView(tail_msg).subspan(header_len));
    MessageBuilder b(h);
    b.add(PayloadType::hash, hash1);
    b.add(PayloadType::sa, sa_body);
    b.add(PayloadType::nonce, nonce);
    if (!idci.empty()) {
      b.add(PayloadType::identification, idci);
      b.add(PayloadType::identification, idcr);
    }
    Bytes msg = std::move(b).finish();
    SecretBytes unused;
    const auto iv = phase2_iv(Hash::sha1, sa.last_block, mid, 16);
    EXPECT_EQ(encrypt_message(msg, sa.transform.suite.cipher, sa.enc_key, iv, unused),
              CryptError::none);
    return msg;
  }

  static Bytes host_id(const std::uint8_t* a, std::uint16_t port) {
    return encode_id(IdType::ipv4_addr, 17, port, ByteView(a, 4));
  }

  // ID_IPV4_ADDR_SUBNET a.b.c.d/len, protocol and port 0 (tunnel mode).
  static Bytes net_id(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d, int len) {
    const std::uint32_t mask = len == 0 ? 0 : ~std::uint32_t{0} << (32 - len);
    Bytes data{a, b, c, d};
    put32(data, mask);
    return encode_id(IdType::ipv4_addr_subnet, 0, 0, data);
  }

  // gen_vectors.py's messages 1 and 3 of an exchange: our message 2 must
  // be `msg2` byte for byte. The pair agreed, or null.
  const EspSaPair* exchange(QuickModeResponder& r, const char* msg1, const char* msg2,
                            const char* msg3) {
    const auto s = r.handle(dgram(hex(msg1)));
    EXPECT_EQ(s.failure, QuickModeFailure::none) << s.cause;
    EXPECT_EQ(s.reply ? to_hex(*s.reply) : "no reply", msg2);
    EXPECT_EQ(r.handle(dgram(hex(msg3))).failure, QuickModeFailure::none);
    return r.result();
  }

  // Tunnel mode to 10.9.0.0/24, the inside network of gen_vectors.py's tunnel.
  void allow_tunnel() {
    _qm_config.policy.allow_tunnel = true;
    _qm_config.tunnel_networks = {{0x0a090000, 24}};
  }

  MainModeConfig _mm_config;
  std::unique_ptr<MainModeResponder> _mm;
  QuickModeConfig _qm_config;
};

TEST_F(QuickMode, WholeExchangeMatchesIndependentPeer) {
  QuickModeResponder r(isakmp(), _qm_config, random());
  auto s = r.handle(dgram(hex(vec::qm_msg1)));
  ASSERT_EQ(s.failure, QuickModeFailure::none) << s.cause;
  ASSERT_TRUE(s.reply);
  EXPECT_EQ(to_hex(*s.reply), vec::qm_msg2);
  EXPECT_EQ(r.state(), QuickModeState::wait_msg3);
  EXPECT_EQ(r.result(), nullptr);

  s = r.handle(dgram(hex(vec::qm_msg3)));
  ASSERT_EQ(s.failure, QuickModeFailure::none) << s.cause;
  EXPECT_FALSE(s.reply);
  ASSERT_EQ(r.state(), QuickModeState::established);
  const auto* sa = r.result();
  ASSERT_NE(sa, nullptr);
  EXPECT_EQ(sa->inbound.spi, vec::qm_spi_r);
  EXPECT_EQ(sa->outbound.spi, 0xc0ffee01u);
  EXPECT_EQ(to_hex(sa->inbound.enc_key), vec::qm_in_enc);
  EXPECT_EQ(to_hex(sa->inbound.auth_key), vec::qm_in_auth);
  EXPECT_EQ(to_hex(sa->outbound.enc_key), vec::qm_out_enc);
  EXPECT_EQ(to_hex(sa->outbound.auth_key), vec::qm_out_auth);
  EXPECT_EQ(sa->cipher, EspCipher::aes_cbc_128);
  EXPECT_EQ(sa->auth, EspAuth::hmac_sha1_96);
  EXPECT_TRUE(sa->transport);
  EXPECT_TRUE(sa->udp_encapsulated);
  EXPECT_EQ(sa->peer.port, 4500);
  EXPECT_EQ(sa->life_seconds, 3600u);
  EXPECT_EQ(sa->life_kilobytes, 250000u);
  EXPECT_FALSE(sa->pfs);
  ASSERT_TRUE(sa->nat_oa_initiator);
  EXPECT_EQ(*sa->nat_oa_initiator, 0xc6336405u);  // 198.51.100.5
  EXPECT_EQ(sa->describe(), "ESP aes-cbc-128/hmac-sha1-96 transport, NAT-T udp 4500");
  EXPECT_EQ(to_hex(sa->idcr), to_hex(host_id(gw, 1701)));
}

// The pair of the exchange above, as the responder agreed it.
class QuickModeRekey : public QuickMode {
 protected:
  void SetUp() override {
    QuickMode::SetUp();
    _r = std::make_unique<QuickModeResponder>(isakmp(), _qm_config, random());
    ASSERT_TRUE(_r->handle(dgram(hex(vec::qm_msg1))).reply);
    ASSERT_EQ(_r->handle(dgram(hex(vec::qm_msg3))).failure, QuickModeFailure::none);
    ASSERT_NE(_r->result(), nullptr);
  }

  QuickModeRandom ours() const {
    QuickModeRandom r;
    r.spi = vec::rk_spi_gw;
    r.nonce = hex(vec::rk_ni);
    return r;
  }

  std::unique_ptr<QuickModeResponder> _r;
};

TEST_F(QuickModeRekey, OurRekeyMatchesIndependentPeer) {
  QuickModeInitiator i(isakmp(), *_r->result(), 0x0c0d0e0f, ours());
  auto s = i.start();
  ASSERT_EQ(s.failure, QuickModeFailure::none) << s.cause;
  ASSERT_TRUE(s.reply);
  EXPECT_EQ(to_hex(*s.reply), vec::rk_msg1);
  EXPECT_EQ(i.state(), QuickModeState::wait_msg2);
  EXPECT_EQ(i.result(), nullptr);

  s = i.handle(dgram(hex(vec::rk_msg2)));
  ASSERT_EQ(s.failure, QuickModeFailure::none) << s.cause;
  ASSERT_TRUE(s.reply);
  EXPECT_EQ(to_hex(*s.reply), vec::rk_msg3);
  const auto* sa = i.result();
  ASSERT_NE(sa, nullptr);
  EXPECT_EQ(sa->inbound.spi, vec::rk_spi_gw);
  EXPECT_EQ(sa->outbound.spi, vec::rk_spi_client);
  EXPECT_EQ(to_hex(sa->inbound.enc_key), vec::rk_in_enc);
  EXPECT_EQ(to_hex(sa->inbound.auth_key), vec::rk_in_auth);
  EXPECT_EQ(to_hex(sa->outbound.enc_key), vec::rk_out_enc);
  EXPECT_EQ(to_hex(sa->outbound.auth_key), vec::rk_out_auth);
  EXPECT_EQ(sa->describe(), _r->result()->describe());
  EXPECT_EQ(sa->idci, _r->result()->idci);  // still the client's selector
  EXPECT_EQ(sa->idcr, _r->result()->idcr);

  // The client's message 2 again: our message 3 again.
  const auto again = i.handle(dgram(hex(vec::rk_msg2)));
  ASSERT_TRUE(again.reply);
  EXPECT_EQ(to_hex(*again.reply), vec::rk_msg3);
}

// Our rekey of a tunnel-mode pair offers tunnel mode again with the same
// selectors, ours first, and keeps the peer's network the peer's.
TEST_F(QuickMode, OurRekeyOfATunnelMatchesIndependentPeer) {
  allow_tunnel();
  QuickModeResponder r(isakmp(), _qm_config, random());
  const auto* tunnel = exchange(r, vec::tn_msg1, vec::tn_msg2, vec::tn_msg3);
  ASSERT_NE(tunnel, nullptr);
  QuickModeRandom ours;
  ours.spi = vec::rk_spi_gw;
  ours.nonce = hex(vec::rk_ni);
  QuickModeInitiator i(isakmp(), *tunnel, 0x0c0d0e0f, ours);
  auto s = i.start();
  ASSERT_EQ(s.failure, QuickModeFailure::none) << s.cause;
  EXPECT_EQ(to_hex(*s.reply), vec::tr_msg1);
  s = i.handle(dgram(hex(vec::tr_msg2)));
  ASSERT_EQ(s.failure, QuickModeFailure::none) << s.cause;
  EXPECT_EQ(to_hex(*s.reply), vec::tr_msg3);
  const auto* sa = i.result();
  ASSERT_NE(sa, nullptr);
  EXPECT_FALSE(sa->transport);
  EXPECT_EQ(to_hex(sa->inbound.enc_key), vec::rk_in_enc);
  EXPECT_EQ(to_hex(sa->outbound.auth_key), vec::rk_out_auth);
  EXPECT_EQ(to_hex(sa->idci), vec::tn_idci);
  EXPECT_EQ(to_hex(sa->idcr), vec::tn_idcr);
  EXPECT_EQ(sa->peer_net.addr, 0xc0a84d02u);
  EXPECT_EQ(sa->peer_net.len, 32);
  EXPECT_EQ(sa->local_net.addr, 0x0a090000u);
  EXPECT_EQ(sa->local_net.len, 24);
}

TEST_F(QuickModeRekey, ForgedOrOtherAnswersAreRefused) {
  QuickModeInitiator i(isakmp(), *_r->result(), 0x0c0d0e0f, ours());
  ASSERT_TRUE(i.start().reply);
  auto m2 = hex(vec::rk_msg2);
  m2.back() ^= 1;  // the last CBC block: the padding or HASH(2) no longer verifies
  EXPECT_NE(i.handle(dgram(m2)).failure, QuickModeFailure::none);
  EXPECT_EQ(i.state(), QuickModeState::wait_msg2);
  EXPECT_EQ(i.handle(dgram(hex(vec::qm_msg2))).failure, QuickModeFailure::unexpected_exchange);
  for (std::size_t cut = 0; cut < m2.size(); cut += 7) {
    (void)i.handle(dgram(Bytes(m2.begin(), m2.begin() + static_cast<std::ptrdiff_t>(cut))));
  }
  EXPECT_EQ(i.state(), QuickModeState::wait_msg2);
  EXPECT_EQ(i.handle(dgram(hex(vec::rk_msg2))).failure, QuickModeFailure::none);
  EXPECT_EQ(i.state(), QuickModeState::established);
}

TEST_F(QuickModeRekey, NoRandomnessNoMessage) {
  QuickModeRandom none;
  QuickModeInitiator i(isakmp(), *_r->result(), 0x0c0d0e0f, none);
  EXPECT_EQ(i.start().failure, QuickModeFailure::internal);
}

TEST_F(QuickMode, DuplicateRequestGetsTheSameReply) {
  QuickModeResponder r(isakmp(), _qm_config, random());
  const auto first = r.handle(dgram(hex(vec::qm_msg1)));
  ASSERT_TRUE(first.reply);
  const auto again = r.handle(dgram(hex(vec::qm_msg1)));
  ASSERT_TRUE(again.reply);
  EXPECT_EQ(*again.reply, *first.reply);
  EXPECT_EQ(r.handle(dgram(hex(vec::qm_msg3))).failure, QuickModeFailure::none);
  EXPECT_EQ(r.state(), QuickModeState::established);
}

TEST_F(QuickMode, PfsAndResponderLifetimeMatchIndependentPeer) {
  _qm_config.max_life_seconds = 3600;
  auto rnd = random(vec::qm_spi_r + 1);
  rnd.dh_private = hex(vec::qm_pfs_xr);
  QuickModeResponder r(isakmp(), _qm_config, std::move(rnd));
  auto s = r.handle(dgram(hex(vec::qm_pfs_msg1)));
  ASSERT_EQ(s.failure, QuickModeFailure::none) << s.cause;
  ASSERT_TRUE(s.reply);
  EXPECT_EQ(to_hex(*s.reply), vec::qm_pfs_msg2);
  ASSERT_EQ(r.handle(dgram(hex(vec::qm_pfs_msg3))).failure, QuickModeFailure::none);
  const auto* sa = r.result();
  ASSERT_NE(sa, nullptr);
  EXPECT_EQ(sa->cipher, EspCipher::aes_cbc_256);
  EXPECT_EQ(to_hex(sa->inbound.enc_key), vec::qm_pfs_in_enc);
  EXPECT_EQ(to_hex(sa->inbound.auth_key), vec::qm_pfs_in_auth);
  EXPECT_EQ(to_hex(sa->outbound.enc_key), vec::qm_pfs_out_enc);
  EXPECT_EQ(to_hex(sa->outbound.auth_key), vec::qm_pfs_out_auth);
  ASSERT_TRUE(sa->pfs);
  EXPECT_EQ(*sa->pfs, DhGroup::modp2048);
  EXPECT_EQ(sa->life_seconds, 3600u);
  EXPECT_TRUE(sa->idci.empty());
}

TEST_F(QuickMode, TamperedHash1FailsTheExchange) {
  auto m = hex(vec::qm_msg1);
  m[40] ^= 1;  // inside the first ciphertext block: HASH(1) garbles
  QuickModeResponder r(isakmp(), _qm_config, random());
  const auto s = r.handle(dgram(m));
  EXPECT_NE(s.failure, QuickModeFailure::none);
  EXPECT_FALSE(s.reply);
  EXPECT_EQ(r.result(), nullptr);
}

TEST_F(QuickMode, BadHash3IsDroppedAndTheRealOneAccepted) {
  QuickModeResponder r(isakmp(), _qm_config, random());
  ASSERT_TRUE(r.handle(dgram(hex(vec::qm_msg1))).reply);
  auto m3 = hex(vec::qm_msg3);
  m3.back() ^= 0x80;
  const auto s = r.handle(dgram(m3));
  EXPECT_EQ(s.failure, QuickModeFailure::bad_hash);
  EXPECT_EQ(r.state(), QuickModeState::wait_msg3);
  EXPECT_EQ(r.handle(dgram(hex(vec::qm_msg3))).failure, QuickModeFailure::none);
  EXPECT_EQ(r.state(), QuickModeState::established);
}

TEST_F(QuickMode, RefusesAnotherPortThanL2tp) {
  QuickModeResponder r(isakmp(), _qm_config, random());
  const auto s = r.handle(dgram(initiator_qm1(4, 2, host_id(client_local, 0), host_id(gw, 500))));
  EXPECT_EQ(s.failure, QuickModeFailure::traffic_selectors);
  EXPECT_NE(s.cause.find("Quick Mode refused (traffic selectors)"), std::string::npos) << s.cause;
  EXPECT_NE(s.cause.find("1701"), std::string::npos) << s.cause;
  EXPECT_EQ(r.state(), QuickModeState::failed);
}

TEST_F(QuickMode, AcceptsAnyClientSourcePort) {
  QuickModeResponder r(isakmp(), _qm_config, random());
  const auto s =
      r.handle(dgram(initiator_qm1(4, 2, host_id(client_local, 49152), host_id(gw, 1701))));
  EXPECT_EQ(s.failure, QuickModeFailure::none) << s.cause;
  EXPECT_TRUE(s.reply);
}

TEST_F(QuickMode, RefusesSubnetSelectorsInTransportMode) {
  QuickModeResponder r(isakmp(), _qm_config, random());
  const std::uint8_t net[] = {10, 0, 0, 0, 255, 0, 0, 0};
  const auto s = r.handle(dgram(initiator_qm1(
      4, 2, encode_id(IdType::ipv4_addr_subnet, 0, 0, ByteView(net, 8)), host_id(gw, 1701))));
  EXPECT_EQ(s.failure, QuickModeFailure::traffic_selectors) << s.cause;
}

TEST_F(QuickMode, TunnelModeOnlyWhenAllowed) {
  {
    QuickModeResponder r(isakmp(), _qm_config, random());
    const auto s = r.handle(dgram(hex(vec::tn_msg1)));
    EXPECT_EQ(s.failure, QuickModeFailure::no_proposal_chosen);
    EXPECT_NE(s.cause.find("udp-tunnel mode refused"), std::string::npos) << s.cause;
    EXPECT_NE(s.cause.find("configured ["), std::string::npos) << s.cause;
  }
  allow_tunnel();
  QuickModeResponder r(isakmp(), _qm_config, random());
  const auto s = r.handle(dgram(hex(vec::tn_msg1)));
  EXPECT_EQ(s.failure, QuickModeFailure::none) << s.cause;
}

TEST_F(QuickMode, TunnelModeMatchesIndependentPeer) {
  allow_tunnel();
  QuickModeResponder r(isakmp(), _qm_config, random());
  const auto* sa = exchange(r, vec::tn_msg1, vec::tn_msg2, vec::tn_msg3);
  ASSERT_NE(sa, nullptr);
  EXPECT_FALSE(sa->transport);
  EXPECT_TRUE(sa->udp_encapsulated);
  EXPECT_EQ(sa->describe(), "ESP aes-cbc-128/hmac-sha1-96 tunnel, NAT-T udp 4500");
  EXPECT_EQ(to_hex(sa->inbound.enc_key), vec::tn_in_enc);
  EXPECT_EQ(to_hex(sa->inbound.auth_key), vec::tn_in_auth);
  EXPECT_EQ(to_hex(sa->outbound.enc_key), vec::tn_out_enc);
  EXPECT_EQ(to_hex(sa->outbound.auth_key), vec::tn_out_auth);
  EXPECT_EQ(to_hex(sa->idci), vec::tn_idci);
  EXPECT_EQ(to_hex(sa->idcr), vec::tn_idcr);
  EXPECT_EQ(sa->peer_net.addr, 0xc0a84d02u);  // 192.168.77.2/32
  EXPECT_EQ(sa->peer_net.len, 32);
  EXPECT_EQ(sa->local_net.addr, 0x0a090000u);  // 10.9.0.0/24
  EXPECT_EQ(sa->local_net.len, 24);
  EXPECT_FALSE(sa->nat_oa_initiator);
}

TEST_F(QuickMode, TransportModePairHasNoInnerNetworks) {
  QuickModeResponder r(isakmp(), _qm_config, random());
  const auto* sa = exchange(r, vec::qm_msg1, vec::qm_msg2, vec::qm_msg3);
  ASSERT_NE(sa, nullptr);
  EXPECT_EQ(sa->peer_net.len, 0);
  EXPECT_EQ(sa->peer_net.addr, 0u);
  EXPECT_EQ(sa->local_net.len, 0);
  EXPECT_EQ(sa->local_net.addr, 0u);
}

// Each tunnel-mode refusal, one line naming the IDs.
TEST_F(QuickMode, TunnelSelectorRefusals) {
  allow_tunnel();
  const Bytes peer = net_id(192, 168, 77, 2, 32);
  const Bytes ours = net_id(10, 9, 0, 0, 24);
  const std::uint8_t odd_range[] = {192, 168, 77, 1, 192, 168, 77, 6};
  const std::uint8_t holes[] = {192, 168, 77, 0, 255, 0, 255, 0};
  const std::pair<std::pair<Bytes, Bytes>, std::string> cases[] = {
      {{{}, {}}, "tunnel mode without IDci and IDcr"},
      {{encode_id(IdType::ipv4_addr, 17, 0, ByteView(client_local, 4)), ours},
       "IDci 198.51.100.5 proto 17 port 0: tunnel mode carries whole IPv4 packets"},
      {{peer, encode_id(IdType::ipv4_addr_subnet, 0, 1701, Bytes{10, 9, 0, 0, 255, 255, 255, 0})},
       "IDcr 10.9.0.0/24 proto 0 port 1701: tunnel mode carries whole IPv4 packets"},
      {{encode_id(IdType::ipv4_addr_range, 0, 0, ByteView(odd_range, 8)), ours},
       "IDci 192.168.77.1-192.168.77.6 proto 0 port 0 is not an IPv4 prefix"},
      {{encode_id(IdType::ipv4_addr_subnet, 0, 0, ByteView(holes, 8)), ours},
       "is not an IPv4 prefix"},
      {{encode_id(IdType::fqdn, 0, 0, Bytes{'a', '.', 'b'}), ours}, "is not an IPv4 prefix"},
      {{peer, net_id(10, 8, 0, 0, 24)},
       "IDcr 10.8.0.0/24 proto 0 port 0 is not in ike.tunnel_networks"},
      {{peer, net_id(10, 9, 0, 0, 16)},
       "IDcr 10.9.0.0/16 proto 0 port 0 is not in ike.tunnel_networks"},
      {{net_id(10, 0, 0, 0, 8), ours},
       "IDci 10.0.0.0/8 proto 0 port 0 overlaps ike.tunnel_networks"},
      {{net_id(10, 9, 0, 128, 25), ours}, "overlaps ike.tunnel_networks"},
      {{net_id(192, 0, 2, 0, 24), ours},
       "IDci 192.0.2.0/24 proto 0 port 0 covers our address 192.0.2.1"},
      {{net_id(192, 0, 0, 0, 8), ours}, "covers our address 192.0.2.1"},
  };
  for (const auto& [ids, why] : cases) {
    QuickModeResponder r(isakmp(), _qm_config, random());
    const auto s = r.handle(dgram(initiator_qm1(3, 2, ids.first, ids.second)));
    EXPECT_EQ(s.failure, QuickModeFailure::traffic_selectors) << why;
    EXPECT_NE(s.cause.find("Quick Mode refused (traffic selectors): "), std::string::npos)
        << s.cause;
    EXPECT_NE(s.cause.find(why), std::string::npos) << s.cause;
    EXPECT_EQ(r.state(), QuickModeState::failed);
    EXPECT_FALSE(s.reply);
  }
}

TEST_F(QuickMode, TunnelSelectorsAsRangesAndSubnetsNameThePrefix) {
  allow_tunnel();
  _qm_config.tunnel_networks.push_back({0xac100000, 12});  // 172.16.0.0/12
  const std::uint8_t peer_range[] = {192, 168, 77, 0, 192, 168, 77, 3};
  const std::uint8_t our_range[] = {172, 20, 0, 0, 172, 20, 255, 255};
  QuickModeResponder r(isakmp(), _qm_config, random());
  const auto s = r.handle(
      dgram(initiator_qm1(3, 2, encode_id(IdType::ipv4_addr_range, 0, 0, ByteView(peer_range, 8)),
                          encode_id(IdType::ipv4_addr_range, 0, 0, ByteView(our_range, 8)))));
  ASSERT_EQ(s.failure, QuickModeFailure::none) << s.cause;
  const auto* pair = r.negotiated();
  ASSERT_NE(pair, nullptr);
  EXPECT_EQ(pair->peer_net.addr, 0xc0a84d00u);
  EXPECT_EQ(pair->peer_net.len, 30);
  EXPECT_EQ(pair->local_net.addr, 0xac140000u);
  EXPECT_EQ(pair->local_net.len, 16);
  // A subnet ID with host bits names its network.
  const std::uint8_t sloppy[] = {192, 168, 77, 5, 255, 255, 255, 0};
  QuickModeResponder r2(isakmp(), _qm_config, random());
  ASSERT_EQ(r2.handle(dgram(initiator_qm1(
                          3, 2, encode_id(IdType::ipv4_addr_subnet, 0, 0, ByteView(sloppy, 8)),
                          net_id(10, 9, 0, 64, 26))))
                .failure,
            QuickModeFailure::none);
  EXPECT_EQ(r2.negotiated()->peer_net.addr, 0xc0a84d00u);
  EXPECT_EQ(r2.negotiated()->peer_net.len, 24);
  EXPECT_EQ(r2.negotiated()->local_net.len, 26);
}

TEST_F(QuickMode, TunnelNetworkOfAnotherPeerIsRefused) {
  allow_tunnel();
  std::vector<Ipv4Prefix> asked;
  const IsakmpSa* asking = nullptr;
  std::string owner = "198.51.100.99 (ID other) to 192.168.77.0/24";
  _qm_config.tunnel_owner = [&](const IsakmpSa& sa, const Ipv4Prefix& net) {
    asking = &sa;
    asked.push_back(net);
    return owner;
  };
  {
    QuickModeResponder r(isakmp(), _qm_config, random());
    const auto s = r.handle(dgram(hex(vec::tn_msg1)));
    EXPECT_EQ(s.failure, QuickModeFailure::traffic_selectors);
    EXPECT_NE(s.cause.find("IDci 192.168.77.2 proto 0 port 0 overlaps the tunnel of 198.51.100.99 "
                           "(ID other) to 192.168.77.0/24"),
              std::string::npos)
        << s.cause;
  }
  EXPECT_EQ(asking, &isakmp());
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0].addr, 0xc0a84d02u);
  EXPECT_EQ(asked[0].len, 32);
  owner.clear();  // nobody else holds it
  QuickModeResponder r(isakmp(), _qm_config, random());
  EXPECT_EQ(r.handle(dgram(hex(vec::tn_msg1))).failure, QuickModeFailure::none);
}

TEST(IdPrefix, NamesOnlyExactPrefixes) {
  const auto of = [](IdType t, std::initializer_list<std::uint8_t> data) {
    return id_prefix(encode_id(t, 0, 0, Bytes(data)));
  };
  const auto host = of(IdType::ipv4_addr, {10, 1, 2, 3});
  ASSERT_TRUE(host);
  EXPECT_EQ(host->addr, 0x0a010203u);
  EXPECT_EQ(host->len, 32);
  const auto all = of(IdType::ipv4_addr_range, {0, 0, 0, 0, 255, 255, 255, 255});
  ASSERT_TRUE(all);
  EXPECT_EQ(all->len, 0);
  const auto zero = of(IdType::ipv4_addr_subnet, {0, 0, 0, 0, 0, 0, 0, 0});
  ASSERT_TRUE(zero);
  EXPECT_EQ(zero->len, 0);
  const auto one = of(IdType::ipv4_addr_range, {10, 0, 0, 7, 10, 0, 0, 7});
  ASSERT_TRUE(one);
  EXPECT_EQ(one->len, 32);
  EXPECT_FALSE(of(IdType::ipv4_addr_range, {10, 0, 0, 8, 10, 0, 0, 7}));  // backwards
  EXPECT_FALSE(of(IdType::ipv4_addr_range, {10, 0, 0, 2, 10, 0, 0, 5}));  // unaligned
  EXPECT_FALSE(of(IdType::ipv4_addr_range, {10, 0, 0, 0, 10, 0, 0, 2}));  // three addresses
  EXPECT_FALSE(of(IdType::ipv4_addr_subnet, {10, 0, 0, 0, 255, 0, 255, 0}));
  EXPECT_FALSE(of(IdType::fqdn, {'x'}));
  EXPECT_FALSE(id_prefix(Bytes{1, 0, 0}));  // truncated
  EXPECT_TRUE(overlaps({0x0a000000, 8}, {0x0a090000, 24}));
  EXPECT_TRUE(overlaps({0x0a090000, 24}, {0x0a000000, 8}));
  EXPECT_FALSE(overlaps({0x0a090000, 24}, {0x0a090100, 24}));
  EXPECT_TRUE(covers({0x0a000000, 8}, {0x0a090000, 24}));
  EXPECT_FALSE(covers({0x0a090000, 24}, {0x0a000000, 8}));
  EXPECT_TRUE(covers({0, 0}, {0xc0a84d02, 32}));
}

TEST_F(QuickMode, RawEspBehindNatIsNamed) {
  QuickModeResponder r(isakmp(), _qm_config, random());
  const auto s = r.handle(dgram(initiator_qm1(2, 2, host_id(client_local, 0), host_id(gw, 1701))));
  EXPECT_EQ(s.failure, QuickModeFailure::nat_without_nat_t);
  EXPECT_NE(s.cause.find("peer behind NAT without NAT-T"), std::string::npos) << s.cause;
}

TEST_F(QuickMode, Md5RefusedByDefault) {
  QuickModeResponder r(isakmp(), _qm_config, random());
  const auto s = r.handle(dgram(initiator_qm1(4, 1, {}, {})));
  EXPECT_EQ(s.failure, QuickModeFailure::no_proposal_chosen);
  EXPECT_NE(s.cause.find("HMAC-MD5 refused"), std::string::npos) << s.cause;
}

TEST_F(QuickMode, DpdRequestGetsTheIndependentAck) {
  const auto r = handle_informational(isakmp(), hex(vec::info_dpd), 0x12345678);
  ASSERT_TRUE(r.failure.empty()) << r.failure;
  ASSERT_TRUE(r.dpd_sequence);
  EXPECT_EQ(*r.dpd_sequence, 0x01020304u);
  ASSERT_TRUE(r.reply);
  EXPECT_EQ(to_hex(*r.reply), vec::info_dpd_ack);
  // Our own ACK read back is an ACK, not a request.
  const auto back = handle_informational(isakmp(), *r.reply, 1);
  EXPECT_TRUE(back.failure.empty()) << back.failure;
  EXPECT_FALSE(back.reply);
  EXPECT_EQ(back.dpd_sequence, 0x01020304u);
}

TEST_F(QuickMode, DeletesAndInitialContact) {
  const auto r = handle_informational(isakmp(), hex(vec::info_delete), 1);
  ASSERT_TRUE(r.failure.empty()) << r.failure;
  EXPECT_FALSE(r.reply);
  EXPECT_TRUE(r.delete_isakmp);
  ASSERT_EQ(r.deleted_esp_spis.size(), 1u);
  EXPECT_EQ(r.deleted_esp_spis[0], 0xc0ffee01u);
  EXPECT_TRUE(r.initial_contact);
}

TEST_F(QuickMode, ForgedInformationalIsDropped) {
  auto m = hex(vec::info_delete);
  m[m.size() - 20] ^= 1;
  const auto r = handle_informational(isakmp(), m, 1);
  EXPECT_FALSE(r.failure.empty());
  EXPECT_FALSE(r.delete_isakmp);
  EXPECT_TRUE(r.deleted_esp_spis.empty());
  // Unencrypted informational messages are not believed at all.
  m = hex(vec::info_delete);
  m[19] &= static_cast<std::uint8_t>(~flag_encryption);
  EXPECT_EQ(handle_informational(isakmp(), m, 1).failure, "unencrypted informational message");
}

}  // namespace
}  // namespace l2tpgw::ike
