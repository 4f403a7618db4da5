// Inner packets too big for a session's tunnel: the MTU arithmetic per ESP
// transform, the ICMP "fragmentation needed" and the fragment headers, all
// against python3-scapy (tests/unit/wire/gen_too_big_vectors.py, run with
// /usr/bin/python3): the largest payloads are found by encrypting with
// scapy's SecurityAssociation, the packets are scapy's with its checksums.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "dataplane/wire/checksum.h"
#include "dataplane/wire/ip_too_big.h"
#include "dataplane/wire/tunnel_mtu.h"

namespace l2tpgw::wire {
namespace {

std::vector<std::uint8_t> hex(const char* s) {
  std::vector<std::uint8_t> out;
  auto nib = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  for (; s[0] != 0 && s[1] != 0; s += 2) {
    out.push_back(static_cast<std::uint8_t>(nib(s[0]) << 4 | nib(s[1])));
  }
  return out;
}

std::vector<std::uint8_t> bytes_of(const Ipv4Hdr& h) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(&h);
  return {p, p + sizeof h};
}

struct PayloadVector {
  EspCipher cipher;
  EspAuth auth;
  bool natt;
  unsigned mtu;
  unsigned payload;
};

// The largest ESP payload scapy could encrypt into an outer packet of at
// most `mtu` bytes (8 less for NAT-T's UDP header).
constexpr PayloadVector payload_vectors[] = {
    {EspCipher::aes_cbc_128, EspAuth::hmac_sha1_96, false, 576, 510},
    {EspCipher::aes_cbc_128, EspAuth::hmac_sha1_96, false, 1280, 1214},
    {EspCipher::aes_cbc_128, EspAuth::hmac_sha1_96, false, 1400, 1342},
    {EspCipher::aes_cbc_128, EspAuth::hmac_sha1_96, false, 1500, 1438},
    {EspCipher::aes_cbc_128, EspAuth::hmac_sha1_96, false, 9000, 8942},
    {EspCipher::aes_cbc_128, EspAuth::hmac_sha1_96, true, 576, 510},
    {EspCipher::aes_cbc_128, EspAuth::hmac_sha1_96, true, 1280, 1214},
    {EspCipher::aes_cbc_128, EspAuth::hmac_sha1_96, true, 1400, 1326},
    {EspCipher::aes_cbc_128, EspAuth::hmac_sha1_96, true, 1500, 1422},
    {EspCipher::aes_cbc_128, EspAuth::hmac_sha1_96, true, 9000, 8926},
    {EspCipher::aes_cbc_256, EspAuth::hmac_sha256_128, false, 576, 510},
    {EspCipher::aes_cbc_256, EspAuth::hmac_sha256_128, false, 1280, 1214},
    {EspCipher::aes_cbc_256, EspAuth::hmac_sha256_128, false, 1400, 1326},
    {EspCipher::aes_cbc_256, EspAuth::hmac_sha256_128, false, 1500, 1438},
    {EspCipher::aes_cbc_256, EspAuth::hmac_sha256_128, false, 9000, 8926},
    {EspCipher::aes_cbc_256, EspAuth::hmac_sha256_128, true, 576, 494},
    {EspCipher::aes_cbc_256, EspAuth::hmac_sha256_128, true, 1280, 1198},
    {EspCipher::aes_cbc_256, EspAuth::hmac_sha256_128, true, 1400, 1326},
    {EspCipher::aes_cbc_256, EspAuth::hmac_sha256_128, true, 1500, 1422},
    {EspCipher::aes_cbc_256, EspAuth::hmac_sha256_128, true, 9000, 8926},
    {EspCipher::aes_gcm_128, EspAuth::none, false, 576, 522},
    {EspCipher::aes_gcm_128, EspAuth::none, false, 1280, 1226},
    {EspCipher::aes_gcm_128, EspAuth::none, false, 1400, 1346},
    {EspCipher::aes_gcm_128, EspAuth::none, false, 1500, 1446},
    {EspCipher::aes_gcm_128, EspAuth::none, false, 9000, 8946},
    {EspCipher::aes_gcm_128, EspAuth::none, true, 576, 514},
    {EspCipher::aes_gcm_128, EspAuth::none, true, 1280, 1218},
    {EspCipher::aes_gcm_128, EspAuth::none, true, 1400, 1338},
    {EspCipher::aes_gcm_128, EspAuth::none, true, 1500, 1438},
    {EspCipher::aes_gcm_128, EspAuth::none, true, 9000, 8938},
    {EspCipher::aes_gcm_256, EspAuth::none, false, 576, 522},
    {EspCipher::aes_gcm_256, EspAuth::none, false, 1280, 1226},
    {EspCipher::aes_gcm_256, EspAuth::none, false, 1400, 1346},
    {EspCipher::aes_gcm_256, EspAuth::none, false, 1500, 1446},
    {EspCipher::aes_gcm_256, EspAuth::none, false, 9000, 8946},
    {EspCipher::aes_gcm_256, EspAuth::none, true, 576, 514},
    {EspCipher::aes_gcm_256, EspAuth::none, true, 1280, 1218},
    {EspCipher::aes_gcm_256, EspAuth::none, true, 1400, 1338},
    {EspCipher::aes_gcm_256, EspAuth::none, true, 1500, 1438},
    {EspCipher::aes_gcm_256, EspAuth::none, true, 9000, 8938},
    {EspCipher::des3_cbc, EspAuth::hmac_sha1_96, false, 576, 526},
    {EspCipher::des3_cbc, EspAuth::hmac_sha1_96, false, 1280, 1230},
    {EspCipher::des3_cbc, EspAuth::hmac_sha1_96, false, 1400, 1350},
    {EspCipher::des3_cbc, EspAuth::hmac_sha1_96, false, 1500, 1446},
    {EspCipher::des3_cbc, EspAuth::hmac_sha1_96, false, 9000, 8950},
    {EspCipher::des3_cbc, EspAuth::hmac_sha1_96, true, 576, 518},
    {EspCipher::des3_cbc, EspAuth::hmac_sha1_96, true, 1280, 1222},
    {EspCipher::des3_cbc, EspAuth::hmac_sha1_96, true, 1400, 1342},
    {EspCipher::des3_cbc, EspAuth::hmac_sha1_96, true, 1500, 1438},
    {EspCipher::des3_cbc, EspAuth::hmac_sha1_96, true, 9000, 8942},
    {EspCipher::des3_cbc, EspAuth::hmac_sha256_128, false, 576, 518},
    {EspCipher::des3_cbc, EspAuth::hmac_sha256_128, false, 1280, 1222},
    {EspCipher::des3_cbc, EspAuth::hmac_sha256_128, false, 1400, 1342},
    {EspCipher::des3_cbc, EspAuth::hmac_sha256_128, false, 1500, 1446},
    {EspCipher::des3_cbc, EspAuth::hmac_sha256_128, false, 9000, 8942},
    {EspCipher::des3_cbc, EspAuth::hmac_sha256_128, true, 576, 510},
    {EspCipher::des3_cbc, EspAuth::hmac_sha256_128, true, 1280, 1214},
    {EspCipher::des3_cbc, EspAuth::hmac_sha256_128, true, 1400, 1334},
    {EspCipher::des3_cbc, EspAuth::hmac_sha256_128, true, 1500, 1438},
    {EspCipher::des3_cbc, EspAuth::hmac_sha256_128, true, 9000, 8934},
};

TEST(TunnelMtu, EspMaxPayloadPerTransformMatchesScapy) {
  for (const auto& v : payload_vectors) {
    EXPECT_EQ(esp_max_payload(v.mtu, v.cipher, v.auth, v.natt), v.payload)
        << info(v.cipher).name << "/" << info(v.auth).name << (v.natt ? " NAT-T" : "") << " mtu " << v.mtu;
  }
}

TEST(TunnelMtu, NothingFitsBelowTheFixedOverhead) {
  // IPv4 20 + ESP 8 + IV 16 + ICV 12 + one block of 16.
  EXPECT_EQ(esp_max_payload(71, EspCipher::aes_cbc_128, EspAuth::hmac_sha1_96, false), 0u);
  EXPECT_EQ(esp_max_payload(72, EspCipher::aes_cbc_128, EspAuth::hmac_sha1_96, false), 14u);
}

TEST(TunnelMtu, SessionOverheadAndTunnelMtu) {
  // UDP 8 + L2TP 6 (no sequencing) + PPP FF 03 00 21.
  EXPECT_EQ(session_overhead(6, 4, 0), 18u);
  // UDP 8 + L2TP 10 (Ns/Nr) + PPP FD with ACFC and PFC + MPPE 2 + protocol 1.
  EXPECT_EQ(session_overhead(10, 1, 3), 22u);
  // The default session on AES-CBC-128/HMAC-SHA1-96, raw ESP, 1500: 1420.
  EXPECT_EQ(tunnel_mtu(esp_max_payload(1500, EspCipher::aes_cbc_128, EspAuth::hmac_sha1_96, false),
                       session_overhead(6, 4, 0)),
            1420u);
  EXPECT_EQ(tunnel_mtu(10, 18), 0u);
}

TEST(IcmpFragNeeded, MatchesScapy) {
  // A 1500-byte UDP packet with DF from 10.0.0.2; 10.0.0.1 answers MTU 1420
  // quoting 548 bytes (RFC 1812 §4.3.2.3: 576 in all).
  std::vector<std::uint8_t> in(1500);
  const auto head = hex("450005dc424240003f11dfc50a0000020a0100079c40003505c8f47100070e151c232a31383f464d545b626970777e858c939aa1a8afb6bdc4cbd2d9");
  std::memcpy(in.data(), head.data(), head.size());
  for (unsigned i = 28; i < in.size(); ++i) {
    in[i] = static_cast<std::uint8_t>(((i - 28) * 7) & 0xff);
  }
  ASSERT_EQ(icmp_quote_max, 548u);
  std::vector<std::uint8_t> out(28 + icmp_quote_max);
  std::memcpy(out.data() + 28, in.data(), icmp_quote_max);
  write_icmp_frag_needed(out, 0x0a000001, 0x0a000002, 1420);
  EXPECT_EQ(std::vector<std::uint8_t>(out.begin(), out.begin() + 28), hex("45c0024000000000400163fb0a0000010a00000203048bd00000058c"));
  EXPECT_EQ(csum(out), 0) << "ICMP checksum covers header and quote";
}

TEST(IcmpFragNeeded, WhoMayBeAnswered) {
  std::vector<std::uint8_t> p(48, 0);
  auto* ip = reinterpret_cast<Ipv4Hdr*>(p.data());
  ip->ver_ihl = 0x45;
  ip->proto = ipproto_udp;
  ip->src = Be32::from_host(0x0a000002);
  EXPECT_TRUE(icmp_error_allowed(p));
  ip->frag = Be16::from_host(ipv4_mf);  // first fragment: yes
  EXPECT_TRUE(icmp_error_allowed(p));
  ip->frag = Be16::from_host(ipv4_mf | 1);  // later fragment: no (RFC 1812 §4.3.2.7)
  EXPECT_FALSE(icmp_error_allowed(p));
  ip->frag = Be16{0};
  ip->proto = ipproto_icmp;
  for (std::uint8_t type : {3, 4, 5, 11, 12}) {
    p[20] = type;
    EXPECT_FALSE(icmp_error_allowed(p)) << "ICMP error type " << int{type};
  }
  p[20] = 8;  // echo request
  EXPECT_TRUE(icmp_error_allowed(p));
  for (std::uint32_t src : {0u, 0x7f000001u, 0xe0000001u, 0xffffffffu}) {
    ip->src = Be32::from_host(src);
    EXPECT_FALSE(icmp_error_allowed(p)) << std::hex << src;
  }
}

Ipv4Hdr header(std::uint16_t total, std::uint16_t id, std::uint16_t frag, std::uint8_t tos, std::uint8_t proto) {
  Ipv4Hdr h{};
  h.ver_ihl = 0x45;
  h.tos = tos;
  h.total_len = Be16::from_host(total);
  h.id = Be16::from_host(id);
  h.frag = Be16::from_host(frag);
  h.ttl = 63;
  h.proto = proto;
  h.src = Be32::from_host(0x0a000002);
  h.dst = Be32::from_host(0x0a010007);
  return h;
}

TEST(Ipv4Fragment, MatchesScapyFragment) {
  // scapy's fragment(pkt, fragsize=976) of a 1400-byte UDP packet: MTU 996.
  const Ipv4Hdr orig = header(1400, 0x1234, 0, 0x10, ipproto_udp);
  ASSERT_EQ(fragment_data_len(996), 976u);
  ASSERT_EQ(fragment_count(1380, 976), 2u);
  Ipv4Hdr h{};
  ipv4_fragment_header(h, orig, 0, 976, false);
  EXPECT_EQ(bytes_of(h), hex("451003e4123420003f1131bc0a0000020a010007"));
  ipv4_fragment_header(h, orig, 976, 404, true);
  EXPECT_EQ(bytes_of(h), hex("451001a81234007a3f11537e0a0000020a010007"));
}

TEST(Ipv4Fragment, FragmentOfAFragmentKeepsOffsetAndMf) {
  // 600 bytes at offset 800 with MF, cut into 296 + 296 + 8: every piece MF.
  const Ipv4Hdr mid = header(620, 0x9999, ipv4_mf | 100, 0, 0);
  Ipv4Hdr h{};
  ipv4_fragment_header(h, mid, 0, 296, false);
  EXPECT_EQ(bytes_of(h), hex("4500013c999920643f00acbb0a0000020a010007"));
  ipv4_fragment_header(h, mid, 296, 296, false);
  EXPECT_EQ(bytes_of(h), hex("4500013c999920893f00ac960a0000020a010007"));
  ipv4_fragment_header(h, mid, 592, 8, true);
  EXPECT_EQ(bytes_of(h), hex("4500001c999920ae3f00ad910a0000020a010007"));
  // The original's last fragment (MF clear): only the final piece clears it.
  const Ipv4Hdr last = header(320, 0x7777, 100, 0, 0);
  ipv4_fragment_header(h, last, 0, 296, false);
  EXPECT_EQ(bytes_of(h), hex("4500013c777720643f00cedd0a0000020a010007"));
  ipv4_fragment_header(h, last, 296, 4, true);
  EXPECT_EQ(bytes_of(h), hex("45000018777700893f00efdc0a0000020a010007"));
}

TEST(Ipv4Fragment, DataPerFragmentIsAMultipleOfEight) {
  EXPECT_EQ(fragment_data_len(1420), 1400u);
  EXPECT_EQ(fragment_data_len(1405), 1384u);
  EXPECT_EQ(fragment_data_len(20), 0u);
  EXPECT_EQ(fragment_count(1401, 1400), 2u);
  EXPECT_EQ(fragment_count(1400, 1400), 1u);
}

}  // namespace
}  // namespace l2tpgw::wire
