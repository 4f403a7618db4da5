// l2tpgwctl [--socket PATH | --config FILE] COMMAND [ARGS] [--json]
// Sends one command to the control plane and prints its reply.
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

#include "controlplane/ctl_server.h"
#include "dataplane/config/config.h"

namespace {

constexpr const char* default_socket = "/run/l2tpgw/ctl.sock";
constexpr const char* usage =
    "usage: l2tpgwctl [--socket PATH | --config FILE] COMMAND [ARGS] [--json]\n"
    "commands: status, sa, sessions, ports, drops [--all], workers, punts, stats,\n"
    "          sa-del in|out SPI PEER, session-del TUNNEL SESSION,\n"
    "          inject --pcap FILE [--port NAME] [--sa SPI PEER], help\n";

struct Cli {
  std::string socket = default_socket;
  std::string command;
};

std::optional<Cli> parse_cli(int argc, char** argv) {
  Cli cli;
  int i = 1;
  if (i + 1 < argc && std::string(argv[i]) == "--socket") {
    cli.socket = argv[i + 1];
    i += 2;
  } else if (i + 1 < argc && std::string(argv[i]) == "--config") {
    cli.socket = l2tpgw::load_config(argv[i + 1]).controlplane.socket;
    i += 2;
  }
  for (; i < argc; ++i) {
    std::string word = argv[i];
    // The control plane reads the file from its own working directory.
    if (i > 1 && std::string_view(argv[i - 1]) == "--pcap") {
      word = std::filesystem::absolute(word).lexically_normal().string();
    }
    // The request is one line of words separated by blanks.
    if (word.empty() || word.find_first_of(" \t\n") != std::string::npos) {
      throw std::runtime_error("argument '" + word + "' is empty or contains blanks");
    }
    cli.command += (cli.command.empty() ? "" : " ") + word;
  }
  return cli.command.empty() ? std::nullopt : std::optional(cli);
}

// The reply's first line is "ok" or "error".
int print_reply(const std::string& reply) {
  const auto nl = reply.find('\n');
  const std::string status = reply.substr(0, nl);
  const std::string body = nl == std::string::npos ? "" : reply.substr(nl + 1);
  if (status == "ok") {
    std::cout << body;
    return 0;
  }
  std::cerr << "l2tpgwctl: " << (status == "error" ? body : "malformed reply from the control plane\n");
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const auto cli = parse_cli(argc, argv);
    if (!cli) {
      std::cerr << usage;
      return 1;
    }
    return print_reply(l2tpgw::cp::ctl_request(cli->socket, cli->command));
  } catch (const std::exception& e) {
    std::cerr << "l2tpgwctl: " << e.what() << "\n";
    return 1;
  }
}
