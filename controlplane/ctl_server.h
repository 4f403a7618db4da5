// The control socket: a UNIX stream socket on which each client sends one
// command line and reads the reply until the server closes. Served from the
// control plane's poll loop.
#pragma once

#include <functional>
#include <string>

namespace l2tpgw::cp {

class CtlServer {
 public:
  using Handler = std::function<std::string(const std::string& line)>;

  // Creates the socket's directory, replaces a stale socket and listens
  // (mode 0600); throws std::runtime_error with the reason.
  CtlServer(std::string path, Handler handler);
  ~CtlServer();
  CtlServer(const CtlServer&) = delete;
  CtlServer& operator=(const CtlServer&) = delete;

  int fd() const noexcept { return _fd; }
  // Accepts and answers every client waiting; returns how many.
  unsigned serve_pending();

 private:
  void serve(int client);

  std::string _path;
  Handler _handler;
  int _fd = -1;
};

// The client side, shared with l2tpgwctl: sends the line, returns the whole
// reply; throws std::runtime_error with the reason.
std::string ctl_request(const std::string& path, const std::string& line);

}  // namespace l2tpgw::cp
