// When the control plane writes its state file (controlplane/state_file.h)
// and whether a file it finds at start belongs to the data plane it
// attached to. The file starts with one "cp_state" record naming the boot
// and the data-plane generation it was written under: the services' times
// are CLOCK_MONOTONIC instants, meaningful only on the same boot, and their
// SAs and sessions are in the data plane only if it has not restarted.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "controlplane/log.h"
#include "controlplane/state_file.h"

namespace l2tpgw::cp {

class StateKeeper {
 public:
  using Clock = std::chrono::steady_clock;
  using Fill = std::function<void(std::vector<state::Record>&)>;

  // An empty path keeps no state.
  StateKeeper(std::string path, Logger& log);

  // The records the previous process saved under this data-plane
  // generation (the header removed); empty, with one line saying why, when
  // there is none, it is unreadable, or it was written for another boot or
  // data plane. Never throws.
  std::vector<state::Record> load(std::uint64_t dp_generation);

  // Writes the file when `version` moved since the last write, at most
  // once a second, and at least every 30 s while attached.
  void maybe_save(Clock::time_point now, std::uint64_t dp_generation, std::uint64_t version,
                  const Fill& fill);
  // Writes it now (on exit). Errors are logged, never thrown.
  void save(std::uint64_t dp_generation, std::uint64_t version, const Fill& fill);

  const std::string& path() const noexcept { return _path; }

 private:
  std::string _path;
  Logger& _log;
  std::string _boot_id;
  std::uint64_t _saved_version = 0;
  bool _saved_once = false;
  bool _failure_logged = false;
  Clock::time_point _next_check{};
  Clock::time_point _refresh_at{};
};

}  // namespace l2tpgw::cp
