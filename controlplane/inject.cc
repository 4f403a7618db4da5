#include "controlplane/inject.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <thread>
#include <vector>

#include "controlplane/names.h"
#include "controlplane/pcap_reader.h"
#include "dataplane/config/config.h"

namespace l2tpgw::cp {
namespace {

// How long to sleep while the tx ring is full: worker 0 drains it between
// its RX bursts, 8 messages at a time.
constexpr auto ring_full_wait = std::chrono::microseconds(100);

constexpr std::string_view inject_usage = "usage: inject --pcap FILE [--port NAME] [--sa SPI PEER]";

InjectParse parse_error(std::string text) { return {std::nullopt, std::move(text)}; }

std::optional<std::uint8_t> port_index(const channel::Segment& seg, const std::string& name) {
  const auto& h = seg.header();
  for (std::uint32_t i = 0; i < h.n_ports && i < channel::max_ports; ++i) {
    if (name == std::string_view(h.port_names[i], strnlen(h.port_names[i], sizeof h.port_names[i]))) {
      return static_cast<std::uint8_t>(i);
    }
  }
  return std::nullopt;
}

std::string port_name_at(const channel::Segment& seg, std::uint8_t i) {
  const auto& n = seg.header().port_names[i];
  return {n, strnlen(n, sizeof n)};
}

// Empty and an error text when the file cannot be read whole.
std::vector<std::uint8_t> read_file(const std::string& path, std::string& error) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) {
    error = "cannot open " + path + ": " + std::strerror(errno);
    return {};
  }
  const std::streamoff size = f.tellg();
  if (size < 0 || static_cast<std::uint64_t>(size) > max_inject_file) {
    error = path + ": larger than " + std::to_string(max_inject_file >> 20) + " MiB";
    return {};
  }
  std::vector<std::uint8_t> data(static_cast<std::size_t>(size));
  f.seekg(0);
  if (!f.read(reinterpret_cast<char*>(data.data()), size)) {
    error = "cannot read " + path;
    return {};
  }
  return data;
}

std::string skipped_text(const PcapPackets& p, unsigned too_big) {
  std::string s;
  auto add = [&s](unsigned n, const char* what) {
    if (n != 0) {
      s += (s.empty() ? "" : ", ") + std::to_string(n) + " " + what;
    }
  };
  add(p.not_ipv4, "not IPv4");
  add(p.truncated, "captured truncated");
  add(too_big, "larger than a tx message");
  return s.empty() ? "" : "skipped " + s + "\n";
}

}  // namespace

InjectParse parse_inject(std::span<const std::string> words) {
  InjectRequest r;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    const std::size_t left = words.size() - i - 1;
    if (w == "--pcap" && left >= 1 && r.pcap.empty()) {
      r.pcap = words[++i];
    } else if (w == "--port" && left >= 1 && !r.port) {
      r.port = words[++i];
    } else if (w == "--sa" && left >= 2 && !r.via_sa) {
      const auto spi = parse_spi(words[i + 1]);
      const auto peer = parse_ipv4(words[i + 2]);
      if (!spi) {
        return parse_error("bad SPI '" + words[i + 1] + "'");
      }
      if (!peer) {
        return parse_error("bad peer address '" + words[i + 2] + "'");
      }
      r.via_sa = SaRef{*spi, *peer};
      i += 2;
    } else {
      return parse_error(std::string(inject_usage));
    }
  }
  if (r.pcap.empty()) {
    return parse_error(std::string(inject_usage));
  }
  if (!r.pcap.starts_with('/')) {
    return parse_error("the pcap path must be absolute: the control plane reads it from its own directory");
  }
  return {std::move(r), {}};
}

CtlReply run_inject(DpChannel& dp, const InjectRequest& r, std::chrono::milliseconds stall,
                    Logger& log) {
  const channel::Segment& seg = dp.segment();
  std::uint8_t port = dp.tx_port();
  if (r.port) {
    const auto p = port_index(seg, *r.port);
    if (!p) {
      return {false, "no port named '" + *r.port + "'\n"};
    }
    port = *p;
  }
  const std::string pname = port_name_at(seg, port);
  if (r.via_sa && port != dp.tx_port()) {
    return {false, "--sa needs the outside port ('" + port_name_at(seg, dp.tx_port()) +
                       "'): outbound SAs protect what leaves it\n"};
  }
  std::string error;
  const std::vector<std::uint8_t> file = read_file(r.pcap, error);
  if (!error.empty()) {
    return {false, error + "\n"};
  }
  const PcapPackets pk = read_ipv4_pcap(file);
  if (pk.error != PcapError::none) {
    return {false, r.pcap + ": " + std::string(pcap_error_name(pk.error)) + " (offset " +
                       std::to_string(pk.error_offset) + "); nothing sent\n"};
  }
  unsigned queued = 0;
  unsigned too_big = 0;
  auto last_progress = std::chrono::steady_clock::now();
  for (const auto& pkt : pk.packets) {
    DpChannel::SendResult res;
    while ((res = dp.send_packet(pkt, r.via_sa, port)) == DpChannel::SendResult::ring_full) {
      if (std::chrono::steady_clock::now() - last_progress > stall) {
        break;
      }
      std::this_thread::sleep_for(ring_full_wait);
    }
    if (res == DpChannel::SendResult::ring_full) {
      break;
    }
    if (res == DpChannel::SendResult::too_big) {
      ++too_big;
      continue;
    }
    ++queued;
    last_progress = std::chrono::steady_clock::now();
  }
  const std::string via = r.via_sa ? " through " + sa_name(channel::Direction::out, r.via_sa->spi,
                                                          r.via_sa->peer_addr)
                                   : "";
  const std::string what = "queued " + std::to_string(queued) + " of " +
                           std::to_string(pk.packets.size()) + " packets from " + r.pcap +
                           " to port " + pname + via;
  const unsigned lost = static_cast<unsigned>(pk.packets.size()) - queued - too_big;
  if (lost != 0) {
    log.error("ctl", "inject: " + what + "; the tx ring stayed full");
    return {false, what + "; the tx ring stayed full for " + std::to_string(stall.count()) +
                       " ms (is the data plane's worker 0 running?)\n"};
  }
  log.info("ctl", "inject: " + what);
  return {true, what + "\n" + skipped_text(pk, too_big)};
}

}  // namespace l2tpgw::cp
