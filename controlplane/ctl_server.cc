#include "controlplane/ctl_server.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace l2tpgw::cp {
namespace {

// A command line is short; anything longer is not a client of ours.
constexpr std::size_t max_line = 1024;

std::runtime_error sys_error(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

sockaddr_un socket_address(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof a.sun_path) {
    throw std::runtime_error("socket path too long: " + path);
  }
  std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
  return a;
}

// A client gets this long to send its line and to take the reply, so that a
// stuck client cannot hold the control plane's loop.
void set_timeouts(int fd) {
  timeval rcv{0, 200'000};
  timeval snd{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof rcv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof snd);
}

std::string read_line(int fd) {
  std::string line;
  char buf[256];
  while (line.size() < max_line && line.find('\n') == std::string::npos) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      break;
    }
    line.append(buf, static_cast<std::size_t>(n));
  }
  return line.substr(0, line.find('\n'));
}

void write_all(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) {
      return;
    }
    off += static_cast<std::size_t>(n);
  }
}

}  // namespace

CtlServer::CtlServer(std::string path, Handler handler)
    : _path(std::move(path)), _handler(std::move(handler)) {
  const sockaddr_un addr = socket_address(_path);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(_path).parent_path(), ec);
  _fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (_fd < 0) {
    throw sys_error("socket");
  }
  unlink(_path.c_str());
  // The umask makes the socket 0600 from its creation: no window in which
  // another user could connect.
  const mode_t old = umask(0177);
  const int rc = bind(_fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  umask(old);
  if (rc != 0 || listen(_fd, 16) != 0) {
    const auto err = sys_error("cannot listen on " + _path);
    close(_fd);
    throw err;
  }
}

CtlServer::~CtlServer() {
  close(_fd);
  unlink(_path.c_str());
}

unsigned CtlServer::serve_pending() {
  unsigned n = 0;
  for (;;) {
    const int client = accept4(_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) {
      return n;
    }
    serve(client);
    close(client);
    ++n;
  }
}

void CtlServer::serve(int client) {
  set_timeouts(client);
  const std::string line = read_line(client);
  write_all(client, _handler(line));
}

std::string ctl_request(const std::string& path, const std::string& line) {
  const sockaddr_un addr = socket_address(path);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw sys_error("socket");
  }
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    close(fd);
    const bool absent = err == ENOENT || err == ECONNREFUSED;
    throw std::runtime_error("cannot connect to " + path + ": " +
                             (absent ? "control plane not running" : std::strerror(err)));
  }
  write_all(fd, line + "\n");
  shutdown(fd, SHUT_WR);
  std::string reply;
  char buf[4096];
  for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;) {
    reply.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  return reply;
}

}  // namespace l2tpgw::cp
