// The control-plane process without its command line: attaches to the data
// plane's shared segment, keeps the static SAs and sessions installed, drains
// events and punts, watches the data plane and serves the control socket.
// One thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "controlplane/cp_state.h"
#include "controlplane/ctl_server.h"
#include "controlplane/dp_channel.h"
#include "controlplane/ike_service.h"
#include "controlplane/ike_settings.h"
#include "controlplane/lns_service.h"
#include "controlplane/lns_settings.h"
#include "controlplane/log.h"
#include "controlplane/punt_sink.h"
#include "controlplane/session_events.h"
#include "dataplane/config/config.h"

namespace l2tpgw::cp {

struct CpOptions {
  Config config;
  std::optional<std::string> punt_pcap;
  // The LNS (l2tp and ppp sections); without them L2TP punts are only counted.
  std::optional<LnsSettings> lns;
  // IKE (the ike section); without it IKE punts are only counted.
  std::optional<IkeSettings> ike;
  std::chrono::milliseconds ack_timeout{2000};
  std::chrono::milliseconds attach_retry{100};
  // The data plane's main thread beats every ~100 ms: 20 missed beats.
  std::chrono::milliseconds heartbeat_timeout{2000};
  // How often the segment name is re-opened to notice a restarted data plane.
  std::chrono::milliseconds generation_check{1000};
};

class ControlPlane {
 public:
  using Clock = std::chrono::steady_clock;

  // Throws std::runtime_error when the socket or the pcap file cannot be
  // created.
  ControlPlane(CpOptions opts, Logger& log);

  // One pass of the main loop; true when it found work.
  bool step();
  // Runs until stop_fd (a signalfd) becomes readable.
  void run(int stop_fd);

  bool attached() const noexcept { return _dp.has_value(); }
  bool synced() const noexcept { return _synced; }
  const PuntSink& punts() const noexcept { return _punts; }
  const SessionEvents& session_events() const noexcept { return _session_events; }
  const LnsService* lns() const noexcept { return _lns.get(); }
  const IkeService* ike() const noexcept { return _ike.get(); }

  bool send_packet(std::span<const std::uint8_t> ipv4_packet, std::optional<SaRef> via_sa);
  std::string handle_command(const std::string& line);

 private:
  void try_attach(Clock::time_point now);
  void adopt(channel::Segment seg);
  struct Restored {
    std::vector<channel::SaParams> sas;
    std::vector<channel::SessionParams> sessions;
  };
  Restored restore_state(std::uint64_t dp_generation, Clock::time_point now);
  std::uint64_t state_version() const noexcept;
  void fill_state(std::vector<state::Record>& out) const;
  void on_event(const channel::CtrlMsg& m);
  void on_punt(const channel::PuntMsg& m, Clock::time_point now);
  std::unique_ptr<LnsService> make_lns();
  std::unique_ptr<IkeService> make_ike();
  void watch(Clock::time_point now);
  void check_heartbeat();
  void check_generation();
  std::optional<channel::Ack> delete_sa(channel::Direction d, std::uint32_t spi,
                                        std::uint32_t peer);
  std::optional<channel::Ack> delete_session(std::uint16_t tunnel, std::uint16_t session);

  CpOptions _opts;
  Logger& _log;
  std::uint8_t _tx_port = 0;
  PuntSink _punts;
  SessionEvents _session_events;
  std::optional<DpChannel> _dp;
  bool _synced = false;
  std::unique_ptr<CtlServer> _ctl;
  std::unique_ptr<LnsService> _lns;
  std::unique_ptr<IkeService> _ike;
  StateKeeper _state;
  bool _restore_tried = false;  // only the first data plane attached can hold our sessions
  Clock::time_point _next_ike_poll{};
  Clock::time_point _next_lns_poll{};
  Clock::time_point _next_attach{};
  Clock::time_point _next_generation_check{};
  bool _waiting_logged = false;
  bool _heartbeat_stale = false;
  bool _segment_gone = false;
};

}  // namespace l2tpgw::cp
