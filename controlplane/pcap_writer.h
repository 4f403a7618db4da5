// A pcap file of raw IPv4 packets (LINKTYPE_IPV4), flushed after every
// record so that it can be read while the control plane runs.
#pragma once

#include <time.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>

namespace l2tpgw::cp {

class PcapWriter {
 public:
  // tcpdump.org link-layer header types: 228 is a bare IPv4 packet.
  static constexpr std::uint32_t linktype_ipv4 = 228;
  static constexpr std::uint32_t snaplen = 65535;

  // Creates or truncates the file and writes the global header; throws
  // std::runtime_error with the reason.
  explicit PcapWriter(const std::string& path);

  void write(std::span<const std::uint8_t> packet, const timespec& when);

 private:
  struct Closer {
    void operator()(std::FILE* f) const noexcept { std::fclose(f); }
  };
  std::string _path;
  std::unique_ptr<std::FILE, Closer> _file;
};

}  // namespace l2tpgw::cp
