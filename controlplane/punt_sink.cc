#include "controlplane/punt_sink.h"

#include <time.h>

#include "controlplane/names.h"
#include "dataplane/config/config.h"

namespace l2tpgw::cp {

PuntSink::PuntSink(Logger& log, const std::optional<std::string>& pcap_path,
                   std::chrono::seconds summary_every)
    : _log(log), _summary_every(summary_every), _last_summary(Clock::now()) {
  if (pcap_path) {
    _pcap.emplace(*pcap_path);
  }
}

void PuntSink::on_punt(const channel::PuntMsg& m) {
  // The length comes from another process: never trust it past the buffer.
  if (m.len == 0 || m.len > channel::max_packet) {
    ++_malformed;
    _log.warning("punt", "punt message with length " + std::to_string(m.len) + " ignored");
    return;
  }
  ++_counts[static_cast<std::uint8_t>(m.reason)];
  ++_total;
  log_packet(m);
  if (_pcap) {
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    _pcap->write({m.data, m.len}, now);
  }
}

void PuntSink::log_packet(const channel::PuntMsg& m) {
  if (!_log.enabled(LogLevel::debug)) {
    return;
  }
  std::string text = punt_reason_name(m.reason) + " from " + format_ipv4(m.peer_addr);
  if (m.peer_port != 0) {
    text += ":" + std::to_string(m.peer_port);
  }
  text += " port " + std::to_string(m.port);
  text += m.sa_slot == channel::no_sa ? std::string(" no sa") : " sa spi " + spi_hex(m.sa_spi);
  text += " len " + std::to_string(m.len);
  _log.debug("punt", text);
}

void PuntSink::maybe_summarize(Clock::time_point now) {
  if (now - _last_summary < _summary_every) {
    return;
  }
  _last_summary = now;
  std::string text;
  std::uint64_t n = 0;
  for (unsigned r = 0; r < _counts.size(); ++r) {
    const std::uint64_t d = _counts[r] - _at_last_summary[r];
    if (d != 0) {
      text += " " + punt_reason_name(static_cast<channel::PuntReason>(r)) + "=" + std::to_string(d);
      n += d;
    }
  }
  _at_last_summary = _counts;
  if (n != 0) {
    _log.info("punt", std::to_string(n) + " packets in the last " +
                          std::to_string(_summary_every.count()) + " s:" + text);
  }
}

}  // namespace l2tpgw::cp
