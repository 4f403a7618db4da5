// Where punted packets end until IKE and L2TP take them: counted per reason,
// logged (each at debug, a periodic summary at info) and optionally written
// to a pcap file.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "controlplane/log.h"
#include "controlplane/pcap_writer.h"
#include "dataplane/channel/messages.h"

namespace l2tpgw::cp {

class PuntSink {
 public:
  using Clock = std::chrono::steady_clock;

  PuntSink(Logger& log, const std::optional<std::string>& pcap_path,
           std::chrono::seconds summary_every = std::chrono::seconds(10));

  void on_punt(const channel::PuntMsg& m);
  // Logs how many packets came since the last summary, when any did and the
  // period is over.
  void maybe_summarize(Clock::time_point now);

  std::uint64_t count(channel::PuntReason r) const noexcept {
    return _counts[static_cast<std::uint8_t>(r)];
  }
  std::uint64_t total() const noexcept { return _total; }
  std::uint64_t malformed() const noexcept { return _malformed; }
  // Counts indexed by the reason's value.
  const std::array<std::uint64_t, 256>& counts() const noexcept { return _counts; }

 private:
  void log_packet(const channel::PuntMsg& m);

  Logger& _log;
  std::optional<PcapWriter> _pcap;
  std::chrono::seconds _summary_every;
  Clock::time_point _last_summary;
  std::array<std::uint64_t, 256> _counts{};
  std::array<std::uint64_t, 256> _at_last_summary{};
  std::uint64_t _total = 0;
  std::uint64_t _malformed = 0;
};

}  // namespace l2tpgw::cp
