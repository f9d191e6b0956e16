// /proc/self/fd scan with getsockname/getpeername; addresses are printed as cpp-httplib prints
// them (getnameinfo, NI_NUMERICHOST).
#include "server/connection_probe.h"

#include <netdb.h>
#include <sys/socket.h>

#include <cstdlib>
#include <filesystem>

namespace swaa::server {
namespace {

bool endpoint_matches(const sockaddr_storage& a, socklen_t len, const std::string& addr, int port) {
  char host[NI_MAXHOST], serv[NI_MAXSERV];
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&a), len, host, sizeof host, serv, sizeof serv,
                  NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    return false;
  }
  return std::atoi(serv) == port && addr == host;
}

}  // namespace

int find_connection_fd(const std::string& local_addr, int local_port, const std::string& remote_addr, int remote_port) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    char* end = nullptr;
    const std::string name = entry.path().filename().string();
    const long fd = std::strtol(name.c_str(), &end, 10);
    if (end == name.c_str() || *end != '\0') continue;
    sockaddr_storage local{}, peer{};
    socklen_t local_len = sizeof local, peer_len = sizeof peer;
    if (getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&local), &local_len) != 0) continue;
    if (!endpoint_matches(local, local_len, local_addr, local_port)) continue;
    if (getpeername(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) continue;
    if (endpoint_matches(peer, peer_len, remote_addr, remote_port)) return static_cast<int>(fd);
  }
  return -1;
}

bool peer_closed(int fd) {
  char c;
  return fd >= 0 && recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

}  // namespace swaa::server
