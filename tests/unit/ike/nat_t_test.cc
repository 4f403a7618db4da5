// NAT-D hashes against hashlib (gen_vectors.py), NAT detection from the
// responder's side, and vendor IDs recognised by their MD5 hashes.
#include "controlplane/ike/nat_t.h"

#include <gtest/gtest.h>

#include "tests/unit/ike/test_util.h"
#include "tests/unit/ike/vectors.h"

namespace l2tpgw::ike {
namespace {

using test::hex;
using test::to_hex;

const Cookie icky{1, 2, 3, 4, 5, 6, 7, 8};
const Cookie rcky{0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8};
const std::uint8_t addr_a[] = {192, 0, 2, 1};
const std::uint8_t addr_b[] = {203, 0, 113, 9};
const Endpoint ep_a{addr_a, 500};
const Endpoint ep_b{addr_b, 4500};

TEST(NatT, NatdHashes) {
  EXPECT_EQ(to_hex(natd_hash(Hash::sha1, icky, rcky, ep_a)), vec::natd_sha1_a);
  EXPECT_EQ(to_hex(natd_hash(Hash::sha1, icky, rcky, ep_b)), vec::natd_sha1_b);
  EXPECT_EQ(to_hex(natd_hash(Hash::sha256, icky, rcky, ep_a)), vec::natd_sha256_a);
  EXPECT_EQ(to_hex(natd_hash(Hash::sha256, icky, rcky, ep_b)), vec::natd_sha256_b);
}

TEST(NatT, Detection) {
  // Gateway at A:500; the client says it sent to A:500 from B:4500.
  const auto to_us = hex(vec::natd_sha1_a);
  const auto from_b = hex(vec::natd_sha1_b);
  const auto other = hex(vec::natd_sha256_a);
  const ByteView clean[] = {to_us, from_b};
  auto d = detect_nat(Hash::sha1, icky, rcky, clean, ep_a, ep_b);
  EXPECT_FALSE(d.local_behind_nat);
  EXPECT_FALSE(d.peer_behind_nat);
  EXPECT_FALSE(d.any());
  // The client's own address is not what we see: it is behind a NAT.
  const ByteView client_natted[] = {to_us, other};
  d = detect_nat(Hash::sha1, icky, rcky, client_natted, ep_a, ep_b);
  EXPECT_FALSE(d.local_behind_nat);
  EXPECT_TRUE(d.peer_behind_nat);
  // The client sent to an address that is not ours: we are behind a NAT.
  const ByteView us_natted[] = {other, other, from_b};
  d = detect_nat(Hash::sha1, icky, rcky, us_natted, ep_a, ep_b);
  EXPECT_TRUE(d.local_behind_nat);
  EXPECT_FALSE(d.peer_behind_nat);
  // What we send back: the peer first, then ourselves.
  const auto ours = responder_natd(Hash::sha1, icky, rcky, ep_a, ep_b);
  ASSERT_EQ(ours.size(), 2U);
  EXPECT_EQ(to_hex(ours[0]), vec::natd_sha1_b);
  EXPECT_EQ(to_hex(ours[1]), vec::natd_sha1_a);
}

TEST(NatT, VendorIdsByHash) {
  const std::pair<const char*, VendorId> known[] = {
      {vec::vid_rfc3947, VendorId::nat_t_rfc3947},
      {vec::vid_draft02, VendorId::nat_t_draft_02},
      {vec::vid_draft02n, VendorId::nat_t_draft_02_n},
      {vec::vid_draft03, VendorId::nat_t_draft_03},
      {vec::vid_frag, VendorId::fragmentation},
      {vec::vid_msnt5, VendorId::ms_nt5_isakmpoakley},
      {vec::vid_msneg, VendorId::ms_negotiation_discovery},
      {vec::vid_cga, VendorId::ms_ike_cga_v1},
      {vec::vid_mamie, VendorId::ms_mamie_exists},
  };
  for (const auto& [hash, id] : known) {
    EXPECT_EQ(classify_vendor_id(hex(hash)).id, id) << hash;
    EXPECT_EQ(to_hex(vendor_id_bytes(id)), hash);
  }
  // RFC 3706 §5.1.
  EXPECT_EQ(classify_vendor_id(hex("afcad71368a1f1c96b8696fc77570100")).id, VendorId::dpd);
  EXPECT_EQ(classify_vendor_id(hex("afcad71368a1f1c96b8696fc77570101")).id, VendorId::dpd);
  // strongSwan's fragmentation VID with flags.
  EXPECT_EQ(classify_vendor_id(hex(std::string(vec::vid_frag) + "c0000000")).id,
            VendorId::fragmentation);
  const auto win = classify_vendor_id(hex(std::string(vec::vid_msnt5) + "00000009"));
  EXPECT_EQ(win.id, VendorId::ms_nt5_isakmpoakley);
  EXPECT_EQ(win.windows_version, 9U);
  EXPECT_EQ(windows_name(win.windows_version), "Windows 8 or later");
  EXPECT_EQ(windows_name(7), "Windows 7");
  EXPECT_EQ(classify_vendor_id(hex(std::string(vec::vid_rfc3947) + "00")).id, VendorId::unknown);
  EXPECT_EQ(classify_vendor_id(hex(std::string(vec::vid_msnt5) + "00")).id, VendorId::unknown);
  EXPECT_EQ(classify_vendor_id(hex("4a131c81")).id, VendorId::unknown);
  EXPECT_EQ(classify_vendor_id({}).id, VendorId::unknown);
}

std::vector<ByteView> vids_of(const Message& m) {
  std::vector<ByteView> out;
  for (const auto& p : m.payloads) {
    if (p.type == static_cast<std::uint8_t>(PayloadType::vendor_id)) {
      out.push_back(p.body);
    }
  }
  return out;
}

TEST(NatT, ClientsCapabilitiesAndReply) {
  const auto win_msg = hex(vec::windows_mm1);
  Message m;
  ASSERT_EQ(parse_message(win_msg, m), ParseError::none);
  auto caps = scan_vendor_ids(vids_of(m));
  EXPECT_EQ(caps.nat_t, NatTVariant::rfc3947);
  EXPECT_TRUE(caps.microsoft);
  EXPECT_EQ(caps.windows_version, 9U);
  EXPECT_TRUE(caps.fragmentation);
  EXPECT_FALSE(caps.dpd);
  auto reply = responder_vendor_ids(caps);
  ASSERT_EQ(reply.size(), 2U);
  EXPECT_EQ(to_hex(reply[0]), vec::vid_rfc3947);
  EXPECT_EQ(to_hex(reply[1]), vec::vid_frag);
  EXPECT_EQ(natd_payload(caps.nat_t), PayloadType::nat_d);
  EXPECT_EQ(udp_transport_mode(caps.nat_t), EncapMode::udp_transport);

  const auto android_msg = hex(vec::android_mm1);
  ASSERT_EQ(parse_message(android_msg, m), ParseError::none);
  caps = scan_vendor_ids(vids_of(m));
  EXPECT_EQ(caps.nat_t, NatTVariant::rfc3947);
  EXPECT_TRUE(caps.dpd);
  EXPECT_FALSE(caps.microsoft);
  reply = responder_vendor_ids(caps);
  ASSERT_EQ(reply.size(), 2U);
  EXPECT_EQ(to_hex(reply[1]), "afcad71368a1f1c96b8696fc77570100");

  // A client that only knows the drafts gets the draft payload numbers.
  const auto d02 = hex(vec::vid_draft02n);
  const auto d03 = hex(vec::vid_draft03);
  const ByteView drafts[] = {d02, d03};
  caps = scan_vendor_ids(drafts);
  EXPECT_EQ(caps.nat_t, NatTVariant::draft_03);
  EXPECT_EQ(caps.nat_t_vid, VendorId::nat_t_draft_03);
  EXPECT_EQ(natd_payload(caps.nat_t), PayloadType::nat_d_draft);
  EXPECT_EQ(natoa_payload(caps.nat_t), PayloadType::nat_oa_draft);
  EXPECT_EQ(udp_transport_mode(caps.nat_t), EncapMode::udp_transport_draft);
  EXPECT_EQ(udp_tunnel_mode(caps.nat_t), EncapMode::udp_tunnel_draft);
  reply = responder_vendor_ids(caps);
  ASSERT_EQ(reply.size(), 1U);
  EXPECT_EQ(to_hex(reply[0]), vec::vid_draft03);
}

}  // namespace
}  // namespace l2tpgw::ike
