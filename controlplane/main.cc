// l2tpgw-controlplane --config FILE [--punt-pcap FILE] [--foreground]
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstring>
#include <iostream>
#include <optional>
#include <string>

#include "controlplane/controlplane.h"

namespace {

using l2tpgw::cp::CpOptions;

constexpr const char* usage =
    "usage: l2tpgw-controlplane --config FILE [--punt-pcap FILE] [--foreground]\n"
    "  --config FILE     the gateway's configuration (the data plane's file)\n"
    "  --punt-pcap FILE  write every punted packet to FILE (pcap, raw IPv4)\n"
    "  --foreground      accepted for scripts; the process never daemonises\n";

struct Cli {
  std::string config;
  std::optional<std::string> punt_pcap;
};

std::optional<Cli> parse_cli(int argc, char** argv) {
  Cli cli;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--config" && has_value) {
      cli.config = argv[++i];
    } else if (a == "--punt-pcap" && has_value) {
      cli.punt_pcap = argv[++i];
    } else if (a != "--foreground") {
      return std::nullopt;
    }
  }
  return cli.config.empty() ? std::nullopt : std::optional(cli);
}

// SIGTERM and SIGINT arrive on a descriptor that the main loop polls: no
// handler, no global flag.
int stop_signal_fd() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return signalfd(-1, &set, SFD_CLOEXEC);
}

int run(const Cli& cli) {
  l2tpgw::cp::Logger log(std::cerr);
  try {
    CpOptions opts{l2tpgw::load_config(cli.config), cli.punt_pcap,
                   l2tpgw::cp::load_lns_settings(cli.config),
                   l2tpgw::cp::load_ike_settings(cli.config)};
    log.set_level(*l2tpgw::cp::parse_log_level(opts.config.controlplane.log_level));
    const int stop_fd = stop_signal_fd();
    if (stop_fd < 0) {
      log.error("main", std::string("signalfd: ") + std::strerror(errno));
      return 1;
    }
    l2tpgw::cp::ControlPlane cp(std::move(opts), log);
    cp.run(stop_fd);
    log.info("main", "stopping on a signal");
    close(stop_fd);
    return 0;
  } catch (const std::exception& e) {
    log.error("main", e.what());
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  const auto cli = parse_cli(argc, argv);
  if (!cli) {
    std::cerr << usage;
    return 2;
  }
  return run(*cli);
}
