#include "dataplane/wire/tcp_mss.h"

#include <array>
#include <cstddef>

#include "dataplane/wire/be.h"
#include "dataplane/wire/checksum.h"
#include "dataplane/wire/headers.h"

namespace l2tpgw::wire {
namespace {

constexpr std::uint8_t ipproto_tcp = 6;
constexpr std::uint16_t ipv4_frag_offset_mask = 0x1fff;  // RFC 791 §3.1

// RFC 9293 §3.1, the fixed part; options follow up to the data offset.
struct [[gnu::packed]] TcpHdr {
  Be16 src;
  Be16 dst;
  Be32 seq;
  Be32 ack;
  std::uint8_t data_off;  // high nibble: header length in 32-bit words
  std::uint8_t flags;
  Be16 window;
  Be16 csum;
  Be16 urgent;

  constexpr std::size_t header_bytes() const noexcept { return (data_off >> 4) * 4u; }
};
static_assert(sizeof(TcpHdr) == 20);

constexpr std::uint8_t tcp_flag_syn = 0x02;

// RFC 9293 §3.1: kinds 0 and 1 are one byte; every other option is kind,
// length (counting both), data. §3.2: MSS is kind 2, length 4.
constexpr std::uint8_t opt_end = 0;
constexpr std::uint8_t opt_nop = 1;
constexpr std::uint8_t opt_mss = 2;
constexpr std::size_t opt_mss_len = 4;

// The largest header (data offset 15) leaves 40 bytes of options, room for
// ten 4-byte MSS options at most.
constexpr std::size_t max_mss_options = (60 - sizeof(TcpHdr)) / opt_mss_len;

// The checksum after a 16-bit value at byte `offset` of the checksummed data
// changes. At an odd offset the value straddles two checksum words: its high
// byte is the low byte of one word, its low byte the high byte of the next,
// so it adds to the sum as its byte-swapped self (RFC 1071 §2(B), byte order
// independence) and one RFC 1624 update with swapped values covers both
// words.
constexpr std::uint16_t csum_update16_at(std::uint16_t hc, std::size_t offset, std::uint16_t old_v,
                                         std::uint16_t new_v) noexcept {
  if ((offset & 1) != 0) {
    old_v = byteswap(old_v);
    new_v = byteswap(new_v);
  }
  return csum_update16(hc, old_v, new_v);
}

// The TCP segment of either IP version. Both pseudo-headers (12 and 40
// bytes) are of even length, so an offset's parity in the segment is its
// parity in the checksummed data.
MssResult clamp_segment(std::span<std::uint8_t> tcp_bytes, std::uint16_t max_mss) noexcept {
  std::uint8_t* const seg = tcp_bytes.data();
  auto* tcp = reinterpret_cast<TcpHdr*>(seg);
  if ((tcp->flags & tcp_flag_syn) == 0) [[likely]] {
    return MssResult::not_syn;
  }
  const std::size_t hdr_len = tcp->header_bytes();
  if (hdr_len < sizeof(TcpHdr) || hdr_len > tcp_bytes.size()) {
    return MssResult::malformed;
  }

  // First pass: check every option and note where MSS values sit, so that a
  // malformed list is refused before any byte is written: RFC 9293 §3.1
  // leaves an illegal length (such as zero) to the receiving TCP, which then
  // sees the segment as it was sent. Every MSS option is noted: a duplicate
  // is odd, but a receiver may honour any of them.
  std::array<std::uint8_t, max_mss_options> mss_at{};
  std::size_t mss_count = 0;
  for (std::size_t i = sizeof(TcpHdr); i < hdr_len;) {
    const std::uint8_t kind = seg[i];
    if (kind == opt_end) {
      break;  // the rest is padding (RFC 9293 §3.1)
    }
    if (kind == opt_nop) {
      ++i;
      continue;
    }
    if (hdr_len - i < 2) {
      return MssResult::malformed;
    }
    const std::size_t len = seg[i + 1];
    if (len < 2 || len > hdr_len - i) {
      return MssResult::malformed;
    }
    if (kind == opt_mss) {
      if (len != opt_mss_len) {
        return MssResult::malformed;
      }
      mss_at[mss_count++] = static_cast<std::uint8_t>(i + 2);
    }
    i += len;
  }
  if (mss_count == 0) {
    return MssResult::no_option;
  }

  // Offsets count from the TCP header, and the pseudo-header before it is 12
  // bytes, so their parity is their parity in the checksummed data.
  std::uint16_t hc = tcp->csum.host();
  bool changed = false;
  for (std::size_t k = 0; k < mss_count; ++k) {
    std::uint8_t* const v = seg + mss_at[k];
    const auto mss = static_cast<std::uint16_t>(v[0] << 8 | v[1]);
    if (mss > max_mss) {
      hc = csum_update16_at(hc, mss_at[k], mss, max_mss);
      v[0] = static_cast<std::uint8_t>(max_mss >> 8);
      v[1] = static_cast<std::uint8_t>(max_mss & 0xff);
      changed = true;
    }
  }
  if (!changed) {
    return MssResult::unchanged;
  }
  tcp->csum = Be16::from_host(hc);
  return MssResult::clamped;
}

}  // namespace

MssResult clamp_tcp_mss(std::span<std::uint8_t> pkt, std::uint16_t max_mss) noexcept {
  if (pkt.size() < sizeof(Ipv4Hdr)) [[unlikely]] {
    return MssResult::malformed;
  }
  const auto* ip = reinterpret_cast<const Ipv4Hdr*>(pkt.data());
  // Only the fragment at offset 0 holds the TCP header; the others pass.
  if (ip->proto != ipproto_tcp || (ip->frag.host() & ipv4_frag_offset_mask) != 0) {
    return MssResult::not_syn;
  }
  const std::size_t ihl = ip->ihl_bytes();
  if (ihl < sizeof(Ipv4Hdr) || pkt.size() < ihl + sizeof(TcpHdr)) [[unlikely]] {
    return MssResult::malformed;
  }
  return clamp_segment(pkt.subspan(ihl), max_mss);
}

// IPv6 (RFC 8200): TCP right after the fixed header. A SYN behind extension
// headers passes unclamped: hosts do not put any there.
MssResult clamp_tcp_mss6(std::span<std::uint8_t> pkt, std::uint16_t max_mss) noexcept {
  constexpr std::size_t ip6_hdr = 40;
  constexpr std::size_t next_header_at = 6;
  if (pkt.size() < ip6_hdr) [[unlikely]] {
    return MssResult::malformed;
  }
  if (pkt[next_header_at] != ipproto_tcp) {
    return MssResult::not_syn;
  }
  if (pkt.size() < ip6_hdr + sizeof(TcpHdr)) [[unlikely]] {
    return MssResult::malformed;
  }
  return clamp_segment(pkt.subspan(ip6_hdr), max_mss);
}

}  // namespace l2tpgw::wire
