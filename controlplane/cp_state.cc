#include "controlplane/cp_state.h"

#include <utility>

namespace l2tpgw::cp {
namespace {

constexpr std::uint64_t format_version = 1;
constexpr auto check_every = std::chrono::seconds(1);
constexpr auto refresh_every = std::chrono::seconds(30);

std::string read_boot_id() {
  try {
    std::string id = state::read_file("/proc/sys/kernel/random/boot_id").value_or("");
    while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) {
      id.pop_back();
    }
    return id;
  } catch (const state::StateError&) {
    return "";
  }
}

}  // namespace

StateKeeper::StateKeeper(std::string path, Logger& log)
    : _path(std::move(path)), _log(log), _boot_id(read_boot_id()) {}

std::vector<state::Record> StateKeeper::load(std::uint64_t dp_generation) {
  if (_path.empty()) {
    return {};
  }
  std::vector<state::Record> recs;
  try {
    const auto text = state::read_file(_path);
    if (!text) {
      _log.info("state", "no state file " + _path + ": nothing to restore");
      return {};
    }
    recs = state::decode(*text, _path);
    if (recs.empty() || recs.front().kind() != "cp_state") {
      _log.warning("state", _path + ": no cp_state header: not restored");
      return {};
    }
    const state::Record& h = recs.front();
    if (h.u64("version") != format_version) {
      _log.warning("state", _path + ": format version " + std::to_string(h.u64("version")) +
                                " is not " + std::to_string(format_version) + ": not restored");
      return {};
    }
    if (h.str("boot") != _boot_id) {
      _log.info("state", _path + " was written before the host restarted: not restored");
      return {};
    }
    if (h.u64("dp_generation") != dp_generation) {
      _log.info("state", _path + " was written for a data plane that has since restarted: not restored");
      return {};
    }
  } catch (const state::StateError& e) {
    _log.warning("state", std::string(e.what()) + ": not restored");
    return {};
  }
  recs.erase(recs.begin());
  return recs;
}

void StateKeeper::maybe_save(Clock::time_point now, std::uint64_t dp_generation,
                             std::uint64_t version, const Fill& fill) {
  if (_path.empty() || now < _next_check) {
    return;
  }
  _next_check = now + check_every;
  if (_saved_once && version == _saved_version && now < _refresh_at) {
    return;
  }
  _refresh_at = now + refresh_every;
  save(dp_generation, version, fill);
}

void StateKeeper::save(std::uint64_t dp_generation, std::uint64_t version, const Fill& fill) {
  if (_path.empty()) {
    return;
  }
  std::vector<state::Record> recs;
  recs.emplace_back("cp_state")
      .put("version", format_version)
      .put_str("boot", _boot_id)
      .put("dp_generation", dp_generation);
  fill(recs);
  try {
    state::write_file(_path, state::encode(recs));
    _saved_version = version;
    _saved_once = true;
    if (_failure_logged) {
      _log.info("state", "state file " + _path + " written again");
      _failure_logged = false;
    }
  } catch (const state::StateError& e) {
    if (!_failure_logged) {
      _log.error("state", std::string(e.what()) + ": sessions would not survive a restart");
      _failure_logged = true;
    }
  }
}

}  // namespace l2tpgw::cp
