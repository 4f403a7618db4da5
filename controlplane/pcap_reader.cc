#include "controlplane/pcap_reader.h"

#include <cstring>

namespace l2tpgw::cp {
namespace {

constexpr std::size_t file_header_len = 24;
constexpr std::size_t record_header_len = 16;
constexpr std::size_t eth_header_len = 14;
constexpr std::uint32_t magic_us = 0xa1b2c3d4;
constexpr std::uint32_t magic_ns = 0xa1b23c4d;
constexpr std::uint16_t ethertype_ipv4 = 0x0800;

// The file's fields are in the byte order of the machine that wrote it; the
// magic number tells which.
struct Reader {
  std::span<const std::uint8_t> in;
  bool swapped = false;

  std::uint32_t u32(std::size_t off) const {
    std::uint32_t v = 0;
    std::memcpy(&v, in.data() + off, 4);
    return swapped ? __builtin_bswap32(v) : v;
  }
};

std::uint16_t be16(std::span<const std::uint8_t> b, std::size_t off) {
  return static_cast<std::uint16_t>((b[off] << 8) | b[off + 1]);
}

// The IPv4 packet inside an Ethernet frame, cut to its total length when
// that is consistent; an inconsistent header is left for the data plane to
// refuse (tx_malformed).
std::span<const std::uint8_t> ipv4_in_frame(std::span<const std::uint8_t> frame) {
  std::span<const std::uint8_t> ip = frame.subspan(eth_header_len);
  if (ip.size() >= 20 && (ip[0] >> 4) == 4) {
    const std::size_t total = be16(ip, 2);
    if (total >= 20 && total < ip.size()) {
      ip = ip.first(total);
    }
  }
  return ip;
}

}  // namespace

std::string_view pcap_error_name(PcapError e) {
  switch (e) {
    case PcapError::none: return "none";
    case PcapError::too_short: return "shorter than a pcap file header";
    case PcapError::bad_magic: return "not a pcap file (bad magic number)";
    case PcapError::bad_linktype: return "link type is not Ethernet (1), raw IP (101) or IPv4 (228)";
    case PcapError::truncated_record: return "record truncated by the end of the file";
  }
  return "unknown";
}

PcapPackets read_ipv4_pcap(std::span<const std::uint8_t> file) {
  PcapPackets out;
  if (file.size() < file_header_len) {
    out.error = PcapError::too_short;
    return out;
  }
  Reader r{file};
  const std::uint32_t magic = r.u32(0);
  if (magic != magic_us && magic != magic_ns) {
    r.swapped = true;
    const std::uint32_t m = r.u32(0);
    if (m != magic_us && m != magic_ns) {
      out.error = PcapError::bad_magic;
      return out;
    }
  }
  // The upper 16 bits of the link-type field carry FCS information
  // (pcap-savefile(5)); the type is the lower 16.
  out.linktype = r.u32(20) & 0xffff;
  if (out.linktype != linktype_ethernet && out.linktype != linktype_raw &&
      out.linktype != linktype_ipv4) {
    out.error = PcapError::bad_linktype;
    out.error_offset = 20;
    return out;
  }
  std::size_t off = file_header_len;
  while (off < file.size()) {
    if (file.size() - off < record_header_len) {
      out.error = PcapError::truncated_record;
      out.error_offset = off;
      return out;
    }
    const std::uint32_t incl = r.u32(off + 8);
    const std::uint32_t orig = r.u32(off + 12);
    if (incl > file.size() - off - record_header_len) {
      out.error = PcapError::truncated_record;
      out.error_offset = off;
      return out;
    }
    const std::span<const std::uint8_t> rec = file.subspan(off + record_header_len, incl);
    off += record_header_len + incl;
    ++out.records;
    if (incl < orig) {
      ++out.truncated;
      continue;
    }
    if (out.linktype == linktype_ethernet) {
      if (rec.size() < eth_header_len || be16(rec, 12) != ethertype_ipv4) {
        ++out.not_ipv4;
        continue;
      }
      out.packets.push_back(ipv4_in_frame(rec));
      continue;
    }
    // Raw IP may be IPv6 (LINKTYPE_RAW); anything else is the data plane's
    // to validate.
    if (rec.empty() || (rec[0] >> 4) == 6) {
      ++out.not_ipv4;
      continue;
    }
    out.packets.push_back(rec);
  }
  return out;
}

}  // namespace l2tpgw::cp
