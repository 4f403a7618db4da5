#include "controlplane/pcap_writer.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace l2tpgw::cp {
namespace {

// The classic pcap format (microsecond timestamps), written in host byte
// order as readers expect from the magic number.
struct PcapGlobalHeader {
  std::uint32_t magic = 0xa1b2c3d4;
  std::uint16_t version_major = 2;
  std::uint16_t version_minor = 4;
  std::int32_t thiszone = 0;
  std::uint32_t sigfigs = 0;
  std::uint32_t snaplen = PcapWriter::snaplen;
  std::uint32_t network = PcapWriter::linktype_ipv4;
};
static_assert(sizeof(PcapGlobalHeader) == 24);

struct PcapRecordHeader {
  std::uint32_t ts_sec;
  std::uint32_t ts_usec;
  std::uint32_t incl_len;
  std::uint32_t orig_len;
};
static_assert(sizeof(PcapRecordHeader) == 16);

}  // namespace

PcapWriter::PcapWriter(const std::string& path) : _path(path), _file(std::fopen(path.c_str(), "wb")) {
  if (!_file) {
    throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
  }
  const PcapGlobalHeader h;
  if (std::fwrite(&h, sizeof h, 1, _file.get()) != 1 || std::fflush(_file.get()) != 0) {
    throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
  }
}

void PcapWriter::write(std::span<const std::uint8_t> packet, const timespec& when) {
  const auto len = static_cast<std::uint32_t>(packet.size());
  const PcapRecordHeader r{static_cast<std::uint32_t>(when.tv_sec),
                           static_cast<std::uint32_t>(when.tv_nsec / 1000), len, len};
  std::fwrite(&r, sizeof r, 1, _file.get());
  std::fwrite(packet.data(), 1, packet.size(), _file.get());
  std::fflush(_file.get());
}

}  // namespace l2tpgw::cp
